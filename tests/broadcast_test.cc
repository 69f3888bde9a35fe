// Fan-out across the server's worker threads: completeness, no echo,
// per-sender order, group isolation, and the place of join and leave
// announcements in each sender's stream.
//
// The acceptor hands connections to the 4 workers round-robin, so any 4
// consecutive connections land on 4 different workers. Every test joins at
// least 8 members in a row, which puts each group on every worker.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/line_recorder.h"
#include "tests/numbered_message.h"
#include "tests/status_macros.h"
#include "tests/transcript.h"

namespace chatd_test {
namespace {

// Generous: the senders run at full speed on a 2-core machine.
constexpr absl::Duration kDeliveryTimeout = absl::Seconds(30);

struct Member {
  std::string group;
  std::string name;
  ChatClient client;
  std::unique_ptr<LineRecorder> recorder;  // Reads all it receives.
  Transcript expected;                     // What it should have by now.
};

class BroadcastTest : public ChatServerTest {
 protected:
  // Joins members one after another (so each welcome count is known) and
  // expects each to be announced to those of its group already there.
  void JoinAll(const std::vector<std::pair<std::string, std::string>>& who) {
    for (const auto& [group, name] : who) {
      int online = 1;
      for (auto& member : members_) {
        if (member->group != group) continue;
        ++online;
        member->expected[name].push_back(kJoined);
      }
      absl::StatusOr<ChatClient> client = Join(group, name, online);
      ASSERT_OK(client) << " joining " << name;
      auto member = std::make_unique<Member>();
      member->group = group;
      member->name = name;
      member->client = *std::move(client);
      member->recorder = std::make_unique<LineRecorder>(&member->client);
      members_.push_back(std::move(member));
    }
  }

  // Records that everyone else in `sender`'s group should get `text`.
  void ExpectDelivered(const Member& sender, const std::string& text) {
    for (auto& member : members_) {
      if (member.get() == &sender || member->group != sender.group) continue;
      member->expected[sender.name].push_back(text);
    }
  }

  // Waits until every member has as many lines as expected, then compares.
  // One deadline for all, and a fatal failure at the end, so that a broken
  // server fails the test once instead of timing out member by member.
  void CheckAllTranscripts() {
    absl::Time deadline = absl::Now() + kDeliveryTimeout;
    bool all_good = true;
    for (auto& member : members_) {
      size_t count = 0;
      for (const auto& [subject, entries] : member->expected) {
        count += entries.size();
      }
      absl::Status arrived =
          member->recorder->WaitForCount(count, deadline - absl::Now());
      EXPECT_OK(arrived) << " at " << member->name;
      std::string diff = DescribeDifference(
          member->expected, BySubject(member->recorder->Lines()));
      EXPECT_EQ(diff, "") << " at " << member->name;
      all_good = all_good && arrived.ok() && diff.empty();
    }
    if (!all_good) FAIL() << "some members did not get what they should";
  }

  // A last message from `sender`: everyone in its group must see it right
  // where expected, which shows nothing unexpected came before it.
  void SendSentinel(Member& sender) {
    std::string text = absl::StrCat("sentinel from ", sender.name);
    ASSERT_OK(sender.client.SendLine(text));
    ExpectDelivered(sender, text);
    ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  }

