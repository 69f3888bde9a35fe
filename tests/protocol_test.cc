// One test per rule of the chat protocol, each against a fresh server.
//
// Absence of a line is never proven by waiting: a test that must show a
// client got nothing has another member send a sentinel and checks that the
// sentinel is the very next line, relying on per-sender ordering.

#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/status_macros.h"

namespace chatd_test {
namespace {

constexpr char kExpectedJoin[] = "ERROR expected JOIN <group> <name>";

using ProtocolTest = ChatServerTest;

// The example session from the README: two users talk, one is killed.
TEST_F(ProtocolTest, Walkthrough) {
  absl::StatusOr<ChatClient> tim = Join("cooking", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("cooking", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(tim->SendLine("hi bob, any idea for dinner?"));
  EXPECT_EQ(bob->NextLine(), "tim: hi bob, any idea for dinner?");
  ASSERT_OK(bob->SendLine("pasta!"));
  // No echo: tim's next line is bob's reply, not his own message.
  EXPECT_EQ(tim->NextLine(), "bob: pasta!");

  bob->Close();
  EXPECT_EQ(tim->NextLine(), "* bob has left");
}

TEST_F(ProtocolTest, MessageGoesToEveryOtherMemberWithoutEcho) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  absl::StatusOr<ChatClient> ann = Join("g", "ann", 3);
  ASSERT_OK(ann);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");
  EXPECT_EQ(tim->NextLine(), "* ann has joined");
  EXPECT_EQ(bob->NextLine(), "* ann has joined");

  ASSERT_OK(tim->SendLine("hello all"));
  EXPECT_EQ(bob->NextLine(), "tim: hello all");
  EXPECT_EQ(ann->NextLine(), "tim: hello all");
  ASSERT_OK(bob->SendLine("sentinel"));
  EXPECT_EQ(tim->NextLine(), "bob: sentinel");
  EXPECT_EQ(ann->NextLine(), "bob: sentinel");
}

// Anything that is not "JOIN <group> <name>" with single spaces.
class BadFirstLineTest : public ChatServerTest,
                         public ::testing::WithParamInterface<std::string> {};

TEST_P(BadFirstLineTest, RejectedWithExpectedJoinAndClosed) {
  absl::StatusOr<ChatClient> client = Connect();
  ASSERT_OK(client);
  ASSERT_OK(client->SendRaw(GetParam()));
  EXPECT_EQ(client->NextLine(), kExpectedJoin);
  EXPECT_OK(client->ExpectClosed());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, BadFirstLineTest,
    ::testing::Values("JoiN a b\n", "join a b\n", "Not a valid first message\n",
                      "JOIN cooking\n", "JOIN\n", "JOIN \n", "JOINa b\n",
                      "JOIN  a b\n", "JOIN a  b\n", " JOIN a b\n",
                      "JOIN a b \n", "JOIN a b extra\n", "JOIN a b c\n",
                      "JOIN\ta b\n", "JOIN a\tb\n", "\n", "\r\n", "/who\n",
                      "/quit\n"));

class BadGroupTest : public ChatServerTest,
                     public ::testing::WithParamInterface<std::string> {};

TEST_P(BadGroupTest, RejectedWithInvalidGroupAndClosed) {
  absl::StatusOr<ChatClient> client = Connect();
  ASSERT_OK(client);
  ASSERT_OK(client->SendLine(GetParam()));
  EXPECT_EQ(client->NextLine(), "ERROR invalid group name");
  EXPECT_OK(client->ExpectClosed());
}

INSTANTIATE_TEST_SUITE_P(
    Groups, BadGroupTest,
    ::testing::Values("JOIN bad!group bob", "JOIN gr/oup bob",
                      "JOIN gr:oup bob", "JOIN gr\xc3\xbcp bob",
                      "JOIN " + std::string(33, 'g') + " bob",
                      // The group is checked before the name.
                      "JOIN bad! bad!",
                      "JOIN " + std::string(33, 'g') + " " +
                          std::string(33, 'n')));

class BadNameTest : public ChatServerTest,
                    public ::testing::WithParamInterface<std::string> {};

TEST_P(BadNameTest, RejectedWithInvalidNameAndClosed) {
  absl::StatusOr<ChatClient> client = Connect();
  ASSERT_OK(client);
  ASSERT_OK(client->SendLine(GetParam()));
  EXPECT_EQ(client->NextLine(), "ERROR invalid name");
  EXPECT_OK(client->ExpectClosed());
}

INSTANTIATE_TEST_SUITE_P(Names, BadNameTest,
                         ::testing::Values("JOIN g b@d", "JOIN g na:me",
                                           "JOIN g n\xc3\xa4me", "JOIN g *",
                                           "JOIN g " + std::string(33, 'n')));

TEST_F(ProtocolTest, LongestNamesAndEveryAllowedCharacterAccepted) {
  std::string group = "Az09_.-" + std::string(25, 'G');  // 32 characters.
  std::string name = "-._90zA" + std::string(25, 'n');   // 32 characters.
  absl::StatusOr<ChatClient> first = Join(group, name, 1);
  EXPECT_OK(first);
  absl::StatusOr<ChatClient> second = Join(group, "x", 2);
  EXPECT_OK(second);
}

TEST_F(ProtocolTest, JoinWithCrlfAccepted) {
  absl::StatusOr<ChatClient> tim = Connect();
  ASSERT_OK(tim);
  ASSERT_OK(tim->SendRaw("JOIN g tim\r\n"));
  EXPECT_EQ(tim->NextLine(), "* you joined g as tim (1 online)");
}

TEST_F(ProtocolTest, NameTakenRejectedAndClosed) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> impostor = Connect();
  ASSERT_OK(impostor);
  ASSERT_OK(impostor->SendLine("JOIN g tim"));
  EXPECT_EQ(impostor->NextLine(), "ERROR name taken");
  EXPECT_OK(impostor->ExpectClosed());

  // The rejected client never counted as a member, and the real tim was
  // told nothing about it: his next line is bob's arrival.
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");
  ASSERT_OK(tim->SendLine("still the real tim"));
  EXPECT_EQ(bob->NextLine(), "tim: still the real tim");
}

// One namespace of names for the whole server, whatever the group.
TEST_F(ProtocolTest, NameTakenInAnotherGroupRejectedAndClosed) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> other = Connect();
  ASSERT_OK(other);
  ASSERT_OK(other->SendLine("JOIN h tim"));
  EXPECT_EQ(other->NextLine(), "ERROR name taken");
  EXPECT_OK(other->ExpectClosed());
  // Free again once tim leaves.
  ASSERT_OK(tim->SendLine("/quit"));
  EXPECT_EQ(tim->NextLine(), "* bye");
  ASSERT_OK(JoinEventually("h", "tim", 1, "ERROR name taken"));
}

// Names and group names compare ASCII-case-insensitively; a group is shown
// as first written, a name as its member wrote it.
TEST_F(ProtocolTest, NamesAndGroupsIgnoreCase) {
  absl::StatusOr<ChatClient> tim = Join("Cooking", "Tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> impostor = Connect();
  ASSERT_OK(impostor);
  ASSERT_OK(impostor->SendLine("JOIN cooking tim"));
  EXPECT_EQ(impostor->NextLine(), "ERROR name taken");
  absl::StatusOr<ChatClient> ann = Connect();
  ASSERT_OK(ann);
  ASSERT_OK(ann->SendLine("JOIN COOKING Ann"));
  EXPECT_EQ(ann->NextLine(), "* you joined Cooking as Ann (2 online)");
  EXPECT_EQ(tim->NextLine(), "* Ann has joined");
  ASSERT_OK(ann->SendLine("/who"));
  EXPECT_EQ(ann->NextLine(), "* online in Cooking: Ann, Tim");
  ASSERT_OK(ann->SendLine("hi Tim"));
  EXPECT_EQ(tim->NextLine(), "Ann: hi Tim");
}

TEST_F(ProtocolTest, WhoListsMembersInByteOrderToAskerOnly) {
  // Byte order puts digits before upper case before '_' before lower case.
  std::vector<std::string> names = {"tim", "Bob", "alice",
                                    "_z",  "Zed", "9lives"};
  std::vector<ChatClient> members;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StatusOr<ChatClient> member =
        Join("g", names[i], static_cast<int>(i) + 1);
    ASSERT_OK(member);
    members.push_back(*std::move(member));
  }
  ChatClient& tim = members[0];
  ChatClient& alice = members[2];
  for (size_t i = 3; i < names.size(); ++i) {
    EXPECT_EQ(alice.NextLine(), absl::StrCat("* ", names[i], " has joined"));
  }
  for (size_t i = 1; i < names.size(); ++i) {
    EXPECT_EQ(tim.NextLine(), absl::StrCat("* ", names[i], " has joined"));
  }

  const std::string list = "* online in g: 9lives, Bob, Zed, _z, alice, tim";
  ASSERT_OK(alice.SendLine("/who"));
  EXPECT_EQ(alice.NextLine(), list);
  ASSERT_OK(tim.SendLine("/who ignores its arguments"));
  EXPECT_EQ(tim.NextLine(), list);
  // Nobody else saw either command: alice's next line is tim's message.
  ASSERT_OK(tim.SendLine("done"));
  EXPECT_EQ(alice.NextLine(), "tim: done");
}

TEST_F(ProtocolTest, WhoWhenAlone) {
  absl::StatusOr<ChatClient> tim = Join("solo", "tim", 1);
  ASSERT_OK(tim);
  ASSERT_OK(tim->SendLine("/who"));
  EXPECT_EQ(tim->NextLine(), "* online in solo: tim");
}

TEST_F(ProtocolTest, QuitSaysByeClosesAndAnnouncesLeave) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  // Lines after /quit in the same write are never delivered.
  ASSERT_OK(bob->SendRaw("/quit\nafter quit\n"));
  EXPECT_EQ(bob->NextLine(), "* bye");
  EXPECT_OK(bob->ExpectClosed());
  EXPECT_EQ(tim->NextLine(), "* bob has left");

