// 10,000 concurrent members in 100 groups of 100 against one server process
// with 4 worker threads: every member gets its welcome, exactly the joins of
// those who came after it, exactly its group's messages, and the shutdown
// notice; no line crosses groups.
//
// All connections are driven by one epoll loop (ConnectionSwarm). Every line
// is checked the moment it arrives, against what the member may receive in
// the current phase; the phases only wait, bounded, for the expected totals.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <bitset>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tests/connection_swarm.h"
#include "tests/server_process.h"
#include "tests/status_macros.h"

namespace chatd_test {
namespace {

constexpr int kGroups = 100;
constexpr int kPerGroup = 100;
constexpr int kConnections = kGroups * kPerGroup;
constexpr int kWorkers = 4;
// Joins in flight at once: enough to keep the server busy, few enough that
// the listen backlog never overflows (a dropped SYN costs a 1 s retry).
constexpr int kJoinWindow = 256;
// Client source addresses 127.0.0.2 .. 127.0.0.11.
constexpr int kSourceAddresses = 10;
// Two senders per group, on neighbouring connections and so on different
// workers; a third member sends the sentinel.
constexpr int kSenderLocals[] = {0, 1};
constexpr int kSentinelLocal = 2;

// Runs of kWorkers consecutive connections share a group, so each group has
// members on every worker (round-robin hand-off) and in every phase of the
// connect ramp.
int GroupOf(int i) { return (i / kWorkers) % kGroups; }
// The member's index within its group, 0..99.
int LocalOf(int i) {
  return (i / (kWorkers * kGroups)) * kWorkers + i % kWorkers;
}
int IdOf(int group, int local) {
  return (local / kWorkers) * kWorkers * kGroups + group * kWorkers +
         local % kWorkers;
}
std::string NameOf(int i) { return absl::StrCat("u", i); }
std::string GroupName(int group) { return absl::StrCat("g", group); }
std::string MessageText(int sender) {
  return absl::StrCat("hello ", GroupName(GroupOf(sender)), " from ",
                      NameOf(sender));
}
std::string SentinelText(int group) {
  return absl::StrCat("end of ", GroupName(group));
}

enum class Phase { kJoining, kMessaging, kSentinel, kShutdown };

struct Member {
  int online = 0;                       // From the welcome; 0 until it arrived.
  std::bitset<kPerGroup> joined_after;  // Locals announced to this member.
  std::bitset<kPerGroup> heard_from;    // Locals whose message arrived.
  bool sentinel = false;
  bool shutdown_notice = false;
};

class ScaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One descriptor per connection, in this process as in the server.
    rlimit limit = {};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = limit.rlim_max;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
    ASSERT_GE(limit.rlim_cur, static_cast<rlim_t>(kConnections + 100))
        << "the hard RLIMIT_NOFILE is too low for " << kConnections
        << " connections";

    ServerProcess::Options options;
    options.threads = kWorkers;
    options.max_connections = kConnections + 1000;
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(options);
    ASSERT_OK(server);
    server_ = *std::move(server);
  }

  // Checks one line against what member `id` may receive now.
  void OnLine(int id, absl::string_view line) {
    Member& member = members_[id];
    const int group = GroupOf(id);
    if (member.online == 0) {
      absl::string_view rest = line;
      int online = 0;
      if (absl::ConsumePrefix(
              &rest, absl::StrCat("* you joined ", GroupName(group), " as ",
                                  NameOf(id), " (")) &&
          absl::ConsumeSuffix(&rest, " online)") &&
          absl::SimpleAtoi(rest, &online) && online >= 1 &&
          online <= kPerGroup) {
        member.online = online;
        ++welcomed_;
        return;
      }
      return Fail(id, line, "expected the welcome");
    }

    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "* ")) {
      int joiner = -1;
      if (phase_ == Phase::kShutdown && rest == "server shutting down" &&
          !member.shutdown_notice) {
        member.shutdown_notice = true;
        ++shutdown_notices_;
        return;
      }
      if (phase_ == Phase::kJoining && absl::ConsumePrefix(&rest, "u") &&
          absl::ConsumeSuffix(&rest, " has joined") &&
          absl::SimpleAtoi(rest, &joiner) && joiner >= 0 &&
          joiner < kConnections && joiner != id && GroupOf(joiner) == group &&
          !member.joined_after[LocalOf(joiner)]) {
        member.joined_after[LocalOf(joiner)] = true;
        ++join_notices_;
        return;
      }
      return Fail(id, line, "unexpected notice");
    }

    for (int local : kSenderLocals) {
      int sender = IdOf(group, local);
      if (phase_ >= Phase::kMessaging && sender != id &&
          !member.heard_from[local] &&
          line == absl::StrCat(NameOf(sender), ": ", MessageText(sender))) {
        member.heard_from[local] = true;
        ++messages_;
        return;
      }
    }
    int sentinel_sender = IdOf(group, kSentinelLocal);
    if (phase_ >= Phase::kSentinel && sentinel_sender != id &&
        !member.sentinel &&
        line ==
            absl::StrCat(NameOf(sentinel_sender), ": ", SentinelText(group))) {
      member.sentinel = true;
      ++sentinels_;
      return;
    }
    Fail(id, line, "unexpected line");
  }

  void Fail(int id, absl::string_view line, absl::string_view why) {
    if (++failures_ <= 20) {
      ADD_FAILURE() << why << " at " << NameOf(id) << " in "
                    << GroupName(GroupOf(id)) << ": \"" << line << "\"";
    }
  }

  std::string Progress() const {
    return absl::StrCat("welcomed ", welcomed_, ", join notices ",
                        join_notices_, ", messages ", messages_, ", sentinels ",
                        sentinels_, ", shutdown notices ", shutdown_notices_,
                        ", closed ", swarm_.closed_count(), ", bad lines ",
                        failures_);
  }

  std::unique_ptr<ServerProcess> server_;
  std::vector<Member> members_ = std::vector<Member>(kConnections);
  Phase phase_ = Phase::kJoining;
  ConnectionSwarm swarm_{
      [this](int id, absl::string_view line) { OnLine(id, line); }};
  int welcomed_ = 0;
  int join_notices_ = 0;
  int messages_ = 0;
  int sentinels_ = 0;
  int shutdown_notices_ = 0;
  int failures_ = 0;
};

