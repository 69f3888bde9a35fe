// Tests for the /proc parsers behind --server_pid(s), a live read of this
// test's own process, and the sums over several processes.
#include "tools/loadgen/server_stats.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace chatd::loadgen {
namespace {

TEST(ServerStatsTest, ParsesCpuAfterACommandNameWithSpacesAndParens) {
  const std::string stat =
      "1234 (my (odd) server) S 1 1234 1234 0 -1 4194560 100 0 0 0 "
      "250 50 0 0 20 0 3 0 100 1000000 200 18446744073709551615";
  EXPECT_DOUBLE_EQ(ParseCpuSeconds(stat, 100), 3.0);
  EXPECT_LT(ParseCpuSeconds("garbage", 100), 0);
}

TEST(ServerStatsTest, ParsesMemory) {
  const ProcessMemory m = ParseProcessMemory(
      "Name:\tchatd\nVmHWM:\t   12380 kB\nVmRSS:\t    9456 kB\nThreads:\t3\n");
  EXPECT_EQ(m.rss_kb, 9456);
  EXPECT_EQ(m.hwm_kb, 12380);
}

TEST(ServerStatsTest, ReadsALiveProcess) {
  ServerStats stats(getpid());
  const ProcessMemory m = stats.SampleMemory();
  EXPECT_GT(m.rss_kb, 0);
  EXPECT_GE(m.hwm_kb, m.rss_kb);
  EXPECT_GE(stats.CpuSeconds(), 0);
  EXPECT_EQ(stats.peak_rss_kb(), m.rss_kb);
}

TEST(ServerStatsSetTest, NoPidsIsDisabled) {
  EXPECT_FALSE(ServerStatsSet({}).enabled());
  EXPECT_FALSE(ServerStatsSet({0}).enabled());
}

TEST(ServerStatsSetTest, SumsOverProcesses) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  ServerStatsSet stats({getpid(), child});
  ASSERT_TRUE(stats.enabled());
  stats.StartCpu();
  // Burn some CPU here so this process's interval is not empty.
  volatile uint64_t sink = 0;
  for (uint64_t i = 0; i < 50'000'000; ++i) sink = sink + i;
  stats.StopCpu();
  stats.SampleMemory();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);

  const std::vector<ServerProcessStats> processes = stats.Processes();
  ASSERT_EQ(processes.size(), 2u);
  EXPECT_EQ(processes[0].pid, getpid());
  EXPECT_EQ(processes[1].pid, child);
  for (const ServerProcessStats& p : processes) {
    EXPECT_GT(p.rss_kb, 0) << p.pid;
    EXPECT_GE(p.hwm_kb, p.rss_kb) << p.pid;
    EXPECT_EQ(p.peak_rss_kb, p.rss_kb) << p.pid;  // One sample.
    EXPECT_GE(p.cpu_seconds, 0) << p.pid;
  }
  const ServerProcessStats total = stats.Total();
  EXPECT_EQ(total.rss_kb, processes[0].rss_kb + processes[1].rss_kb);
  EXPECT_EQ(total.hwm_kb, processes[0].hwm_kb + processes[1].hwm_kb);
  EXPECT_EQ(total.peak_rss_kb, total.rss_kb);
  EXPECT_GT(processes[0].cpu_seconds, 0);
  EXPECT_DOUBLE_EQ(total.cpu_seconds,
                   processes[0].cpu_seconds + processes[1].cpu_seconds);
}

}  // namespace
}  // namespace chatd::loadgen