  absl::StatusOr<ChatClient> ann = Join("g", "ann", 2);
  ASSERT_OK(ann);
  EXPECT_EQ(tim->NextLine(), "* ann has joined");
}

TEST_F(ProtocolTest, QuitIgnoresArguments) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(bob->SendLine("/quit see you later"));
  EXPECT_EQ(bob->NextLine(), "* bye");
  EXPECT_OK(bob->ExpectClosed());
  EXPECT_EQ(tim->NextLine(), "* bob has left");
}

TEST_F(ProtocolTest, DoubleSlashSendsMessageWithOneSlashRemoved) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(tim->SendLine("//me waves"));
  ASSERT_OK(tim->SendLine("//"));
  ASSERT_OK(tim->SendLine("///who"));
  ASSERT_OK(tim->SendLine("//quit"));
  EXPECT_EQ(bob->NextLine(), "tim: /me waves");
  EXPECT_EQ(bob->NextLine(), "tim: /");
  EXPECT_EQ(bob->NextLine(), "tim: //who");
  EXPECT_EQ(bob->NextLine(), "tim: /quit");
  // No reply or echo to the sender, and he is still connected.
  ASSERT_OK(bob->SendLine("sentinel"));
  EXPECT_EQ(tim->NextLine(), "bob: sentinel");
}

