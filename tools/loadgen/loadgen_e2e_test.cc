// End-to-end tests: the real loadgen binary against FakeChatServer, which
// delivers correctly or drops, duplicates or reorders exactly one message.
// loadgen must count exactly that one fault in its JSON and exit non-zero,
// and exit 0 with nothing lost on a correct server. With --servers, several
// fake servers (which do not share groups) check where each connection went
// and that loadgen's accounting spans all of them. No timing assertions.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gflags/gflags.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "net/tls_context.h"
#include "tools/loadgen/fake_chat_server.h"

DEFINE_string(loadgen_path, "tools/loadgen",
              "The loadgen binary (runfiles-relative, set by the BUILD rule).");

extern char** environ;

namespace chatd::loadgen {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string json;  // stdout
};

// Runs loadgen with `args`, returns its exit code and stdout. Its stderr
// (progress, warnings, the table) goes to the test log.
Outcome RunLoadgen(const std::vector<std::string>& args) {
  std::vector<std::string> argv_strings = {FLAGS_loadgen_path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out[2];
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  Outcome outcome;
  if (spawned != 0) {
    ADD_FAILURE() << "cannot run " << FLAGS_loadgen_path << ": "
                  << strerror(spawned);
    close(out[0]);
    return outcome;
  }
  char buffer[4096];
  ssize_t n;
  while ((n = read(out[0], buffer, sizeof(buffer))) > 0) {
    outcome.json.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

// The integer value of "key" in loadgen's flat JSON, or -1.
int64_t JsonInt(const std::string& json, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  const size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  const size_t start = at + needle.size();
  const size_t end = json.find_first_of(",}", start);
  int64_t value = -1;
  if (!absl::SimpleAtoi(json.substr(start, end - start), &value)) return -1;
  return value;
}

// The floating-point value of "key" in loadgen's flat JSON, or -1.
double JsonDouble(const std::string& json, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  const size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  const size_t start = at + needle.size();
  const size_t end = json.find_first_of(",}", start);
  double value = -1;
  if (!absl::SimpleAtod(json.substr(start, end - start), &value)) return -1;
  return value;
}

// The {"pid":<pid>,...} object of "server_processes", or "".
std::string ServerProcessJson(const std::string& json, int pid) {
  const size_t at = json.find(absl::StrCat("{\"pid\":", pid, ","));
  if (at == std::string::npos) return "";
  return json.substr(at, json.find('}', at) + 1 - at);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

std::vector<std::string> SmallWorkload(uint16_t port) {
  // 4 members of one group, each sending 20: 80 messages, 240 deliveries.
  return {absl::StrCat("--port=", port),
          "--connections=4",
          "--groups=1",
          "--messages=20",
          "--window=4",
          "--threads=2",
          "--json",
          "--progress=false",
          "--settle_quiet=0.05",
          "--connect_timeout=5",
          "--drain_timeout=2"};
}

TEST(LoadgenEndToEndTest, CorrectServerPasses) {
  FakeChatServer server(FakeChatServer::Fault::kNone);
  const Outcome outcome = RunLoadgen(SmallWorkload(server.port()));
  EXPECT_EQ(outcome.exit_code, 0) << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "joined"), 4);
  EXPECT_EQ(JsonInt(outcome.json, "sent"), 80);
  EXPECT_EQ(JsonInt(outcome.json, "expected"), 240);
  EXPECT_EQ(JsonInt(outcome.json, "delivered"), 240);
  EXPECT_EQ(JsonInt(outcome.json, "lost"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "duplicated"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "reordered"), 0);
}

TEST(LoadgenEndToEndTest, CorrectServerPassesAtAPacedRate) {
  FakeChatServer server(FakeChatServer::Fault::kNone);
  std::vector<std::string> args = SmallWorkload(server.port());
  args.push_back("--rate=400");
  args.push_back("--payload_bytes=100");
  const Outcome outcome = RunLoadgen(args);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "sent"), 80);
  EXPECT_EQ(JsonInt(outcome.json, "delivered"), 240);
  EXPECT_EQ(JsonInt(outcome.json, "lost"), 0);
}

