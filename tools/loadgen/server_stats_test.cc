// Tests for the /proc parsers behind --server_pid, and a live read of this
// test's own process.
#include "tools/loadgen/server_stats.h"

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace chatd::loadgen