TEST_F(ProtocolTest, UnknownCommandIsAnErrorButKeepsConnection) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(tim->SendLine("/dance wildly now"));
  EXPECT_EQ(tim->NextLine(), "ERROR unknown command /dance");
  // The command word must match exactly, not by prefix or ignoring case.
  ASSERT_OK(tim->SendLine("/whoami"));
  EXPECT_EQ(tim->NextLine(), "ERROR unknown command /whoami");
  ASSERT_OK(tim->SendLine("/WHO"));
  EXPECT_EQ(tim->NextLine(), "ERROR unknown command /WHO");
  ASSERT_OK(tim->SendLine("/quitting"));
  EXPECT_EQ(tim->NextLine(), "ERROR unknown command /quitting");

  // Still connected and still a member; bob saw none of the commands.
  ASSERT_OK(tim->SendLine("still here"));
  EXPECT_EQ(bob->NextLine(), "tim: still here");
  ASSERT_OK(tim->SendLine("/who"));
  EXPECT_EQ(tim->NextLine(), "* online in g: bob, tim");
}

TEST_F(ProtocolTest, EmptyLinesAfterJoinAreIgnored) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(tim->SendRaw("\n\r\n\n\r\nreal\n"));
  EXPECT_EQ(bob->NextLine(), "tim: real");
  // No error came back for the empty lines either.
  ASSERT_OK(bob->SendLine("sentinel"));
  EXPECT_EQ(tim->NextLine(), "bob: sentinel");
}

