// Slow consumers: a member that never reads while others send at full speed.
//
// With --max_output_bytes set, the stalled member must be dropped ("ERROR
// too slow" if its socket ever takes it, a WARNING in the server's log, a
// leave for the group, then the close), the server's memory must stay
// bounded however much is sent, and every other member must get every
// message in order. With the limit off, a stalled member must still never
// hold up the other clients of its worker thread. And a burst that a
// reader's socket takes at once is no reason to call that reader slow.
//
// "Full speed" is as fast as the members who do read can take it (see
// RunPacedTraffic): unpaced senders outrun this test's readers on a small
// machine, and any server would then rightly drop those readers too.
// Messages are large and numerous (about 100 MB in all), so each receiver
// checks every payload as it arrives and keeps only "<name>: seq <n>".

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/line_recorder.h"
#include "tests/paced_traffic.h"
#include "tests/status_macros.h"
#include "tests/transcript.h"

namespace chatd_test {
namespace {

constexpr int64_t kMaxOutputBytes = 256 * 1024;
// For waits on heavy traffic, sanitizers included.
constexpr absl::Duration kLongTimeout = absl::Seconds(60);

// The text of message `seq` from `sender`: 1 to 3 KB whose every byte
// depends on both, so a torn, spliced or misattributed line cannot pass.
std::string MessageText(const std::string& sender, int seq) {
  const size_t length = 1000 + (static_cast<size_t>(seq) * 7919 +
                                sender.size() * 104729 + sender.back()) %
                                   2000;
  const char fill = static_cast<char>('a' + (seq + sender.back()) % 26);
  return absl::StrCat("seq ", seq, " ", std::string(length, fill), " end ",
                      sender, " ", seq);
}

// What a receiver keeps of a line: "<name>: seq <n>" for a message whose
// payload checks out, the line itself for anything else (announcements,
// errors), and a marked excerpt for a corrupt message.
std::string Shrink(std::string line) {
  absl::string_view rest = line;
  const size_t colon = rest.find(": seq ");
  if (colon == absl::string_view::npos) return line;
  const absl::string_view sender = rest.substr(0, colon);
  absl::string_view number = rest.substr(colon + 6);
  number = number.substr(0, number.find(' '));
  int seq = 0;
  if (absl::SimpleAtoi(number, &seq) &&
      rest.substr(colon + 2) == MessageText(std::string(sender), seq)) {
    return absl::StrCat(sender, ": seq ", seq);
  }
  return absl::StrCat(sender, ": CORRUPT ",
                      absl::CHexEscape(rest.substr(colon + 2, 80)), "... (",
                      line.size(), " bytes)");
}

struct Member {
  std::string name;
  ChatClient client;
  std::unique_ptr<LineRecorder> recorder;
  Transcript expected;
};

class SlowConsumerTest : public ChatServerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.threads = 4;
    options.max_output_bytes = kMaxOutputBytes;
    options.capture_log = true;
    options.extra_env = {ServerProcess::SmallAsanQuarantineEnv()};
    return options;
  }

  // Joins `name` to `group`, with a recorder unless `stalled` (then it
  // never reads); those already in `members` are expected to see it join.
  void JoinMember(std::vector<std::unique_ptr<Member>>& members,
                  const std::string& group, const std::string& name,
                  bool stalled = false) {
    auto member = std::make_unique<Member>();
    member->name = name;
    absl::StatusOr<ChatClient> client =
        Join(group, name, static_cast<int>(members.size()) + 1);
    ASSERT_OK(client) << " joining " << name;
    member->client = *std::move(client);
    if (!stalled) {
      member->recorder =
          std::make_unique<LineRecorder>(&member->client, Shrink);
    }
    for (auto& other : members) other->expected[name].push_back(kJoined);
    members.push_back(std::move(member));
  }

