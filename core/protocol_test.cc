#include "core/protocol.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/payload.h"

namespace chatd {
namespace {

using ::testing::TestWithParam;
using ::testing::ValuesIn;

const std::string kId32(32, 'x');
const std::string kId33(33, 'x');
// Every character allowed in an identifier.
constexpr absl::string_view kAllAllowed =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";

// --- IsValidIdentifier ------------------------------------------------------

TEST(IsValidIdentifierTest, AcceptsOneToThirtyTwoAllowedChars) {
  EXPECT_TRUE(IsValidIdentifier("a"));
  EXPECT_TRUE(IsValidIdentifier("_"));
  EXPECT_TRUE(IsValidIdentifier("."));
  EXPECT_TRUE(IsValidIdentifier("-"));
  EXPECT_TRUE(IsValidIdentifier("Z9"));
  EXPECT_TRUE(IsValidIdentifier(kId32));
  EXPECT_EQ(kMaxIdentifierBytes, 32u);
}

TEST(IsValidIdentifierTest, AcceptsEveryAllowedCharacterInChunksOf32) {
  for (size_t i = 0; i < kAllAllowed.size(); i += 32) {
    const absl::string_view chunk = kAllAllowed.substr(i, 32);
    EXPECT_TRUE(IsValidIdentifier(chunk)) << chunk;
  }
}

TEST(IsValidIdentifierTest, RejectsEveryOtherByte) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool allowed = kAllAllowed.find(c) != absl::string_view::npos;
    const std::string s(1, c);
    EXPECT_EQ(IsValidIdentifier(s), allowed) << "byte " << b;
    // And in the middle of otherwise valid text.
    EXPECT_EQ(IsValidIdentifier("ab" + s + "cd"), allowed) << "byte " << b;
  }
}

TEST(IsValidIdentifierTest, RejectsEmptyAndTooLong) {
  EXPECT_FALSE(IsValidIdentifier(""));
  EXPECT_FALSE(IsValidIdentifier(kId33));
  EXPECT_FALSE(IsValidIdentifier(std::string(100, 'a')));
}

// --- ParseJoin --------------------------------------------------------------

struct JoinCase {
  std::string line;
  bool ok;
  std::string group;   // When ok.
  std::string name;    // When ok.
  std::string reason;  // When not ok.
};

void PrintTo(const JoinCase& c, std::ostream* os) {
  *os << "\"" << absl::CHexEscape(c.line) << "\"";
}

JoinCase Valid(std::string line, std::string group, std::string name) {
  return {std::move(line), true, std::move(group), std::move(name), ""};
}

JoinCase Invalid(std::string line, absl::string_view reason) {
  return {std::move(line), false, "", "", std::string(reason)};
}