TEST_F(ProtocolTest, OnlyTheCarriageReturnBeforeNewlineIsDropped) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(tim->SendRaw("hello\r\n"));
  ASSERT_OK(tim->SendRaw("a\rb\r\n"));
  ASSERT_OK(tim->SendRaw("x\r\r\n"));
  ASSERT_OK(tim->SendRaw("\rleading\n"));
  EXPECT_EQ(bob->NextLine(), "tim: hello");
  EXPECT_EQ(bob->NextLine(), "tim: a\rb");
  EXPECT_EQ(bob->NextLine(), "tim: x\r");
  EXPECT_EQ(bob->NextLine(), "tim: \rleading");
  // Commands work with CRLF too.
  ASSERT_OK(tim->SendRaw("/who\r\n"));
  EXPECT_EQ(tim->NextLine(), "* online in g: bob, tim");
}

TEST_F(ProtocolTest, BytesPassThroughUnchanged) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  static constexpr char kText[] =
      "caf\xc3\xa9 \t tab \x01 \xff\xfe nul\0byte  two  ";
  const std::string text(kText, sizeof(kText) - 1);  // Keeps the NUL.
  ASSERT_OK(tim->SendLine(text));
  EXPECT_EQ(bob->NextLine(), "tim: " + text);
}

TEST_F(ProtocolTest, SecondJoinIsAnOrdinaryMessage) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(tim->SendLine("JOIN other tom"));
  EXPECT_EQ(bob->NextLine(), "tim: JOIN other tom");
  ASSERT_OK(tim->SendLine("/who"));
  EXPECT_EQ(tim->NextLine(), "* online in g: bob, tim");
}

TEST_F(ProtocolTest, SeveralLinesInOneWrite) {
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 1);
  ASSERT_OK(bob);
  absl::StatusOr<ChatClient> tim = Connect();
  ASSERT_OK(tim);
  ASSERT_OK(tim->SendRaw("JOIN g tim\nfirst\nsecond\n/who\nthird\n"));
  EXPECT_EQ(tim->NextLine(), "* you joined g as tim (2 online)");
  EXPECT_EQ(tim->NextLine(), "* online in g: bob, tim");
  EXPECT_EQ(bob->NextLine(), "* tim has joined");
  EXPECT_EQ(bob->NextLine(), "tim: first");
  EXPECT_EQ(bob->NextLine(), "tim: second");
  EXPECT_EQ(bob->NextLine(), "tim: third");
}

TEST_F(ProtocolTest, LineSplitAcrossManyWrites) {
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 1);
  ASSERT_OK(bob);
  absl::StatusOr<ChatClient> tim = Connect();
  ASSERT_OK(tim);
  // One byte per write (TCP_NODELAY is on, so mostly one byte per segment).
  for (char c : std::string("JOIN g tim\r\nhello world\r\n")) {
    ASSERT_OK(tim->SendRaw(std::string(1, c)));
  }
  EXPECT_EQ(tim->NextLine(), "* you joined g as tim (2 online)");
  EXPECT_EQ(bob->NextLine(), "* tim has joined");
  EXPECT_EQ(bob->NextLine(), "tim: hello world");
}