TEST(LoadgenEndToEndTest, DroppedMessageIsLost) {
  FakeChatServer server(FakeChatServer::Fault::kDrop);
  const Outcome outcome = RunLoadgen(SmallWorkload(server.port()));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "sent"), 80);
  EXPECT_EQ(JsonInt(outcome.json, "expected"), 240);
  EXPECT_EQ(JsonInt(outcome.json, "delivered"), 239);
  EXPECT_EQ(JsonInt(outcome.json, "lost"), 1);
  EXPECT_EQ(JsonInt(outcome.json, "duplicated"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "reordered"), 0);
}

TEST(LoadgenEndToEndTest, DuplicatedMessageIsCounted) {
  FakeChatServer server(FakeChatServer::Fault::kDuplicate);
  const Outcome outcome = RunLoadgen(SmallWorkload(server.port()));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "delivered"), 240);
  EXPECT_EQ(JsonInt(outcome.json, "lost"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "duplicated"), 1);
  EXPECT_EQ(JsonInt(outcome.json, "reordered"), 0);
}

TEST(LoadgenEndToEndTest, ReorderedMessageIsCounted) {
  FakeChatServer server(FakeChatServer::Fault::kReorder);
  const Outcome outcome = RunLoadgen(SmallWorkload(server.port()));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "delivered"), 240);
  EXPECT_EQ(JsonInt(outcome.json, "lost"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "duplicated"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "reordered"), 1);
}

// A TLS context for FakeChatServer from tools/dev-cert.sh's certificate
// (for localhost and 127.0.0.1); `*ca` is the file that trusts it.
std::shared_ptr<const TlsContext> DevCertContext(std::string* ca) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/loadgen_e2e_cert");
  const std::string command =
      absl::StrCat("bash tools/dev-cert.sh ", dir, " 2>/dev/null");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  TlsContext::Options options;
  options.cert_file = dir + "/server.pem";
  options.key_file = dir + "/server.key";
  absl::StatusOr<std::shared_ptr<const TlsContext>> context =
      TlsContext::Load(options);
  EXPECT_TRUE(context.ok()) << context.status();
  *ca = dir + "/ca.pem";
  return context.ok() ? *context : nullptr;
}

TEST(LoadgenEndToEndTest, CorrectServerPassesOverTls) {
  std::string ca;
  std::shared_ptr<const TlsContext> context = DevCertContext(&ca);
  ASSERT_NE(context, nullptr);
  FakeChatServer server(FakeChatServer::Fault::kNone, context);
  std::vector<std::string> args = SmallWorkload(server.port());
  args.push_back("--tls");
  args.push_back("--tls_ca=" + ca);
  // Bigger than a TLS record, so messages span records.
  args.push_back("--payload_bytes=20000");
  const Outcome outcome = RunLoadgen(args);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.json;
  EXPECT_NE(outcome.json.find("\"tls\":true"), std::string::npos)
      << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "joined"), 4);
  EXPECT_EQ(JsonInt(outcome.json, "delivered"), 240);
  EXPECT_EQ(JsonInt(outcome.json, "lost"), 0);
}

TEST(LoadgenEndToEndTest, UntrustedCertificateMeansNoneJoined) {
  std::string ca;
  std::shared_ptr<const TlsContext> context = DevCertContext(&ca);
  ASSERT_NE(context, nullptr);
  FakeChatServer server(FakeChatServer::Fault::kNone, context);
  std::vector<std::string> args = SmallWorkload(server.port());
  // The system's CAs do not know the development CA.
  args.push_back("--tls");
  const Outcome outcome = RunLoadgen(args);
  EXPECT_EQ(outcome.exit_code, 1) << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "joined"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "failed"), 4);
}

// The --servers value for `servers`.
std::string ServersFlag(
    const std::vector<std::unique_ptr<FakeChatServer>>& servers) {
  std::vector<std::string> entries;
  for (const auto& server : servers) {
    entries.push_back(absl::StrCat("127.0.0.1:", server->port()));
  }
  return absl::StrCat("--servers=", absl::StrJoin(entries, ","));
}

