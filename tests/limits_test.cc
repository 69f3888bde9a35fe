// The server's abuse limits, each against a server started with that limit
// set: the per-member flood limit (token bucket), the join timeout (silent
// and slowloris connections), the per-address connection cap, the total
// connection cap, and running out of file descriptors. Each test checks both
// sides of its limit: whoever crosses it gets the documented ERROR and is
// closed, and everybody else, including members right under the limit, keeps
// being served.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/line_recorder.h"
#include "tests/status_macros.h"
#include "tests/transcript.h"

namespace chatd_test {
namespace {

constexpr char kFlooding[] = "ERROR flooding";
constexpr char kJoinTimeout[] = "ERROR join timeout";
constexpr char kTooMany[] = "ERROR too many connections from your address";
constexpr char kServerFull[] = "ERROR server full";

// ---------------------------------------------------------------------------
// Flood limit: 100 lines per second with bursts of 50.

class FloodTest : public ChatServerTest {
 protected:
  static constexpr double kRate = 100;
  static constexpr int kBurst = 50;

  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.max_msgs_per_sec = kRate;
    options.max_burst = kBurst;
    return options;
  }
};

// `count` lines "<prefix><i>", all in one string.
std::string Lines(const std::string& prefix, int count) {
  std::string lines;
  for (int i = 0; i < count; ++i) absl::StrAppend(&lines, prefix, i, "\n");
  return lines;
}

TEST_F(FloodTest, FlooderGetsErrorAndLeavesAfterAPrefixOfItsLines) {
  constexpr int kLines = 300;
  ASSERT_OK_AND_ASSIGN(ChatClient watcher, Join("room", "watcher", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient flooder, Join("room", "flooder", 2));
  EXPECT_EQ(watcher.NextLine(), "* flooder has joined");

  // One write: the server sees them all at once, far above the rate.
  ASSERT_OK(flooder.SendRaw(Lines("flood ", kLines)));
  EXPECT_EQ(flooder.NextLine(), kFlooding);
  EXPECT_OK(flooder.ExpectClosed());

  // The watcher gets an unbroken prefix (at least the burst), then the leave.
  int delivered = 0;
  while (true) {
    std::string line = watcher.NextLine();
    if (line == "* flooder has left") break;
    ASSERT_EQ(line, absl::StrCat("flooder: flood ", delivered));
    ++delivered;
  }
  EXPECT_GE(delivered, kBurst);
  EXPECT_LT(delivered, kLines);

  // The group lives on.
  ASSERT_OK_AND_ASSIGN(ChatClient next, Join("room", "next", 2));
  EXPECT_EQ(watcher.NextLine(), "* next has joined");
  ASSERT_OK(next.SendLine("hello"));
  EXPECT_EQ(watcher.NextLine(), "next: hello");
  EXPECT_TRUE(server().IsRunning());
}

TEST_F(FloodTest, CommandsCountTowardsTheLimit) {
  constexpr int kCommands = 300;
  ASSERT_OK_AND_ASSIGN(ChatClient watcher, Join("room", "watcher", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient flooder, Join("room", "flooder", 2));
  EXPECT_EQ(watcher.NextLine(), "* flooder has joined");

  std::string whos;
  for (int i = 0; i < kCommands; ++i) whos += "/who\n";
  ASSERT_OK(flooder.SendRaw(whos));
  int answered = 0;
  while (true) {
    std::string line = flooder.NextLine();
    if (line == kFlooding) break;
    ASSERT_EQ(line, "* online in room: flooder, watcher");
    ++answered;
  }
  EXPECT_GE(answered, kBurst);
  EXPECT_LT(answered, kCommands);
  EXPECT_OK(flooder.ExpectClosed());
  EXPECT_EQ(watcher.NextLine(), "* flooder has left");
}

TEST_F(FloodTest, EmptyLinesDoNotCount) {
  ASSERT_OK_AND_ASSIGN(ChatClient watcher, Join("room", "watcher", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient quiet, Join("room", "quiet", 2));
  EXPECT_EQ(watcher.NextLine(), "* quiet has joined");

  std::string empties;
  for (int i = 0; i < 2000; ++i) empties += i % 2 == 0 ? "\n" : "\r\n";
  ASSERT_OK(quiet.SendRaw(empties + "after the empty lines\n"));
  EXPECT_EQ(watcher.NextLine(), "quiet: after the empty lines");
  ASSERT_OK(quiet.SendLine("/who"));
  EXPECT_EQ(quiet.NextLine(), "* online in room: quiet, watcher");
}

TEST_F(FloodTest, MemberUnderTheRateIsNeverCutOffWhileAnotherFloods) {
  // 40 lines a second for 150 lines: three times the burst, so only the
  // refill keeps this member going, at well under the 100 a second allowed.
  constexpr int kSlowLines = 150;
  constexpr absl::Duration kPause = absl::Milliseconds(25);
  ASSERT_OK_AND_ASSIGN(ChatClient watcher, Join("room", "watcher", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient slow, Join("room", "slow", 2));
  ASSERT_OK_AND_ASSIGN(ChatClient flooder, Join("room", "flooder", 3));
  LineRecorder watcher_lines(&watcher);
  LineRecorder slow_lines(&slow);

  absl::Status slow_status;
  std::thread slow_sender([&] {
    for (int i = 0; i < kSlowLines && slow_status.ok(); ++i) {
      slow_status = slow.SendLine(absl::StrCat("steady ", i));
      absl::SleepFor(kPause);
    }
  });
  // Flood while the slow member is mid-way.
  absl::Status waited =
      slow_lines.WaitForLine("* flooder has joined", kDefaultTimeout);
  absl::Status flooded;
  if (waited.ok()) {
    absl::SleepFor(kPause * 20);
    flooded = flooder.SendRaw(Lines("flood ", 300));
  }
  slow_sender.join();
  ASSERT_OK(waited);
  ASSERT_OK(flooded);
  ASSERT_OK(slow_status);
  // The flooder also hears the slow member, up to its error.
  std::string line;
  do {
    line = flooder.NextLine();
  } while (absl::StartsWith(line, "slow: steady "));
  EXPECT_EQ(line, kFlooding);
  EXPECT_OK(flooder.ExpectClosed());

  ASSERT_OK(slow.SendLine("/who"));
  ASSERT_OK(slow_lines.WaitForLine("* online in room: slow, watcher",
                                   kDefaultTimeout));
  ASSERT_OK(slow.SendLine("last"));
  ASSERT_OK(watcher_lines.WaitForLine("slow: last", kDefaultTimeout));

  // The watcher has all of the slow member's lines in order, and a prefix of
  // the flooder's followed by its leave.
  Transcript got = BySubject(watcher_lines.Lines());
  std::vector<std::string> want_slow = {kJoined};
  for (int i = 0; i < kSlowLines; ++i) {
    want_slow.push_back(absl::StrCat("steady ", i));
  }
  want_slow.push_back("last");
  EXPECT_EQ(DescribeDifference({{"slow", want_slow}}, {{"slow", got["slow"]}}),
            "");
  const std::vector<std::string>& flood = got["flooder"];
  ASSERT_GE(flood.size(), 2u);
  EXPECT_EQ(flood.front(), kJoined);
  EXPECT_EQ(flood.back(), kLeft);
  for (size_t i = 1; i + 1 < flood.size(); ++i) {
    ASSERT_EQ(flood[i], absl::StrCat("flood ", i - 1));
  }
  EXPECT_EQ(got.count(kUnparsed), 0u) << absl::StrJoin(got[kUnparsed], "\n");
}

// ---------------------------------------------------------------------------
// Join timeout of 2 s, enforced by a once-a-second sweep: a connection
// without a valid JOIN is closed after 2 to 3 s.

class JoinTimeoutTest : public ChatServerTest {
 protected:
  static constexpr int kTimeoutSeconds = 2;

  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.join_timeout_s = kTimeoutSeconds;
    return options;
  }
};

TEST_F(JoinTimeoutTest, SilentAndSlowlorisClosedJoinedMembersNeverAre) {
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(ChatClient ann, Join("g", "ann", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient bob, Join("g", "bob", 2));
  EXPECT_EQ(ann.NextLine(), "* bob has joined");
  ASSERT_OK_AND_ASSIGN(ChatClient silent, Connect());
  ASSERT_OK_AND_ASSIGN(ChatClient late, Connect());

  // The slowloris sends a JOIN one byte at a time and never ends the line,
  // reading in between, until the server answers or closes.
  ASSERT_OK_AND_ASSIGN(ChatClient slowloris, Connect());
  absl::StatusOr<std::string> slowloris_got =
      absl::DeadlineExceededError("no answer");
  std::thread dribbler([&] {
    const std::string bytes = "JOIN g slowloris_never_finishes_this_name";
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    for (size_t i = 0; absl::Now() < deadline; ++i) {
      // Past the name, keep trickling spaces: still no newline.
      slowloris.SendRaw(i < bytes.size() ? bytes.substr(i, 1) : " ")
          .IgnoreError();  // Fails once the server has closed; read why.
      absl::StatusOr<std::string> line =
          slowloris.ReadLine(absl::Milliseconds(100));
      if (!absl::IsDeadlineExceeded(line.status())) {
        slowloris_got = std::move(line);
        return;
      }
    }
  });

  // Joining within the timeout is fine.
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_OK(late.SendLine("JOIN g late"));
  EXPECT_EQ(late.NextLine(), "* you joined g as late (3 online)");
  EXPECT_EQ(ann.NextLine(), "* late has joined");
  EXPECT_EQ(bob.NextLine(), "* late has joined");

  EXPECT_EQ(silent.NextLine(absl::Seconds(20)), kJoinTimeout);
  EXPECT_OK(silent.ExpectClosed());
  dribbler.join();
  ASSERT_OK(slowloris_got);
  EXPECT_EQ(*slowloris_got, kJoinTimeout);
  EXPECT_OK(slowloris.ExpectClosed());

  // Idle members well past timeout plus sweep are still members.
  absl::SleepFor(start + absl::Seconds(kTimeoutSeconds + 2.5) - absl::Now());
  ASSERT_OK(ann.SendLine("still here"));
  EXPECT_EQ(bob.NextLine(), "ann: still here");
  EXPECT_EQ(late.NextLine(), "ann: still here");
  ASSERT_OK(bob.SendLine("/who"));
  EXPECT_EQ(bob.NextLine(), "* online in g: ann, bob, late");
  ASSERT_OK(late.SendLine("me too"));
  EXPECT_EQ(ann.NextLine(), "late: me too");
}

// ---------------------------------------------------------------------------
// At most 3 connections from one address.

class PerAddressLimitTest : public ChatServerTest {
 protected:
  static constexpr int kPerAddress = 3;

  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.max_connections_per_ip = kPerAddress;
    return options;
  }

  // Connects from `source_ip`, sends a JOIN right away (so the server has
  // unread input when it refuses) and expects the refusal and the close.
  void ExpectRefused(const std::string& source_ip, const std::string& error) {
    ChatClient extra;
    ASSERT_OK(extra.Connect(port(), source_ip));
    ASSERT_OK(extra.SendLine("JOIN g extra"));
    EXPECT_EQ(extra.NextLine(), error) << " from " << source_ip;
    EXPECT_OK(extra.ExpectClosed()) << " from " << source_ip;
  }
};

TEST_F(PerAddressLimitTest, OnlyTheCrowdedAddressIsRefusedUntilASlotFrees) {
  // A group per address, so each member's lines are easy to predict.
  std::vector<ChatClient> a, b;
  for (int i = 0; i < kPerAddress; ++i) {
    ASSERT_OK_AND_ASSIGN(ChatClient member,
                         ChatClient::Join(port(), "ga", absl::StrCat("a", i),
                                          i + 1, "127.0.0.1"));
    a.push_back(std::move(member));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_NO_FATAL_FAILURE(ExpectRefused("127.0.0.1", kTooMany));
  }
  // Other addresses are counted on their own.
  for (int i = 0; i < kPerAddress; ++i) {
    ASSERT_OK_AND_ASSIGN(ChatClient member,
                         ChatClient::Join(port(), "gb", absl::StrCat("b", i),
                                          i + 1, "127.0.0.2"));
    b.push_back(std::move(member));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("127.0.0.2", kTooMany));
  ASSERT_OK_AND_ASSIGN(ChatClient c0,
                       ChatClient::Join(port(), "gb", "c0", 4, "127.0.0.3"));

  // Everybody admitted is served.
  EXPECT_EQ(a[0].NextLine(), "* a1 has joined");
  EXPECT_EQ(a[0].NextLine(), "* a2 has joined");
  ASSERT_OK(a[2].SendLine("from a2"));
  EXPECT_EQ(a[0].NextLine(), "a2: from a2");
  EXPECT_EQ(a[1].NextLine(), "* a2 has joined");
  EXPECT_EQ(a[1].NextLine(), "a2: from a2");
  ASSERT_OK(c0.SendLine("from c0"));
  for (int i = 0; i < kPerAddress; ++i) {
    for (int j = i + 1; j < kPerAddress; ++j) {
      EXPECT_EQ(b[i].NextLine(), absl::StrCat("* b", j, " has joined"));
    }
    EXPECT_EQ(b[i].NextLine(), "* c0 has joined");
    EXPECT_EQ(b[i].NextLine(), "c0: from c0");
  }

  // A /quit frees a slot of 127.0.0.1 once the server has closed it: then
  // exactly one more connection from there is admitted.
  ASSERT_OK(a[2].SendLine("/quit"));
  EXPECT_EQ(a[2].NextLine(), "* bye");
  EXPECT_OK(a[2].ExpectClosed());
  a[2].Close();
  EXPECT_EQ(a[0].NextLine(), "* a2 has left");
  ASSERT_OK_AND_ASSIGN(
      ChatClient a3, JoinEventuallyFrom("127.0.0.1", "ga", "a3", 3, kTooMany));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("127.0.0.1", kTooMany));
  EXPECT_EQ(a[0].NextLine(), "* a3 has joined");

  // So does a reset on 127.0.0.2.
  ASSERT_OK(b[0].SetLingerZero());
  b[0].Close();
  EXPECT_EQ(b[1].NextLine(), "* b0 has left");
  ASSERT_OK_AND_ASSIGN(
      ChatClient b3, JoinEventuallyFrom("127.0.0.2", "gb", "b3", 4, kTooMany));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("127.0.0.2", kTooMany));
  EXPECT_EQ(b[1].NextLine(), "* b3 has joined");
  ASSERT_OK(b3.SendLine("made it"));
  EXPECT_EQ(b[1].NextLine(), "b3: made it");
  EXPECT_EQ(c0.NextLine(), "* b0 has left");
  EXPECT_EQ(c0.NextLine(), "* b3 has joined");
  EXPECT_EQ(c0.NextLine(), "b3: made it");
  ASSERT_OK(a3.SendLine("me too"));
  EXPECT_EQ(a[0].NextLine(), "a3: me too");
}

// ---------------------------------------------------------------------------
// At most 4 connections in all.

class ServerFullTest : public ChatServerTest {
 protected:
  static constexpr int kMax = 4;

  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.max_connections = kMax;
    return options;
  }
};

TEST_F(ServerFullTest, BurstOfExtraConnectionsAllRefusedMembersUnaffected) {
  constexpr int kExtra = 20;
  std::vector<ChatClient> members;
  for (int i = 0; i < kMax; ++i) {
    ASSERT_OK_AND_ASSIGN(ChatClient member,
                         Join("g", absl::StrCat("m", i), i + 1));
    members.push_back(std::move(member));
  }
  // All at once, each sending a JOIN and a pile of lines before reading: the
  // refusal must survive the unread input.
  std::vector<ChatClient> extras(kExtra);
  for (int i = 0; i < kExtra; ++i) ASSERT_OK(extras[i].Connect(port()));
  std::string pile;
  while (pile.size() < 64 * 1024) {
    pile += "more input the server will not read\n";
  }
  for (int i = 0; i < kExtra; ++i) {
    ASSERT_OK(extras[i].SendRaw(absl::StrCat("JOIN g x", i, "\n", pile)));
  }
  for (int i = 0; i < kExtra; ++i) {
    EXPECT_EQ(extras[i].NextLine(), kServerFull) << " extra " << i;
    EXPECT_OK(extras[i].ExpectClosed()) << " extra " << i;
  }

  for (int i = 0; i < kMax; ++i) {
    for (int j = i + 1; j < kMax; ++j) {
      EXPECT_EQ(members[i].NextLine(), absl::StrCat("* m", j, " has joined"));
    }
  }
  ASSERT_OK(members[0].SendLine("unaffected"));
  for (int i = 1; i < kMax; ++i) {
    EXPECT_EQ(members[i].NextLine(), "m0: unaffected");
  }

  // A reset frees a slot once the server has closed its side.
  ASSERT_OK(members.back().SetLingerZero());
  members.back().Close();
  members.pop_back();
  EXPECT_EQ(members[0].NextLine(), "* m3 has left");
  ASSERT_OK_AND_ASSIGN(ChatClient late,
                       JoinEventually("g", "late", kMax, kServerFull));
  ChatClient one_too_many;
  ASSERT_OK(one_too_many.Connect(port()));
  EXPECT_EQ(one_too_many.NextLine(), kServerFull);
  ASSERT_OK(late.SendLine("made it"));
  EXPECT_EQ(members[0].NextLine(), "* late has joined");
  EXPECT_EQ(members[0].NextLine(), "late: made it");
}

// ---------------------------------------------------------------------------
// Out of file descriptors: the server runs with RLIMIT_NOFILE of 40 and no
// connection cap of its own, so the fd limit is what bites.

class OutOfFdsTest : public ChatServerTest {
 protected:
  static constexpr int kFdLimit = 40;

  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.threads = 2;
    options.fd_limit = kFdLimit;
    options.max_connections = 100000;
    return options;
  }
};