TEST_F(ProtocolTest, DefaultLineLimitIs4096Bytes) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  const std::string longest(4096, 'x');
  ASSERT_OK(tim->SendLine(longest));
  EXPECT_EQ(bob->NextLine(), "tim: " + longest);
  ASSERT_OK(tim->SendLine(longest + "y"));
  EXPECT_EQ(tim->NextLine(), "ERROR line too long");
  EXPECT_OK(tim->ExpectClosed());
  EXPECT_EQ(bob->NextLine(), "* tim has left");
}

TEST_F(ProtocolTest, HalfCloseStillDeliversTheLastLine) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(bob->SendLine("last words"));
  ASSERT_OK(bob->ShutdownWrite());
  EXPECT_EQ(tim->NextLine(), "bob: last words");
  EXPECT_EQ(tim->NextLine(), "* bob has left");
  EXPECT_OK(bob->ExpectClosed());
}

TEST_F(ProtocolTest, HalfCloseRightAfterJoin) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> carl = Connect();
  ASSERT_OK(carl);
  ASSERT_OK(carl->SendRaw("JOIN g carl\nhello\n"));
  ASSERT_OK(carl->ShutdownWrite());
  EXPECT_EQ(carl->NextLine(), "* you joined g as carl (2 online)");
  EXPECT_OK(carl->ExpectClosed());
  EXPECT_EQ(tim->NextLine(), "* carl has joined");
  EXPECT_EQ(tim->NextLine(), "carl: hello");
  EXPECT_EQ(tim->NextLine(), "* carl has left");
}

TEST_F(ProtocolTest, UnterminatedBytesAtEofAreDiscarded) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(bob->SendRaw("complete\nno newline here"));
  ASSERT_OK(bob->ShutdownWrite());
  EXPECT_EQ(tim->NextLine(), "bob: complete");
  EXPECT_EQ(tim->NextLine(), "* bob has left");
  // Nothing of the unterminated text arrived after the leave either.
  absl::StatusOr<ChatClient> ann = Join("g", "ann", 2);
  ASSERT_OK(ann);
  EXPECT_EQ(tim->NextLine(), "* ann has joined");
}

TEST_F(ProtocolTest, UnterminatedJoinAtEofIsDiscarded) {
  absl::StatusOr<ChatClient> carl = Connect();
  ASSERT_OK(carl);
  ASSERT_OK(carl->SendRaw("JOIN g carl"));
  ASSERT_OK(carl->ShutdownWrite());
  EXPECT_OK(carl->ExpectClosed());
  // carl never joined, so the group is empty and the name is free.
  absl::StatusOr<ChatClient> tim = Join("g", "carl", 1);
  EXPECT_OK(tim);
}

TEST_F(ProtocolTest, ResetAnnouncesLeave) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(bob->SetLingerZero());
  bob->Close();
  EXPECT_EQ(tim->NextLine(), "* bob has left");
}

TEST_F(ProtocolTest, ClosingBeforeJoiningAnnouncesNothing) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> lurker = Connect();
  ASSERT_OK(lurker);
  lurker->Close();
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");
}

TEST_F(ProtocolTest, NameIsFreedWhenItsOwnerLeaves) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(bob->SendLine("/quit"));
  EXPECT_EQ(bob->NextLine(), "* bye");
  EXPECT_EQ(tim->NextLine(), "* bob has left");
  // Once the group has been told bob left, he is no longer a member.
  absl::StatusOr<ChatClient> bob_again = Join("g", "bob", 2);
  ASSERT_OK(bob_again);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");
}