  // Sends `count` messages from each of `senders` at once (see
  // RunPacedTraffic; `window` 0 is full speed) until done or `stop` is set,
  // and records in every other member of `members` what it should get.
  void SendFromAll(const std::vector<Member*>& senders,
                   std::vector<std::unique_ptr<Member>>& members, int count,
                   int window, const std::atomic<bool>* stop = nullptr,
                   std::vector<int>* sent_counts = nullptr) {
    std::vector<PacedSender> paced_senders;
    for (Member* sender : senders) {
      paced_senders.push_back({&sender->client, sender->name});
    }
    std::vector<PacedReader> readers;
    for (auto& member : members) {
      if (!member->recorder) continue;
      PacedReader reader{member->recorder.get(), member->name, {}};
      for (size_t s = 0; s < senders.size(); ++s) {
        if (senders[s] != member.get()) reader.hears.push_back(s);
      }
      readers.push_back(reader);
    }
    PacedTrafficOptions options;
    options.messages_per_sender = count;
    options.window = window;
    options.timeout = kLongTimeout;
    options.stop = stop;
    options.text = MessageText;
    PacedTrafficResult result =
        RunPacedTraffic(paced_senders, readers, options);
    for (size_t s = 0; s < senders.size(); ++s) {
      EXPECT_OK(result.statuses[s]) << " sending from " << senders[s]->name;
      for (auto& member : members) {
        if (member.get() == senders[s]) continue;
        for (int seq = 0; seq < result.sent[s]; ++seq) {
          member->expected[senders[s]->name].push_back(
              absl::StrCat("seq ", seq));
        }
      }
    }
    if (sent_counts != nullptr) *sent_counts = result.sent;
  }

  // Waits (one deadline for all) until each member has what it should, then
  // compares transcripts. Fails fatally if any member falls short, so a
  // broken run ends after one wait instead of one per member.
  void CheckTranscripts(const std::vector<Member*>& who) {
    const absl::Time deadline = absl::Now() + kLongTimeout;
    bool all_good = true;
    for (Member* member : who) {
      size_t count = 0;
      for (const auto& [subject, entries] : member->expected) {
        count += entries.size();
      }
      absl::Status arrived = member->recorder->WaitForCount(
          count, all_good ? deadline - absl::Now() : absl::ZeroDuration());
      EXPECT_OK(arrived) << " at " << member->name;
      const std::string diff = DescribeDifference(
          member->expected, BySubject(member->recorder->Lines()));
      EXPECT_EQ(diff, "") << " at " << member->name;
      all_good = all_good && arrived.ok() && diff.empty();
    }
    if (!all_good) FAIL() << "some members did not get what they should";
  }
};

// Samples the server's resident memory on a thread until destroyed.
class RssMonitor {
 public:
  explicit RssMonitor(ServerProcess* server) : server_(server) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        absl::StatusOr<int64_t> rss = server_->RssBytes();
        if (rss.ok()) peak_.store(std::max(peak_.load(), *rss));
        absl::SleepFor(absl::Milliseconds(10));
      }
    });
  }
  ~RssMonitor() { Stop(); }
  // Stops sampling; returns the highest sample.
  int64_t Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return peak_.load();
  }

 private:
  ServerProcess* const server_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::thread thread_;
};

// The glog WARNING about `name` in `group` with its pending bytes, if any:
// the message part (after "] ") of a line starting with "W".
std::string FindSlowConsumerWarning(const std::string& log,
                                    const std::string& name,
                                    const std::string& group) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!absl::StartsWith(line, "W")) continue;
    const size_t start = line.find("] ");
    if (start == absl::string_view::npos) continue;
    absl::string_view message = line.substr(start + 2);
    if (!absl::StrContains(message, name) ||
        !absl::StrContains(message, group)) {
      continue;
    }
    // Some number in the message must be over the limit: the pending bytes.
    for (absl::string_view word : absl::StrSplit(
             message, absl::ByAnyChar(" :,()="), absl::SkipEmpty())) {
      int64_t number = 0;
      if (absl::SimpleAtoi(word, &number) && number > kMaxOutputBytes) {
        return std::string(message);
      }
    }
  }
  return "";
}