// Whether a Join() failed the way a connection refused for lack of fds may:
// "ERROR server full" (best effort), or a close or reset without a reply.
bool RefusedForFds(const absl::Status& status) {
  return absl::StrContains(status.message(), kServerFull) ||
         absl::StrContains(status.message(), "closed by the server") ||
         absl::StrContains(status.message(), "reset by the server") ||
         absl::StrContains(status.message(), "Connection reset") ||
         absl::StrContains(status.message(), "Broken pipe");
}

// Two pairs that keep exchanging messages on a thread of their own until
// stopped, counting the round trips; the first failure ends it.
class Chatter {
 public:
  explicit Chatter(std::vector<ChatClient>* pairs) : pairs_(pairs) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Chatter() { Stop().IgnoreError(); }

  int rounds() const { return rounds_.load(); }
  // Waits until `count` rounds are done; false if the chatter failed or the
  // timeout passed first.
  bool WaitForRounds(int count, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (rounds_.load() < count && !done_.load()) {
      if (absl::Now() >= deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return rounds_.load() >= count;
  }
  // Stops the thread and returns the first failure, if any.
  absl::Status Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  void Run() {
    for (int round = 0; !stop_; ++round) {
      for (size_t i = 0; i + 1 < pairs_->size(); i += 2) {
        ChatClient& from = (*pairs_)[i];
        ChatClient& to = (*pairs_)[i + 1];
        std::string text = absl::StrCat("tick ", round);
        absl::Status sent = from.SendLine(text);
        absl::StatusOr<std::string> got = to.ReadLine();
        if (sent.ok() && got.ok() && absl::EndsWith(*got, ": " + text)) {
          continue;
        }
        status_ = !sent.ok() ? sent
                  : !got.ok()
                      ? got.status()
                      : absl::InternalError(absl::StrCat(
                            "expected \"", text, "\", got \"", *got, "\""));
        done_.store(true);
        return;
      }
      rounds_.fetch_add(1);
    }
    done_.store(true);
  }

  std::vector<ChatClient>* const pairs_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  absl::Status status_;  // Written by the thread, read after it is joined.
  std::atomic<bool> done_{false};
  std::thread thread_;
};

TEST_F(OutOfFdsTest, RefusesWhileOutAcceptsAgainWhenFdsFreeUp) {
  // Two pairs, all joined before the limit is reached.
  std::vector<ChatClient> keepers;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(
        ChatClient keeper,
        Join(absl::StrCat("keep", i / 2), absl::StrCat("k", i), i % 2 + 1));
    keepers.push_back(std::move(keeper));
  }
  EXPECT_EQ(keepers[0].NextLine(), "* k1 has joined");
  EXPECT_EQ(keepers[2].NextLine(), "* k3 has joined");
  auto chatter = std::make_unique<Chatter>(&keepers);
  ASSERT_TRUE(chatter->WaitForRounds(3, kDefaultTimeout)) << chatter->Stop();

  // Fill the server up; each filler has a group of its own, so the fillers
  // receive nothing.
  std::vector<ChatClient> fillers;
  absl::Status refusal;
  while (refusal.ok()) {
    ASSERT_LT(fillers.size(), 4u * kFdLimit)
        << "the server never ran out of file descriptors";
    absl::StatusOr<ChatClient> filler =
        Join(absl::StrCat("fill", fillers.size()),
             absl::StrCat("f", fillers.size()), 1);
    if (filler.ok()) {
      fillers.push_back(*std::move(filler));
    } else {
      refusal = filler.status();
    }
  }
  std::fprintf(stderr, "out of fds after %zu fillers: %s\n", fillers.size(),
               refusal.ToString().c_str());
  EXPECT_TRUE(RefusedForFds(refusal)) << refusal;

  // Still out: every new connection is refused, while the keepers go on.
  const int rounds = chatter->rounds();
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<ChatClient> extra = Join("extra", "extra", 1);
    EXPECT_FALSE(extra.ok()) << "admitted while out of file descriptors";
    EXPECT_TRUE(RefusedForFds(extra.status())) << extra.status();
  }
  EXPECT_TRUE(chatter->WaitForRounds(rounds + 5, kDefaultTimeout))
      << chatter->Stop();
  EXPECT_TRUE(server().IsRunning());

  // Free some fds: new connections are admitted again and served.
  for (int i = 0; i < 6 && !fillers.empty(); ++i) fillers.pop_back();
  absl::StatusOr<ChatClient> late1 = absl::UnavailableError("not tried");
  for (absl::Time deadline = absl::Now() + kDefaultTimeout;
       !late1.ok() && absl::Now() < deadline;) {
    late1 = Join("late", "late1", 1);
    if (!late1.ok()) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_OK(late1) << " after closing 6 fillers";
  ASSERT_OK_AND_ASSIGN(ChatClient late2, Join("late", "late2", 2));
  EXPECT_EQ(late1->NextLine(), "* late2 has joined");
  ASSERT_OK(late2.SendLine("back in business"));
  EXPECT_EQ(late1->NextLine(), "late2: back in business");

  const int later = chatter->rounds();
  EXPECT_TRUE(chatter->WaitForRounds(later + 5, kDefaultTimeout))
      << chatter->Stop();
  EXPECT_OK(chatter->Stop());
  // The fillers that stayed were never disturbed.
  ASSERT_OK(fillers.front().SendLine("/who"));
  EXPECT_EQ(fillers.front().NextLine(), "* online in fill0: f0");
}

}  // namespace
}  // namespace chatd_test