std::vector<std::unique_ptr<FakeChatServer>> FakeServers(int n) {
  std::vector<std::unique_ptr<FakeChatServer>> servers;
  for (int i = 0; i < n; ++i) {
    servers.push_back(
        std::make_unique<FakeChatServer>(FakeChatServer::Fault::kNone));
  }
  return servers;
}

// Connection i must go to server i mod 3. With as many groups as servers,
// group g (connections g, g+3, g+6) is then wholly on server g, so fake
// servers that share nothing still deliver everything; any other spread
// splits a group and loses deliveries, and the names each server saw
// join say exactly where every connection went.
TEST(LoadgenEndToEndTest, ServersGetConnectionsRoundRobin) {
  const std::vector<std::unique_ptr<FakeChatServer>> servers = FakeServers(3);
  std::vector<std::string> args = SmallWorkload(servers[0]->port());
  args.erase(args.begin());  // No --port: --servers replaces it.
  args.push_back(ServersFlag(servers));
  args.push_back("--connections=9");
  args.push_back("--groups=3");
  // Closed-loop: senders on one reactor thread are paced by receivers on
  // the other, so this also runs the cross-thread wakeups (Waker) under
  // the sanitizers. Three servers and nine clients on two cores: a
  // two-second pause is load, not a stall.
  args.push_back("--drain_timeout=10");
  const Outcome outcome = RunLoadgen(args);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.json;
  // 9 senders of 20; each message has 2 other members to reach.
  EXPECT_EQ(JsonInt(outcome.json, "joined"), 9);
  EXPECT_EQ(JsonInt(outcome.json, "sent"), 180);
  EXPECT_EQ(JsonInt(outcome.json, "expected"), 360);
  EXPECT_EQ(JsonInt(outcome.json, "delivered"), 360);
  EXPECT_EQ(JsonInt(outcome.json, "lost"), 0);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(servers[k]->accepted(), 3) << "server " << k;
    std::vector<std::string> names = servers[k]->joined_names();
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{absl::StrCat("c", k),
                                               absl::StrCat("c", k + 3),
                                               absl::StrCat("c", k + 6)}))
        << "server " << k;
    EXPECT_NE(outcome.json.find(
                  absl::StrCat("\"127.0.0.1:", servers[k]->port(), "\"")),
              std::string::npos)
        << outcome.json;
  }
}

// One group over two servers that do not relay to each other, as a
// cluster whose backplane is down: each member hears only the members on
// its own server. The ledger spans all servers, so it counts the rest as
// lost. Open loop (--rate), because a closed-loop sender waits for a
// member on the other server.
TEST(LoadgenEndToEndTest, GroupSplitOverUnlinkedServersIsLost) {
  const std::vector<std::unique_ptr<FakeChatServer>> servers = FakeServers(2);
  std::vector<std::string> args = SmallWorkload(servers[0]->port());
  args.erase(args.begin());
  args.push_back(ServersFlag(servers));
  args.push_back("--rate=400");
  // The servers' online counts promise announcements that never come.
  args.push_back("--settle_timeout=0.5");
  const Outcome outcome = RunLoadgen(args);
  EXPECT_EQ(outcome.exit_code, 1) << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "joined"), 4);
  EXPECT_EQ(JsonInt(outcome.json, "sent"), 80);
  EXPECT_EQ(JsonInt(outcome.json, "expected"), 240);
  // c0 and c2 hear each other on server 0, c1 and c3 on server 1.
  EXPECT_EQ(JsonInt(outcome.json, "delivered"), 80);
  EXPECT_EQ(JsonInt(outcome.json, "lost"), 160);
  EXPECT_EQ(JsonInt(outcome.json, "duplicated"), 0);
  EXPECT_EQ(servers[0]->accepted(), 2);
  EXPECT_EQ(servers[1]->accepted(), 2);
}

TEST(LoadgenEndToEndTest, BadServerListIsAFlagError) {
  for (const char* flag :
       {"--servers=127.0.0.1:7000,", "--servers=127.0.0.1:7000,nohost:1",
        "--servers=127.0.0.1:0", "--servers=127.0.0.1"}) {
    std::vector<std::string> args = SmallWorkload(7000);
    args.push_back(flag);
    EXPECT_EQ(RunLoadgen(args).exit_code, 2) << flag;
  }
}