  std::vector<std::unique_ptr<Member>> members_;
};

std::vector<std::pair<std::string, std::string>> OneGroup(
    const std::string& group, int count) {
  std::vector<std::pair<std::string, std::string>> who;
  for (int i = 0; i < count; ++i) {
    who.emplace_back(group, absl::StrFormat("u%02d", i));
  }
  return who;
}

TEST_F(BroadcastTest, EveryoneGetsEveryMessageOfEveryoneElseOnce) {
  ASSERT_NO_FATAL_FAILURE(JoinAll(OneGroup("room", 12)));
  for (int round = 0; round < 3; ++round) {
    for (auto& member : members_) {
      std::string text = absl::StrCat("round ", round, " from ", member->name);
      ASSERT_OK(member->client.SendLine(text));
      ExpectDelivered(*member, text);
    }
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.back()));
}

TEST_F(BroadcastTest, ConcurrentSendersArriveCompleteAndInOrder) {
  constexpr int kMessages = 500;
  ASSERT_NO_FATAL_FAILURE(JoinAll(OneGroup("room", 12)));
  // Consecutive joins went to consecutive workers, so these four members
  // (positions 1, 4, 6, 11: residues 1, 0, 2, 3 mod 4) send from all four.
  std::vector<Member*> senders = {members_[1].get(), members_[4].get(),
                                  members_[6].get(), members_[11].get()};
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(senders.size());
  for (size_t s = 0; s < senders.size(); ++s) {
    threads.emplace_back([&, s] {
      for (int seq = 0; seq < kMessages && results[s].ok(); ++seq) {
        results[s] = senders[s]->client.SendLine(
            NumberedMessage(senders[s]->name, seq), kDeliveryTimeout);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& result : results) EXPECT_OK(result);

  for (Member* sender : senders) {
    for (int seq = 0; seq < kMessages; ++seq) {
      ExpectDelivered(*sender, NumberedMessage(sender->name, seq));
    }
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.back()));
}

TEST_F(BroadcastTest, OtherGroupsReceiveNothing) {
  // Blocks of four consecutive joins per group put both groups on all four
  // workers: a0-a3, b0-b3, a4-a7, b4-b7.
  std::vector<std::pair<std::string, std::string>> who;
  for (int i = 0; i < 16; ++i) {
    bool alpha = (i / 4) % 2 == 0;
    int index = (i / 8) * 4 + i % 4;
    who.emplace_back(alpha ? "alpha" : "beta",
                     absl::StrCat(alpha ? "a" : "b", index));
  }
  ASSERT_NO_FATAL_FAILURE(JoinAll(who));

  for (int k = 0; k < 20; ++k) {
    for (auto& member : members_) {
      if (member->group != "alpha") continue;
      std::string text = absl::StrCat("secret ", k, " from ", member->name);
      ASSERT_OK(member->client.SendLine(text));
      ExpectDelivered(*member, text);
    }
  }
  // Alpha has everything, so the server has handed all of it out...
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  // ...and beta, fed by the same workers, still sees only its own lines.
  for (auto& member : members_) {
    if (member->group == "beta") {
      ASSERT_NO_FATAL_FAILURE(SendSentinel(*member));
      break;
    }
  }
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.back()));
}

TEST_F(BroadcastTest, ResetAnnouncesLeaveAfterTheLastMessage) {
  // Few but long lines: they keep the workers' output queues busy while
  // the reset arrives, and this test is about order, not send rate.
  constexpr int kMessages = 40;
  ASSERT_NO_FATAL_FAILURE(JoinAll(OneGroup("room", 9)));
  Member& leaver = *members_.back();
  const std::string leaver_name = leaver.name;
  Member& first = *members_.front();
  std::string padding(3000, 'p');
  for (int seq = 0; seq < kMessages; ++seq) {
    std::string text = absl::StrCat("last words ", seq, " ", padding);
    ASSERT_OK(leaver.client.SendLine(text));
    ExpectDelivered(leaver, text);
  }
  // Once one member has the final message, all of them have been handed
  // out; the others' workers may still be writing them when the reset
  // arrives, and the leave must queue up behind them.
  ASSERT_OK(first.recorder->WaitForCount(8 + kMessages, kDeliveryTimeout));
  ASSERT_OK(leaver.client.SetLingerZero());
  leaver.recorder.reset();  // Stop reading before closing under the reader.
  leaver.client.Close();
  members_.pop_back();
  for (auto& member : members_) member->expected[leaver_name].push_back(kLeft);

  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
}

TEST_F(BroadcastTest, ResetRightAfterSendingGivesEveryoneTheSamePrefix) {
  constexpr int kMessages = 40;
  ASSERT_NO_FATAL_FAILURE(JoinAll(OneGroup("room", 9)));
  const std::string leaver_name = members_.back()->name;
  std::vector<std::string> sent;
  for (int seq = 0; seq < kMessages; ++seq) {
    sent.push_back(absl::StrCat("going ", seq, " ", std::string(3000, 'q')));
    ASSERT_OK(members_.back()->client.SendLine(sent.back()));
  }
  // A reset may discard what the server had not read yet, so any prefix of
  // the messages is allowed, but the same one for everybody, then the leave.
  ASSERT_OK(members_.back()->client.SetLingerZero());
  members_.back()->recorder.reset();
  members_.back()->client.Close();
  members_.pop_back();

  const std::string left_line = absl::StrCat("* ", leaver_name, " has left");
  size_t delivered = 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& member = *members_[i];
    ASSERT_OK(member.recorder->WaitForLine(left_line, kDeliveryTimeout))
        << " at " << member.name;
    Transcript got = BySubject(member.recorder->Lines());
    std::vector<std::string>& stream = got[leaver_name];
    ASSERT_GE(stream.size(), 2u) << " at " << member.name;
    if (i == 0) delivered = stream.size() - 2;
    EXPECT_EQ(stream.size() - 2, delivered)
        << " at " << member.name << ": another member got a different prefix";
    std::vector<std::string> want = {kJoined};
    want.insert(want.end(), sent.begin(),
                sent.begin() + std::min(delivered, sent.size()));
    want.push_back(kLeft);
    member.expected[leaver_name] = want;
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
}

TEST_F(BroadcastTest, ConcurrentJoinsAreAnnouncedOnlyToEarlierMembers) {
  constexpr int kGroups = 4;
  constexpr int kPerGroup = 32;
  // Connect everyone first, then send all the JOINs back to back so that
  // joins to the same group race on different workers. Blocks of four
  // consecutive connections per group spread every group over all workers.
  for (int i = 0; i < kGroups * kPerGroup; ++i) {
    auto member = std::make_unique<Member>();
    member->group = absl::StrCat("race", (i / 4) % kGroups);
    member->name = absl::StrCat("r", i);
    ASSERT_OK(member->client.Connect(port()));
    members_.push_back(std::move(member));
  }
  for (auto& member : members_) {
    ASSERT_OK(member->client.SendLine(
        absl::StrCat("JOIN ", member->group, " ", member->name)));
  }
  for (auto& member : members_) {
    member->recorder = std::make_unique<LineRecorder>(&member->client);
  }

  // Joins to one group are serialized, so the welcome counts are 1..32, and
  // each member must hear of exactly those welcomed with a higher count: a
  // member welcomed with n already counts the n-1 before it.
  std::map<std::string, std::vector<Member*>> by_count;
  for (auto& member : members_) {
    ASSERT_OK(member->recorder->WaitForCount(1, kDeliveryTimeout));
    std::string welcome = member->recorder->Lines()[0];
    absl::string_view count = welcome;
    int online = 0;
    ASSERT_TRUE(
        absl::ConsumePrefix(&count, absl::StrCat("* you joined ", member->group,
                                                 " as ", member->name, " (")) &&
        absl::ConsumeSuffix(&count, " online)") &&
        absl::SimpleAtoi(count, &online) && online >= 1 && online <= kPerGroup)
        << welcome;
    std::vector<Member*>& slots = by_count[member->group];
    slots.resize(kPerGroup + 1);
    ASSERT_EQ(slots[online], nullptr)
        << member->name << " and " << slots[online]->name
        << " were both welcomed with " << online << " online";
    slots[online] = member.get();
    member->expected[kUnparsed] = {welcome};
  }
  for (auto& [group, slots] : by_count) {
    for (int online = 1; online <= kPerGroup; ++online) {
      for (int later = online + 1; later <= kPerGroup; ++later) {
        slots[online]->expected[slots[later]->name] = {kJoined};
      }
    }
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.back()));
}