TEST_F(ProtocolTest, GroupIsForgottenWhenItsLastMemberLeaves) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");
  ASSERT_OK(bob->SendLine("/quit"));
  EXPECT_EQ(bob->NextLine(), "* bye");
  EXPECT_EQ(tim->NextLine(), "* bob has left");
  ASSERT_OK(tim->SendLine("/quit"));
  EXPECT_EQ(tim->NextLine(), "* bye");
  EXPECT_OK(tim->ExpectClosed());

  // Nobody is left to observe the leave, so allow the server a moment to
  // process it; the count must then restart at 1.
  absl::StatusOr<ChatClient> tim_again =
      JoinEventually("g", "tim", 1, "ERROR name taken");
  ASSERT_OK(tim_again);
  ASSERT_OK(tim_again->SendLine("/who"));
  EXPECT_EQ(tim_again->NextLine(), "* online in g: tim");
}

TEST_F(ProtocolTest, ShutdownNotifiesEveryClientAndExitsZero) {
  // Eight members (two per group) cover all four worker threads.
  std::vector<ChatClient> members;
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<ChatClient> member =
        Join(absl::StrCat("g", i / 2), absl::StrCat("u", i), i % 2 + 1);
    ASSERT_OK(member);
    members.push_back(*std::move(member));
  }
  for (int i = 0; i < 8; i += 2) {
    EXPECT_EQ(members[i].NextLine(), absl::StrCat("* u", i + 1, " has joined"));
  }

  absl::StatusOr<int> exit_code = StopServer();
  ASSERT_OK(exit_code);
  EXPECT_EQ(*exit_code, 0);
  for (ChatClient& member : members) {
    EXPECT_EQ(member.NextLine(), "* server shutting down");
    EXPECT_OK(member.ExpectClosed());
  }
}

TEST_F(ProtocolTest, SigintShutsDownLikeSigterm) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> ann = Join("h", "ann", 1);
  ASSERT_OK(ann);

  absl::StatusOr<int> exit_code = StopServer(SIGINT);
  ASSERT_OK(exit_code);
  EXPECT_EQ(*exit_code, 0);
  EXPECT_EQ(tim->NextLine(), "* server shutting down");
  EXPECT_OK(tim->ExpectClosed());
  EXPECT_EQ(ann->NextLine(), "* server shutting down");
  EXPECT_OK(ann->ExpectClosed());
}

// A small limit makes the boundary easy to reach with a JOIN line too.
class LineLimitTest : public ChatServerTest {
 protected:
  static constexpr int kMax = 64;
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.max_line_bytes = kMax;
    return options;
  }
};

TEST_F(LineLimitTest, JoinLineOfExactlyMaxAccepted) {
  // "JOIN " + 32 + " " + 26 = 64 bytes.
  const std::string group(32, 'g');
  const std::string name(26, 'n');
  ASSERT_EQ(absl::StrCat("JOIN ", group, " ", name).size(), kMax);
  absl::StatusOr<ChatClient> first = Join(group, name, 1);
  EXPECT_OK(first);
  // The dropped "\r" does not count.
  absl::StatusOr<ChatClient> second = Connect();
  ASSERT_OK(second);
  const std::string other_name(26, 'm');
  ASSERT_OK(
      second->SendRaw(absl::StrCat("JOIN ", group, " ", other_name, "\r\n")));
  EXPECT_EQ(second->NextLine(), absl::StrCat("* you joined ", group, " as ",
                                             other_name, " (2 online)"));
}

TEST_F(LineLimitTest, LineOverMaxBeforeJoinRejected) {
  absl::StatusOr<ChatClient> client = Connect();
  ASSERT_OK(client);
  ASSERT_OK(client->SendLine(std::string(kMax + 1, 'x')));
  EXPECT_EQ(client->NextLine(), "ERROR line too long");
  EXPECT_OK(client->ExpectClosed());
}