std::vector<JoinCase> JoinCases() {
  const std::string all1(kAllAllowed.substr(0, 32));
  const std::string all2(kAllAllowed.substr(32, 32));
  const std::string all3(kAllAllowed.substr(64));
  return {
      // Valid.
      Valid("JOIN cooking alice", "cooking", "alice"),
      Valid("JOIN a b", "a", "b"),
      Valid("JOIN " + kId32 + " " + kId32, kId32, kId32),
      Valid("JOIN " + all1 + " " + all2, all1, all2),
      Valid("JOIN " + all2 + " " + all3, all2, all3),
      Valid("JOIN _.- -._", "_.-", "-._"),
      Valid("JOIN JOIN JOIN", "JOIN", "JOIN"),
      Valid("JOIN Group-1.x user_2", "Group-1.x", "user_2"),

      // Wrong shape.
      Invalid("", kErrorExpectedJoin),
      Invalid("JoiN a b", kErrorExpectedJoin),
      Invalid("join a b", kErrorExpectedJoin),
      Invalid("JOINa b", kErrorExpectedJoin),
      Invalid("Not a valid first message", kErrorExpectedJoin),
      Invalid("JOIN", kErrorExpectedJoin),
      Invalid("JOIN ", kErrorExpectedJoin),
      Invalid("JOIN  ", kErrorExpectedJoin),
      Invalid("JOIN cooking", kErrorExpectedJoin),
      Invalid("JOIN cooking ", kErrorExpectedJoin),
      Invalid("JOIN  a b", kErrorExpectedJoin),
      Invalid("JOIN a  b", kErrorExpectedJoin),
      Invalid("JOIN a b ", kErrorExpectedJoin),
      Invalid("JOIN a b  ", kErrorExpectedJoin),
      Invalid("JOIN a b c", kErrorExpectedJoin),
      Invalid(" JOIN a b", kErrorExpectedJoin),
      Invalid("JOIN\ta\tb", kErrorExpectedJoin),
      Invalid("JOIN\ta b", kErrorExpectedJoin),
      Invalid("JOIN a\tb", kErrorExpectedJoin),
      Invalid("/who", kErrorExpectedJoin),
      // Shape is checked before the identifiers.
      Invalid("JOIN bad! name extra", kErrorExpectedJoin),
      Invalid("JOIN " + kId33 + " " + kId33 + " x", kErrorExpectedJoin),

      // Right shape, bad group.
      Invalid("JOIN " + kId33 + " alice", kErrorInvalidGroup),
      Invalid("JOIN co!ok alice", kErrorInvalidGroup),
      Invalid("JOIN a/b alice", kErrorInvalidGroup),
      Invalid("JOIN a,b alice", kErrorInvalidGroup),
      Invalid("JOIN a:b alice", kErrorInvalidGroup),
      Invalid(std::string("JOIN a\0b alice", 14), kErrorInvalidGroup),
      Invalid("JOIN caf\xc3\xa9 alice", kErrorInvalidGroup),
      Invalid("JOIN \xff alice", kErrorInvalidGroup),
      // Group is checked before the name.
      Invalid("JOIN bad! bad!", kErrorInvalidGroup),
      Invalid("JOIN " + kId33 + " " + kId33, kErrorInvalidGroup),

      // Right shape, bad name.
      Invalid("JOIN cooking " + kId33, kErrorInvalidName),
      Invalid("JOIN cooking al!ce", kErrorInvalidName),
      Invalid("JOIN cooking a:b", kErrorInvalidName),
      Invalid("JOIN cooking a@b", kErrorInvalidName),
      Invalid(std::string("JOIN cooking al\0ce", 18), kErrorInvalidName),
      Invalid(std::string("JOIN cooking alice\0", 19), kErrorInvalidName),
      Invalid("JOIN cooking J\xc3\xbcrgen", kErrorInvalidName),
      Invalid("JOIN cooking \x80", kErrorInvalidName),
  };
}

class ParseJoinTest : public TestWithParam<JoinCase> {};

TEST_P(ParseJoinTest, Parses) {
  const JoinCase& c = GetParam();
  const absl::StatusOr<JoinRequest> join = ParseJoin(c.line);
  if (c.ok) {
    ASSERT_TRUE(join.ok()) << join.status();
    EXPECT_EQ(join->group, c.group);
    EXPECT_EQ(join->name, c.name);
    // The fields are views into the line.
    EXPECT_GE(join->group.data(), c.line.data());
    EXPECT_LE(join->name.data() + join->name.size(),
              c.line.data() + c.line.size());
  } else {
    ASSERT_FALSE(join.ok());
    EXPECT_EQ(join.status().message(), c.reason);
  }
}

INSTANTIATE_TEST_SUITE_P(AllRules, ParseJoinTest, ValuesIn(JoinCases()));

TEST(ParseJoinReasonsTest, ReasonTextsAreExact) {
  EXPECT_EQ(kErrorExpectedJoin, "expected JOIN <group> <name>");
  EXPECT_EQ(kErrorInvalidGroup, "invalid group name");
  EXPECT_EQ(kErrorInvalidName, "invalid name");
  EXPECT_EQ(kErrorNameTaken, "name taken");
  EXPECT_EQ(kErrorLineTooLong, "line too long");
}

// --- ParseChatLine ----------------------------------------------------------

struct ChatCase {
  std::string line;
  ChatInput::Kind kind;
  std::string text;
};

void PrintTo(const ChatCase& c, std::ostream* os) {
  *os << "\"" << absl::CHexEscape(c.line) << "\"";
}

using Kind = ChatInput::Kind;