TEST_F(ScaleTest, TenThousandMembersInHundredGroups) {
  // Connect and join, keeping at most kJoinWindow joins in flight.
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  for (int id = 0; id < kConnections; ++id) {
    ASSERT_OK(swarm_.PumpUntil([&] { return id - welcomed_ < kJoinWindow; },
                               deadline))
        << Progress();
    std::string source = absl::StrCat("127.0.0.", 2 + id % kSourceAddresses);
    absl::StatusOr<int> got = swarm_.Connect(
        server_->port(), source,
        absl::StrCat("JOIN ", GroupName(GroupOf(id)), " ", NameOf(id), "\n"));
    ASSERT_OK(got) << " connection #" << id << "; " << Progress();
    ASSERT_EQ(*got, id);
  }
  // Every member hears of each one who joined its group after it: 0 + 1 +
  // ... + 99 notices per group.
  const int kJoinNotices = kGroups * kPerGroup * (kPerGroup - 1) / 2;
  ASSERT_OK(swarm_.PumpUntil(
      [&] {
        return welcomed_ == kConnections && join_notices_ >= kJoinNotices;
      },
      deadline))
      << Progress();
  ASSERT_EQ(failures_, 0) << Progress();

  // Joins within a group are serialized, so the welcome counts are 1..100
  // and each member heard exactly of those with a higher count.
  for (int group = 0; group < kGroups; ++group) {
    std::vector<int> local_with_count(kPerGroup + 1, -1);
    for (int local = 0; local < kPerGroup; ++local) {
      int online = members_[IdOf(group, local)].online;
      ASSERT_EQ(local_with_count[online], -1)
          << "two members of " << GroupName(group) << " were welcomed with ("
          << online << " online)";
      local_with_count[online] = local;
    }
    for (int local = 0; local < kPerGroup; ++local) {
      const Member& member = members_[IdOf(group, local)];
      std::bitset<kPerGroup> later;
      for (int online = member.online + 1; online <= kPerGroup; ++online) {
        later[local_with_count[online]] = true;
      }
      std::bitset<kPerGroup> wrong = member.joined_after ^ later;
      for (int other = 0; other < kPerGroup && failures_ < 20; ++other) {
        if (!wrong[other]) continue;
        const int id = IdOf(group, local);
        const int other_id = IdOf(group, other);
        ++failures_;
        ADD_FAILURE() << NameOf(id) << " (welcomed with " << member.online
                      << " online) "
                      << (member.joined_after[other] ? "was" : "was not")
                      << " told that " << NameOf(other_id)
                      << " joined; that one was welcomed with "
                      << members_[other_id].online << " online";
      }
    }
  }

  ASSERT_EQ(failures_, 0) << Progress();

  // Messages: everyone but the sender gets each one once, nobody else.
  phase_ = Phase::kMessaging;
  for (int group = 0; group < kGroups; ++group) {
    for (int local : kSenderLocals) {
      int sender = IdOf(group, local);
      swarm_.Send(sender, MessageText(sender) + "\n");
    }
  }
  const int kSenders = static_cast<int>(std::size(kSenderLocals));
  const int kMessages = kGroups * kSenders * (kPerGroup - 1);
  deadline = absl::Now() + absl::Seconds(60);
  ASSERT_OK(swarm_.PumpUntil([&] { return messages_ == kMessages; }, deadline))
      << Progress();

  // A sentinel after everything else: it must be the next line everywhere,
  // which shows nothing else was on its way.
  phase_ = Phase::kSentinel;
  for (int group = 0; group < kGroups; ++group) {
    swarm_.Send(IdOf(group, kSentinelLocal), SentinelText(group) + "\n");
  }
  ASSERT_OK(swarm_.PumpUntil(
      [&] { return sentinels_ == kGroups * (kPerGroup - 1); }, deadline))
      << Progress();
  ASSERT_EQ(failures_, 0) << Progress();

  // Shutdown reaches all 10,000 and closes them; the server exits cleanly.
  phase_ = Phase::kShutdown;
  absl::StatusOr<int> exit_code = server_->Stop(absl::Seconds(30));
  ASSERT_OK(exit_code);
  EXPECT_EQ(*exit_code, 0);
  ASSERT_OK(swarm_.PumpUntil(
      [&] {
        return shutdown_notices_ == kConnections &&
               swarm_.closed_count() == kConnections;
      },
      absl::Now() + absl::Seconds(30)))
      << Progress();
  EXPECT_EQ(failures_, 0) << Progress();
}

}  // namespace
}  // namespace chatd_test