TEST_F(SlowConsumerTest, StalledMemberDroppedOthersGetAllMemoryBounded) {
  // About 32 MB per sender, 96 MB in all: an output queue that kept it all
  // for the stalled member would add that much to the server.
  constexpr int kPerSender = 16000;
  constexpr int64_t kMiB = 1 << 20;
  const std::string group = "slowroom";
  std::vector<std::unique_ptr<Member>> members;
  // Consecutive joins go to consecutive workers: the stalled member on
  // worker 0 with a reader, the three senders on workers 1 to 3.
  ASSERT_NO_FATAL_FAILURE(JoinMember(members, group, "stalled", true));
  for (const char* name : {"s1", "s2", "s3", "reader"}) {
    ASSERT_NO_FATAL_FAILURE(JoinMember(members, group, name));
  }
  Member& stalled = *members[0];
  std::vector<Member*> senders = {members[1].get(), members[2].get(),
                                  members[3].get()};
  std::vector<Member*> others = {members[1].get(), members[2].get(),
                                 members[3].get(), members[4].get()};
  for (Member* other : others) other->expected["stalled"].push_back(kLeft);

  ASSERT_OK_AND_ASSIGN(const int fds_with_stalled, server().OpenFdCount());
  ASSERT_OK_AND_ASSIGN(const int64_t baseline, server().RssBytes());
  RssMonitor monitor(&server());
  // As fast as the members who read can take it: each is at most
  // 32 + 3 * 8 lines of at most 3 KB, well under the limit, behind.
  ASSERT_NO_FATAL_FAILURE(
      SendFromAll(senders, members, kPerSender, /*window=*/32));
  // Everything has been sent, and the readers are a window behind at most.
  const int64_t peak = monitor.Stop();
  std::fprintf(stderr, "server RSS: %lld KiB at start, %lld KiB at peak\n",
               static_cast<long long>(baseline / 1024),
               static_cast<long long>(peak / 1024));
  EXPECT_LT(peak - baseline, 48 * kMiB)
      << "the server's memory grew with the amount sent";
  EXPECT_LT(peak, 200 * kMiB);
  ASSERT_NO_FATAL_FAILURE(CheckTranscripts(others));

  // The server said whom it dropped, where, and how far behind.
  std::string warning;
  for (absl::Time deadline = absl::Now() + kDefaultTimeout;
       warning.empty() && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(20))) {
    absl::StatusOr<std::string> log = server().Log();
    ASSERT_OK(log);
    warning = FindSlowConsumerWarning(*log, "stalled", group);
  }
  EXPECT_NE(warning, "") << "no WARNING naming stalled in " << group
                         << " with its pending bytes";

  // The server closes the stalled connection (after at most ~2 s of trying
  // to drain it) even though the client still reads nothing.
  absl::StatusOr<int> fds = server().OpenFdCount();
  for (absl::Time deadline = absl::Now() + kDefaultTimeout;
       fds.ok() && *fds >= fds_with_stalled && absl::Now() < deadline;
       fds = server().OpenFdCount()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_OK(fds);
  EXPECT_LT(*fds, fds_with_stalled)
      << "the server still holds the stalled member's connection";

  // What the stalled member finally reads: an unbroken prefix of what was
  // sent, maybe "ERROR too slow", then the end of the connection.
  std::vector<std::string> lines;
  absl::Status end;
  for (absl::Time deadline = absl::Now() + kLongTimeout; end.ok();) {
    absl::StatusOr<std::string> line =
        stalled.client.ReadLine(deadline - absl::Now());
    if (line.ok()) {
      lines.push_back(Shrink(*std::move(line)));
    } else {
      end = line.status();
    }
  }
  EXPECT_TRUE(absl::IsUnavailable(end)) << "the stalled member is still "
                                        << "connected: " << end;
  const bool told = !lines.empty() && lines.back() == "ERROR too slow";
  if (told) lines.pop_back();
  std::fprintf(stderr, "the stalled member got %zu lines%s\n", lines.size(),
               told ? " and ERROR too slow" : "");
  Transcript got = BySubject(lines);
  for (const auto& [subject, entries] : got) {
    const std::vector<std::string>& sent = stalled.expected[subject];
    EXPECT_LE(entries.size(), sent.size()) << " from " << subject;
    EXPECT_TRUE(std::equal(
        entries.begin(),
        entries.begin() + std::min(entries.size(), sent.size()), sent.begin()))
        << "not a prefix of what " << subject << " sent: "
        << DescribeDifference(
               {{subject,
                 std::vector<std::string>(
                     sent.begin(),
                     sent.begin() + std::min(entries.size(), sent.size()))}},
               {{subject, entries}});
  }

  // The room goes on without it.
  ASSERT_OK(members[4]->client.SendLine(MessageText("reader", 0)));
  for (Member* sender : senders) {
    sender->expected["reader"].push_back("seq 0");
  }
  ASSERT_NO_FATAL_FAILURE(CheckTranscripts(senders));
}

// With the output limit off a stalled member is never dropped; its worker
// must still serve everyone else on it.
class StalledWorkerTest : public SlowConsumerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options = SlowConsumerTest::ServerOptions();
    options.max_output_bytes = 0;
    return options;
  }
};