TEST_F(LineLimitTest, JoinLineOverMaxRejectedAsTooLong) {
  // 65 bytes; too long wins over any other complaint about the JOIN.
  const std::string line =
      absl::StrCat("JOIN ", std::string(32, 'g'), " ", std::string(27, 'n'));
  ASSERT_EQ(line.size(), kMax + 1);
  absl::StatusOr<ChatClient> client = Connect();
  ASSERT_OK(client);
  ASSERT_OK(client->SendRaw(line + "\r\n"));
  EXPECT_EQ(client->NextLine(), "ERROR line too long");
  EXPECT_OK(client->ExpectClosed());
}

TEST_F(LineLimitTest, MessageOfExactlyMaxAccepted) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  const std::string longest(kMax, 'a');
  ASSERT_OK(tim->SendLine(longest));
  ASSERT_OK(tim->SendRaw(std::string(kMax, 'b') + "\r\n"));
  EXPECT_EQ(bob->NextLine(), "tim: " + longest);
  EXPECT_EQ(bob->NextLine(), "tim: " + std::string(kMax, 'b'));
  ASSERT_OK(tim->SendLine("/who"));
  EXPECT_EQ(tim->NextLine(), "* online in g: bob, tim");
}

TEST_F(LineLimitTest, MessageOverMaxRejectedAndMemberLeaves) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");

  ASSERT_OK(tim->SendLine("before"));
  ASSERT_OK(tim->SendRaw(std::string(kMax + 1, 'a') + "\r\n"));
  EXPECT_EQ(tim->NextLine(), "ERROR line too long");
  EXPECT_OK(tim->ExpectClosed());
  EXPECT_EQ(bob->NextLine(), "tim: before");
  EXPECT_EQ(bob->NextLine(), "* tim has left");
}

TEST_F(LineLimitTest, OverlongLineRejectedBeforeItsNewline) {
  // The server must not buffer an endless line waiting for its "\n".
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  ASSERT_OK(tim->SendRaw(std::string(4 * kMax, 'z')));
  EXPECT_EQ(tim->NextLine(), "ERROR line too long");
  EXPECT_OK(tim->ExpectClosed());
}

class ServerFullTest : public ChatServerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.max_connections = 3;
    return options;
  }
};

TEST_F(ServerFullTest, ExtraConnectionRejectedUntilOneLeaves) {
  absl::StatusOr<ChatClient> tim = Join("g", "tim", 1);
  ASSERT_OK(tim);
  absl::StatusOr<ChatClient> bob = Join("g", "bob", 2);
  ASSERT_OK(bob);
  absl::StatusOr<ChatClient> ann = Join("g", "ann", 3);
  ASSERT_OK(ann);
  EXPECT_EQ(tim->NextLine(), "* bob has joined");
  EXPECT_EQ(tim->NextLine(), "* ann has joined");
  EXPECT_EQ(bob->NextLine(), "* ann has joined");

  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<ChatClient> extra = Connect();
    ASSERT_OK(extra);
    EXPECT_EQ(extra->NextLine(), "ERROR server full");
    EXPECT_OK(extra->ExpectClosed());
  }

  // The members were not disturbed.
  ASSERT_OK(tim->SendLine("still working"));
  EXPECT_EQ(bob->NextLine(), "tim: still working");
  EXPECT_EQ(ann->NextLine(), "tim: still working");

  ASSERT_OK(ann->SendLine("/quit"));
  EXPECT_EQ(ann->NextLine(), "* bye");
  EXPECT_OK(ann->ExpectClosed());
  EXPECT_EQ(tim->NextLine(), "* ann has left");
  // The freed slot is taken back on the server's side of the close.
  absl::StatusOr<ChatClient> carl =
      JoinEventually("g", "carl", 3, "ERROR server full");
  ASSERT_OK(carl);
  EXPECT_EQ(tim->NextLine(), "* carl has joined");
  ASSERT_OK(carl->SendLine("made it"));
  EXPECT_EQ(tim->NextLine(), "carl: made it");
}

}  // namespace
}  // namespace chatd_test