TEST_F(BroadcastTest, JoinAnnouncedBeforeFirstMessageAndLeaveAfterLast) {
  ASSERT_NO_FATAL_FAILURE(JoinAll(OneGroup("room", 8)));
  // Eight newcomers, all at once, each pipelining its whole life in one
  // write: the server must still announce the join first and the leave last.
  std::vector<ChatClient> newcomers(8);
  for (size_t k = 0; k < newcomers.size(); ++k) {
    std::string name = absl::StrCat("new", k);
    ASSERT_OK(newcomers[k].Connect(port()));
    ASSERT_OK(newcomers[k].SendRaw(
        absl::StrCat("JOIN room ", name, "\nfirst from ", name,
                     "\nsecond from ", name, "\n/quit\n")));
    for (auto& member : members_) {
      member->expected[name] = {kJoined, absl::StrCat("first from ", name),
                                absl::StrCat("second from ", name), kLeft};
    }
  }
  for (size_t k = 0; k < newcomers.size(); ++k) {
    std::string name = absl::StrCat("new", k);
    std::string welcome = newcomers[k].NextLine();
    EXPECT_TRUE(
        absl::StartsWith(welcome, absl::StrCat("* you joined room as ", name)))
        << welcome;
    // Other newcomers may talk to it before it leaves; skip to the bye.
    absl::StatusOr<std::string> line;
    do {
      line = newcomers[k].ReadLine();
    } while (line.ok() && *line != "* bye");
    EXPECT_OK(line) << " waiting for " << name << "'s bye";
    EXPECT_OK(newcomers[k].ExpectClosed());
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
}

}  // namespace
}  // namespace chatd_test