TEST_F(StalledWorkerTest, PairOnTheStalledMembersWorkerKeepsTalking) {
  constexpr int kRounds = 100;
  // Bounded: with no limit the stalled member's queue keeps all of it.
  constexpr int kMaxPerSender = 12000;
  std::vector<std::unique_ptr<Member>> flood;
  // Connection i goes to worker i % 4: stalled member 0 and the pair
  // members 4 and 8 share worker 0. Members 5 to 7 idle in groups of their
  // own.
  ASSERT_NO_FATAL_FAILURE(JoinMember(flood, "flood", "stalled", true));
  for (const char* name : {"f1", "f2", "f3"}) {
    ASSERT_NO_FATAL_FAILURE(JoinMember(flood, "flood", name));
  }
  ASSERT_OK_AND_ASSIGN(ChatClient ping, Join("pair", "ping", 1));
  std::vector<ChatClient> idle;
  for (int i = 5; i < 8; ++i) {
    ASSERT_OK_AND_ASSIGN(ChatClient client, Join(absl::StrCat("idle", i),
                                                 absl::StrCat("idler", i), 1));
    idle.push_back(std::move(client));
  }
  ASSERT_OK_AND_ASSIGN(ChatClient pong, Join("pair", "pong", 2));
  EXPECT_EQ(ping.NextLine(), "* pong has joined");

  std::vector<Member*> senders = {flood[1].get(), flood[2].get(),
                                  flood[3].get()};
  std::atomic<bool> stop{false};
  std::vector<int> sent;
  // Full speed, no window: with the limit off nobody can be dropped.
  std::thread flooders([&] {
    SendFromAll(senders, flood, kMaxPerSender, /*window=*/0, &stop, &sent);
  });
  // Once this much has reached the others, the stalled member's socket is
  // long full and the server holds the rest.
  absl::Status flowing =
      flood[1]->recorder->WaitForCount(3 + 4000, kLongTimeout);
  for (int round = 0; round < kRounds && flowing.ok(); ++round) {
    const std::string text = absl::StrCat("ping ", round);
    ASSERT_OK(ping.SendLine(text));
    ASSERT_EQ(pong.NextLine(), "ping: " + text) << " in round " << round;
    ASSERT_OK(pong.SendLine(absl::StrCat("pong ", round)));
    ASSERT_EQ(ping.NextLine(), absl::StrCat("pong: pong ", round));
  }
  stop.store(true);
  flooders.join();
  ASSERT_OK(flowing);
  std::fprintf(stderr, "flooders sent %d, %d and %d messages\n", sent[0],
               sent[1], sent[2]);
  // The flood members themselves got everything, and the stalled member
  // was never dropped (the limit is off).
  ASSERT_NO_FATAL_FAILURE(CheckTranscripts(senders));
  ASSERT_OK(flood[1]->client.SendLine("/who"));
  EXPECT_OK(
      flood[1]->recorder->WaitForLine("* online in flood: f1, f2, f3, "
                                      "stalled",
                                      kLongTimeout));
}

// "Too slow" is about a consumer that does not take its output. A burst
// bigger than the limit that the client's socket takes at once (here 30 KB
// against a 16 KB limit, on an idle loopback connection whose buffers hold
// far more) leaves nothing unsent, so the reader must not be dropped.
class OutputBurstTest : public SlowConsumerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options = SlowConsumerTest::ServerOptions();
    options.threads = 1;  // Sender and reader on one worker: one pass.
    options.max_output_bytes = 16 * 1024;
    return options;
  }
};

TEST_F(OutputBurstTest, BurstTheSocketTakesAtOnceIsNotTooSlow) {
  ASSERT_OK_AND_ASSIGN(ChatClient reader, Join("g", "reader", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient sender, Join("g", "sender", 2));
  EXPECT_EQ(reader.NextLine(), "* sender has joined");
  LineRecorder lines(&reader);

  std::string burst;
  std::vector<std::string> texts;
  for (int i = 0; i < 10; ++i) {
    texts.push_back(absl::StrCat("burst ", i, " ", std::string(3000, 'b')));
    absl::StrAppend(&burst, texts.back(), "\n");
  }
  ASSERT_OK(sender.SendRaw(burst));
  ASSERT_OK(sender.SendLine("after the burst"));
  ASSERT_OK(lines.WaitForCount(texts.size() + 1, kDefaultTimeout));
  std::vector<std::string> got = lines.Lines();
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string want =
        i < texts.size() ? "sender: " + texts[i] : "sender: after the burst";
    EXPECT_EQ(got[i].substr(0, 40), want.substr(0, 40)) << " line " << i;
    EXPECT_EQ(got[i] == want, true) << " line " << i;
  }
  ASSERT_OK(sender.SendLine("/who"));
  EXPECT_EQ(sender.NextLine(), "* online in g: reader, sender");
}

}  // namespace
}  // namespace chatd_test
