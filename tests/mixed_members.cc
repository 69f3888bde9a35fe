#include "tests/mixed_members.h"

#include <gtest/gtest.h>

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tests/numbered_message.h"
#include "tests/status_macros.h"

namespace chatd_test {

absl::Status Member::Send(const std::string& text, absl::Duration timeout) {
  return ws ? socket.SendText(text, timeout) : line.SendLine(text, timeout);
}

void Member::StartRecording() {
  if (ws) {
    WsClient* const client = &socket;
    recorder = std::make_unique<LineRecorder>(
        [client](absl::Duration timeout) { return client->ReadLine(timeout); });
  } else {
    recorder = std::make_unique<LineRecorder>(&line);
  }
}

absl::Status Member::WaitForCount(size_t count, absl::Duration timeout) {
  return recorder->WaitForCount(count, timeout);
}

absl::Status Member::WaitForLine(const std::string& text,
                                 absl::Duration timeout) {
  return recorder->WaitForLine(text, timeout);
}

std::vector<std::string> Member::Lines() const { return recorder->Lines(); }

bool Member::Ended() const {
  return recorder->WaitForEnd(absl::ZeroDuration()).ok();
}

std::string Member::Describe() const {
  return absl::StrCat(name, " (", transport, ")");
}

void ExpectDelivered(Members& members, const Member& sender,
                     const std::string& text) {
  for (auto& member : members) {
    if (member.get() != &sender) {
      member->expected[sender.name].push_back(text);
    }
  }
}

void CheckAllTranscripts(Members& members, bool expect_open,
                         absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  bool all_good = true;
  for (auto& member : members) {
    size_t count = 0;
    for (const auto& [subject, entries] : member->expected) {
      count += entries.size();
    }
    absl::Status arrived = member->WaitForCount(count, deadline - absl::Now());
    EXPECT_OK(arrived) << " at " << member->Describe();
    std::string diff =
        DescribeDifference(member->expected, BySubject(member->Lines()));
    EXPECT_EQ(diff, "") << " at " << member->Describe();
    if (expect_open) {
      EXPECT_FALSE(member->Ended())
          << member->Describe() << " lost its connection";
    }
    all_good = all_good && arrived.ok() && diff.empty();
  }
  if (!all_good) FAIL() << "some members did not get what they should";
}

std::unique_ptr<Member> MixedMembersTest::Newcomer(
    const std::string& name, bool ws, const std::string& transport) {
  for (auto& member : members_) member->expected[name].push_back(kJoined);
  auto member = std::make_unique<Member>();
  member->name = name;
  member->ws = ws;
  member->transport = transport;
  return member;
}

void MixedMembersTest::Add(std::unique_ptr<Member> member) {
  member->StartRecording();
  members_.push_back(std::move(member));
}

void MixedMembersTest::SendSentinel(Member& sender) {
  const std::string text = absl::StrCat("sentinel from ", sender.name);
  ASSERT_OK(sender.Send(text));
  ExpectDelivered(sender, text);
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
}

std::vector<absl::Status> MixedMembersTest::SendNumberedAtOnce(
    const std::vector<Member*>& senders, int count) {
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(senders.size());
  for (size_t s = 0; s < senders.size(); ++s) {
    threads.emplace_back([&, s] {
      for (int seq = 0; seq < count && results[s].ok(); ++seq) {
        results[s] = senders[s]->Send(NumberedMessage(senders[s]->name, seq));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (Member* sender : senders) {
    for (int seq = 0; seq < count; ++seq) {
      ExpectDelivered(*sender, NumberedMessage(sender->name, seq));
    }
  }
  return results;
}

}  // namespace chatd_test