std::vector<ChatCase> ChatCases() {
  return {
      {"", Kind::kEmpty, ""},
      {"hello", Kind::kMessage, "hello"},
      {"hello world", Kind::kMessage, "hello world"},
      {" /who", Kind::kMessage, " /who"},
      {" ", Kind::kMessage, " "},
      {"JOIN a b", Kind::kMessage, "JOIN a b"},
      {"a/b", Kind::kMessage, "a/b"},
      {"/who", Kind::kWho, "/who"},
      {"/who extra args", Kind::kWho, "/who"},
      {"/who ", Kind::kWho, "/who"},
      {"/quit", Kind::kQuit, "/quit"},
      {"/quit now please", Kind::kQuit, "/quit"},
      {"//x", Kind::kMessage, "/x"},
      {"//", Kind::kMessage, "/"},
      {"//who", Kind::kMessage, "/who"},
      {"///quit", Kind::kMessage, "//quit"},
      {"// spaced out", Kind::kMessage, "/ spaced out"},
      {"/nick bob", Kind::kUnknownCommand, "/nick"},
      {"/nick", Kind::kUnknownCommand, "/nick"},
      {"/", Kind::kUnknownCommand, "/"},
      {"/ who", Kind::kUnknownCommand, "/"},
      {"/WHO", Kind::kUnknownCommand, "/WHO"},
      {"/whoami", Kind::kUnknownCommand, "/whoami"},
      {"/quitx", Kind::kUnknownCommand, "/quitx"},
      {"/who\targs", Kind::kUnknownCommand, "/who\targs"},
  };
}

class ParseChatLineTest : public TestWithParam<ChatCase> {};

TEST_P(ParseChatLineTest, Parses) {
  const ChatCase& c = GetParam();
  const ChatInput input = ParseChatLine(c.line);
  EXPECT_EQ(input.kind, c.kind);
  EXPECT_EQ(input.text, c.text);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, ParseChatLineTest, ValuesIn(ChatCases()));

// --- Format* ----------------------------------------------------------------

std::string Bytes(const PayloadRef& p) {
  EXPECT_TRUE(p);
  return p ? std::string(p->view()) : std::string();
}

TEST(FormatTest, Message) {
  EXPECT_EQ(Bytes(FormatMessage("alice", "hi there")), "alice: hi there\n");
  EXPECT_EQ(Bytes(FormatMessage("a", "")), "a: \n");
  EXPECT_EQ(Bytes(FormatMessage("bob", "/x")), "bob: /x\n");
  EXPECT_EQ(Bytes(FormatMessage("bob", std::string("x\0y", 3))),
            std::string("bob: x\0y\n", 9));
}

TEST(FormatTest, Welcome) {
  EXPECT_EQ(Bytes(FormatWelcome("cooking", "alice", 1)),
            "* you joined cooking as alice (1 online)\n");
  EXPECT_EQ(Bytes(FormatWelcome("g", "n", 12345)),
            "* you joined g as n (12345 online)\n");
}

TEST(FormatTest, Joined) {
  EXPECT_EQ(Bytes(FormatJoined("bob")), "* bob has joined\n");
}

TEST(FormatTest, Left) { EXPECT_EQ(Bytes(FormatLeft("bob")), "* bob has left\n"); }

TEST(FormatTest, WhoKeepsTheGivenOrder) {
  EXPECT_EQ(Bytes(FormatWho("cooking", {"a", "b", "c"})),
            "* online in cooking: a, b, c\n");
  EXPECT_EQ(Bytes(FormatWho("g", {"c", "a"})), "* online in g: c, a\n");
  EXPECT_EQ(Bytes(FormatWho("g", {"solo"})), "* online in g: solo\n");
}

TEST(FormatTest, Bye) { EXPECT_EQ(Bytes(FormatBye()), "* bye\n"); }

TEST(FormatTest, ShuttingDown) {
  EXPECT_EQ(Bytes(FormatShuttingDown()), "* server shutting down\n");
}

TEST(FormatTest, Error) {
  EXPECT_EQ(Bytes(FormatError(kErrorNameTaken)), "ERROR name taken\n");
  EXPECT_EQ(Bytes(FormatError(kErrorExpectedJoin)),
            "ERROR expected JOIN <group> <name>\n");
  EXPECT_EQ(Bytes(FormatError("unknown command /nick")),
            "ERROR unknown command /nick\n");
}

TEST(FormatTest, EachCallReturnsAFreshUnsharedPayload) {
  const PayloadRef a = FormatBye();
  const PayloadRef b = FormatBye();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(a->ref_count_for_testing(), 1);
  EXPECT_EQ(b->ref_count_for_testing(), 1);
  EXPECT_EQ(a->size(), 6u);
}

}  // namespace
}  // namespace chatd