TEST(LoadgenEndToEndTest, BadServerPidsIsAFlagError) {
  for (std::vector<std::string> flags : std::vector<std::vector<std::string>>{
           {"--server_pids=1,1"},
           {"--server_pids=1,x"},
           {"--server_pids=0"},
           {"--server_pid=1", "--server_pids=1,2"}}) {
    std::vector<std::string> args = SmallWorkload(7000);
    args.insert(args.end(), flags.begin(), flags.end());
    EXPECT_EQ(RunLoadgen(args).exit_code, 2) << absl::StrJoin(flags, " ");
  }
}

// --server_pids sums CPU and memory over the processes (here this test,
// where the fake server runs, and an idle child) and lists each one.
TEST(LoadgenEndToEndTest, ServerPidsAreSummed) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  FakeChatServer server(FakeChatServer::Fault::kNone);
  std::vector<std::string> args = SmallWorkload(server.port());
  args.push_back(absl::StrCat("--server_pids=", getpid(), ",", child));
  const Outcome outcome = RunLoadgen(args);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.json;
  EXPECT_EQ(Count(outcome.json, "{\"pid\":"), 2u) << outcome.json;
  const std::string self = ServerProcessJson(outcome.json, getpid());
  const std::string other = ServerProcessJson(outcome.json, child);
  ASSERT_FALSE(self.empty()) << outcome.json;
  ASSERT_FALSE(other.empty()) << outcome.json;
  // The end figures come from one sample each, so they add up exactly.
  EXPECT_GT(JsonInt(self, "rss_kb"), 0);
  EXPECT_GT(JsonInt(other, "rss_kb"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "server_rss_kb"),
            JsonInt(self, "rss_kb") + JsonInt(other, "rss_kb"));
  EXPECT_EQ(JsonInt(outcome.json, "server_hwm_kb"),
            JsonInt(self, "hwm_kb") + JsonInt(other, "hwm_kb"));
  EXPECT_GE(JsonInt(outcome.json, "server_peak_rss_kb"),
            JsonInt(self, "peak_rss_kb"));
  // Printed to a millisecond each.
  EXPECT_NEAR(
      JsonDouble(outcome.json, "server_cpu_seconds"),
      JsonDouble(self, "cpu_seconds") + JsonDouble(other, "cpu_seconds"),
      0.0021);
}

// --server_pid alone is a list of one: the sums are that process's figures.
TEST(LoadgenEndToEndTest, ServerPidIsAListOfOne) {
  FakeChatServer server(FakeChatServer::Fault::kNone);
  std::vector<std::string> args = SmallWorkload(server.port());
  args.push_back(absl::StrCat("--server_pid=", getpid()));
  const Outcome outcome = RunLoadgen(args);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.json;
  EXPECT_EQ(Count(outcome.json, "{\"pid\":"), 1u) << outcome.json;
  const std::string self = ServerProcessJson(outcome.json, getpid());
  ASSERT_FALSE(self.empty()) << outcome.json;
  EXPECT_GT(JsonInt(outcome.json, "server_rss_kb"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "server_rss_kb"), JsonInt(self, "rss_kb"));
  EXPECT_EQ(JsonInt(outcome.json, "server_peak_rss_kb"),
            JsonInt(self, "peak_rss_kb"));
  EXPECT_EQ(JsonDouble(outcome.json, "server_cpu_seconds"),
            JsonDouble(self, "cpu_seconds"));
}

TEST(LoadgenEndToEndTest, NoServerMeansNotAllJoined) {
  // A port that is bound but not listening refuses connections, and stays
  // ours for the whole test.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const Outcome outcome = RunLoadgen(SmallWorkload(ntohs(addr.sin_port)));
  close(fd);
  EXPECT_EQ(outcome.exit_code, 1) << outcome.json;
  EXPECT_EQ(JsonInt(outcome.json, "joined"), 0);
  EXPECT_EQ(JsonInt(outcome.json, "failed"), 4);
}

}  // namespace
}  // namespace chatd::loadgen

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return RUN_ALL_TESTS();
}
