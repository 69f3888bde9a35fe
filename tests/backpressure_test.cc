// Back-pressure between workers, with the server in-process so a test can
// hold one worker back through Worker::Options::before_pass_for_testing.
// Clients are real loopback sockets; the acceptor hands connections to the
// workers in turn, so the n-th connection lands on worker n % 2.
//
// The held worker's mailbox must stop growing at the high-water mark plus
// at most one read's worth of lines, while the other worker goes on writing
// to its own members; once released, every message arrives exactly once and
// in order.

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/chat_server.h"
#include "server/worker.h"
#include "tests/chat_client.h"
#include "tests/line_recorder.h"
#include "tests/status_macros.h"

namespace chatd_test {
namespace {

using ::chatd::ChatServer;
using ::chatd::Worker;

// Holds one worker at the start of its passes while closed.
class WorkerGate {
 public:
  explicit WorkerGate(int worker) : worker_(worker) {}

  void BeforePass(int worker) {
    if (worker != worker_) return;
    std::unique_lock<std::mutex> lock(mu_);
    while (closed_) {
      blocked_ = true;
      changed_.notify_all();
      changed_.wait(lock);
    }
    blocked_ = false;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  // True once the worker sits in the gate.
  bool WaitBlocked(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                             [this] { return blocked_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = false;
    changed_.notify_all();
  }

 private:
  const int worker_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool closed_ = false;   // Guarded by mu_.
  bool blocked_ = false;  // Guarded by mu_.
};

ChatServer::Options Options(size_t high_water) {
  ChatServer::Options options;
  options.port = 0;
  options.threads = 2;
  options.max_connections = 1000;
  options.worker.mailbox_high_water = high_water;
  options.worker.mailbox_low_water = high_water / 2;
  options.worker.session.max_msgs_per_sec = 0;
  options.worker.max_output_bytes = 0;
  options.worker.join_timeout = absl::ZeroDuration();
  return options;
}

// "<sender>: m<seq, 8 digits> <padding>": every line is kLineBytes long,
// newline included, so the lines in one read are known.
constexpr size_t kLineBytes = 32;

std::string Line(int seq) {
  std::string line = absl::StrFormat("m%08d ", seq);
  line.resize(kLineBytes - 1, 'x');
  return line + "\n";
}

std::string Lines(int count) {
  std::string out;
  out.reserve(count * kLineBytes);
  for (int i = 0; i < count; ++i) out += Line(i);
  return out;
}

// Checks that `lines` hold exactly `sender`'s m0..m(count-1), in order,
// ignoring other senders' lines and announcements.
void ExpectAllInOrder(const std::vector<std::string>& lines,
                      const std::string& sender, int count) {
  const std::string prefix = sender + ": m";
  int next = 0;
  for (const std::string& line : lines) {
    if (!absl::StartsWith(line, prefix)) continue;
    int seq = -1;
    ASSERT_TRUE(absl::SimpleAtoi(line.substr(prefix.size(), 8), &seq)) << line;
    ASSERT_EQ(seq, next) << "from " << sender;
    ++next;
  }
  EXPECT_EQ(next, count) << "from " << sender;
}

// Lines a receiver expects: one per line its group's sender sends.
bool CountFrom(const LineRecorder& recorder, const std::string& sender,
               int want) {
  int got = 0;
  for (const std::string& line : recorder.Lines()) {
    if (absl::StartsWith(line, sender + ": m")) ++got;
  }
  return got >= want;
}

struct Member {
  std::string name;
  int worker;
  ChatClient client;
  std::unique_ptr<LineRecorder> recorder;
};

TEST(BackPressureTest, HeldWorkersMailboxStopsAtTheMarkAndNothingIsLost) {
  constexpr size_t kHighWater = 1000;
  constexpr int kGroups = 4;
  constexpr int kLinesPerSender = 5000;
  // A read takes up to this many lines; the bound the design promises.
  constexpr size_t kLinesPerRead = Worker::kReadBufferSize / kLineBytes + 1;

  WorkerGate gate(/*worker=*/1);
  ChatServer::Options options = Options(kHighWater);
  options.worker.before_pass_for_testing = [&gate](int w) {
    gate.BeforePass(w);
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChatServer> server,
                       ChatServer::Create(options));
  server->Start();

  // Per group, in connection order: the sender (worker 0), a receiver on
  // worker 1, a receiver on worker 0, another on worker 1.
  std::vector<std::unique_ptr<Member>> members;
  std::vector<Member*> senders;
  for (int g = 0; g < kGroups; ++g) {
    const std::string group = absl::StrCat("g", g);
    for (int k = 0; k < 4; ++k) {
      auto m = std::make_unique<Member>();
      m->name = k == 0 ? absl::StrCat("s", g) : absl::StrCat("r", g, "_", k);
      m->worker = static_cast<int>(members.size() % 2);
      ASSERT_OK_AND_ASSIGN(
          m->client, ChatClient::Join(server->port(), group, m->name, k + 1));
      if (k == 0) senders.push_back(m.get());
      members.push_back(std::move(m));
    }
  }
  for (auto& m : members) {
    if (m->name[0] == 'r') {
      m->recorder = std::make_unique<LineRecorder>(&m->client);
    }
  }

  // Hold worker 1: a line for its members wakes it, and it stops at the
  // start of its next pass.
  gate.Close();
  ASSERT_OK(senders[0]->client.SendLine("wake"));
  ASSERT_TRUE(gate.WaitBlocked(absl::Seconds(10)));
  const size_t depth_at_hold = server->mailbox_depth(1);

  // Every sender sends everything at once, each from its own thread: the
  // writes block once worker 0 stops reading.
  const std::string burst = Lines(kLinesPerSender);
  std::vector<absl::Status> sent(kGroups);
  std::vector<std::thread> writers;
  for (int g = 0; g < kGroups; ++g) {
    writers.emplace_back([&, g] {
      sent[g] = senders[g]->client.SendRaw(burst, absl::Seconds(60));
    });
  }

  // Worker 0 fills worker 1's mailbox to the mark, then holds its input.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (server->worker_stats(0).input_pauses.load() == 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GT(server->worker_stats(0).input_pauses.load(), 0u)
      << "worker 1's mailbox: " << server->mailbox_depth(1);
  // Time in which an unchecked worker 0 would read all the rest.
  absl::SleepFor(absl::Milliseconds(500));
  // Nothing drains worker 1's mailbox while it is held, so this is its peak.
  const size_t peak = server->mailbox_depth(1);
  EXPECT_GT(peak, kHighWater);
  EXPECT_LE(peak, depth_at_hold + kHighWater + kLinesPerRead)
      << "lines per read " << kLinesPerRead;
  EXPECT_EQ(server->worker_stats(0).input_paused.load(), 1);
  // Worker 0 still serves its own members meanwhile: the lines it read
  // reached its receivers in those groups (which groups it read first is
  // up to epoll, so any of them).
  const absl::Time served_by = absl::Now() + absl::Seconds(10);
  bool served = false;
  while (!served && absl::Now() < served_by) {
    for (const auto& m : members) {
      if (m->recorder && m->worker == 0 &&
          CountFrom(*m->recorder, absl::StrCat("s", m->name[1] - '0'), 1)) {
        served = true;
      }
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(served) << "no receiver on worker 0 got a line while held";

  gate.Open();
  for (std::thread& t : writers) t.join();
  for (int g = 0; g < kGroups; ++g) ASSERT_OK(sent[g]) << "sender " << g;

  for (auto& m : members) {
    if (!m->recorder) continue;
    const std::string sender = absl::StrCat("s", m->name[1] - '0');
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (!CountFrom(*m->recorder, sender, kLinesPerSender) &&
           absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    ExpectAllInOrder(m->recorder->Lines(), sender, kLinesPerSender);
  }
  // Once everything is through, the hold is over.
  EXPECT_EQ(server->worker_stats(0).input_paused.load(), 0);
  server->Stop();
}

// Both workers send into groups spread over both, with a mark so low that
// each holds the other back again and again: neither may wait for the other
// for good, and nothing may be lost.
TEST(BackPressureTest, WorkersHoldingEachOtherBackBothFinish) {
  constexpr int kMembers = 8;
  constexpr int kLinesPerSender = 3000;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChatServer> server,
                       ChatServer::Create(Options(/*high_water=*/50)));
  server->Start();
  std::vector<std::unique_ptr<Member>> members;
  for (int i = 0; i < kMembers; ++i) {
    auto m = std::make_unique<Member>();
    m->name = absl::StrCat("p", i);
    m->worker = i % 2;
    ASSERT_OK_AND_ASSIGN(
        m->client, ChatClient::Join(server->port(), "all", m->name, i + 1));
    members.push_back(std::move(m));
  }
  for (auto& m : members) {
    m->recorder = std::make_unique<LineRecorder>(&m->client);
  }
  const std::string burst = Lines(kLinesPerSender);
  std::vector<absl::Status> sent(kMembers);
  std::vector<std::thread> writers;
  for (int i = 0; i < kMembers; ++i) {
    writers.emplace_back([&, i] {
      sent[i] = members[i]->client.SendRaw(burst, absl::Seconds(60));
    });
  }
  for (std::thread& t : writers) t.join();
  for (int i = 0; i < kMembers; ++i) ASSERT_OK(sent[i]);
  for (auto& receiver : members) {
    for (auto& sender : members) {
      if (sender == receiver) continue;
      const absl::Time until = absl::Now() + absl::Seconds(60);
      while (!CountFrom(*receiver->recorder, sender->name, kLinesPerSender) &&
             absl::Now() < until) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      ExpectAllInOrder(receiver->recorder->Lines(), sender->name,
                       kLinesPerSender);
    }
  }
  EXPECT_GT(server->worker_stats(0).input_pauses.load() +
                server->worker_stats(1).input_pauses.load(),
            0u);
  server->Stop();
}

}  // namespace
}  // namespace chatd_test
