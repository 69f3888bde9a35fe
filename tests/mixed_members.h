// Group members on either kind of transport, and the check that each got
// exactly what the others sent it, once and in order per sender.
//
// A Member talks the line protocol (plain or TLS: a ChatClient) or
// WebSocket (ws or wss: a WsClient), with a recorder reading all the time.
// Tests note in each member's `expected` what it should have received by
// now, then CheckAllTranscripts() compares, per sender, with what arrived
// (see transcript.h). MixedMembersTest is a fixture with such a group and
// the steps its tests share.

#ifndef CHATD_TESTS_MIXED_MEMBERS_H_
#define CHATD_TESTS_MIXED_MEMBERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/line_recorder.h"
#include "tests/transcript.h"
#include "tests/ws_client.h"

namespace chatd_test {

// How long a send may block, and how long all members together may take to
// receive what they should.
inline constexpr absl::Duration kMixedDeliveryTimeout = absl::Seconds(30);

struct Member {
  std::string name;
  bool ws = false;        // WebSocket (`socket`) rather than line (`line`).
  std::string transport;  // For Describe(): "line", "wss", ...
  ChatClient line;
  WsClient socket;
  std::unique_ptr<LineRecorder> recorder;  // Reads `line` or `socket`.
  Transcript expected;  // What it should have received by now.

  absl::Status Send(const std::string& text,
                    absl::Duration timeout = kMixedDeliveryTimeout);
  void StartRecording();
  absl::Status WaitForCount(size_t count, absl::Duration timeout);
  absl::Status WaitForLine(const std::string& text, absl::Duration timeout);
  std::vector<std::string> Lines() const;
  // Whether its connection ended.
  bool Ended() const;
  // "name (transport)".
  std::string Describe() const;
};

using Members = std::vector<std::unique_ptr<Member>>;

// Records that every member but `sender` should get `text` from it.
void ExpectDelivered(Members& members, const Member& sender,
                     const std::string& text);

// Waits until every member has as many lines as expected, then compares.
// One deadline for all, and a fatal failure at the end, so that a broken
// server fails the test once instead of timing out member by member. With
// `expect_open`, a member whose connection ended fails the check too.
void CheckAllTranscripts(Members& members, bool expect_open,
                         absl::Duration timeout = kMixedDeliveryTimeout);

// A fixture with a freshly started chatd per test and `members_`, the
// members of one group so far, on any transports.
class MixedMembersTest : public ChatServerTest {
 protected:
  // With `expect_open`, CheckAllTranscripts() also fails for a member whose
  // connection ended.
  explicit MixedMembersTest(bool expect_open) : expect_open_(expect_open) {}

  // A new member, not connected yet, whose join every member so far now
  // expects; connect it, then Add() it.
  std::unique_ptr<Member> Newcomer(const std::string& name, bool ws,
                                   const std::string& transport);
  // Starts recording for a connected newcomer and adds it to members_.
  void Add(std::unique_ptr<Member> member);

  void ExpectDelivered(const Member& sender, const std::string& text) {
    chatd_test::ExpectDelivered(members_, sender, text);
  }
  void CheckAllTranscripts() {
    chatd_test::CheckAllTranscripts(members_, expect_open_);
  }
  // A last message from `sender`: every other member must see it right
  // where expected, which shows nothing unexpected came before it.
  void SendSentinel(Member& sender);

  // Each of `senders` sends NumberedMessage(its name, 0 .. count - 1) on a
  // thread of its own, all at once, stopping at its first failure; every
  // other member is then expected to get all of them. The outcome of each
  // sender's sends.
  std::vector<absl::Status> SendNumberedAtOnce(
      const std::vector<Member*>& senders, int count);

  std::vector<std::unique_ptr<Member>> members_;

 private:
  const bool expect_open_;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_MIXED_MEMBERS_H_
