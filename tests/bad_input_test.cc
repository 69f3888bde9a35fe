// Throws bad input at the server, one table row per kind: malformed first
// lines of every sort, overlong lines with and without their newline (before
// and after joining), a line dribbled one byte per segment, thousands of lines
// in one write, binary garbage, a close in the middle of a line, a second
// JOIN, and floods of bytes after an error. Each row states the documented
// reply, whether the server then closes, and what the rest of the group gets.
//
// Every row runs against a fresh server holding a watching group ("g": a
// watcher and a helper) and a canary pair in another group. After the row a
// probe joins "g" (its welcome count shows whether the tester is a member and
// its announcement is the sentinel that must come next), the canaries still
// exchange messages, and the server process must still be running.

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/status_macros.h"

namespace chatd_test {
namespace {

constexpr char kExpectedJoin[] = "ERROR expected JOIN <group> <name>";
constexpr char kInvalidGroup[] = "ERROR invalid group name";
constexpr char kInvalidName[] = "ERROR invalid name";
constexpr char kLineTooLong[] = "ERROR line too long";
constexpr char kWelcome[] = "* you joined g as tester (3 online)";
constexpr size_t kMaxLine = 4096;  // The server's default --max_line_bytes.
// Big enough to keep the server reading for a while after it has answered.
constexpr size_t kFloodBytes = 1 << 20;

struct BadInputCase {
  std::string label;  // The gtest name: letters, digits and underscores.
  // The tester joins "g" as "tester" before the writes (the watcher and the
  // helper have seen it join).
  bool joined = false;
  // The writes themselves hold a valid JOIN as "tester" (replies then start
  // with the welcome), so the tester is a member afterwards.
  bool joins = false;
  std::vector<std::string> writes;  // One send() each...
  bool byte_by_byte = false;        // ...or one send() per byte.
  bool then_close = false;  // The tester closes its socket after the writes.
  std::vector<std::string> replies;  // What the tester gets, in order.
  bool closed = false;               // The server then ends the connection.
  // The message texts the rest of the group gets from the tester, in order.
  std::vector<std::string> delivered;
};

// Failure messages name the row; the bytes would be unreadable.
void PrintTo(const BadInputCase& c, std::ostream* os) { *os << c.label; }

std::string Bytes(const char* data, size_t size) {
  return std::string(data, size);
}

// `size` random bytes other than "\n" that make a valid message text: not
// starting with "/" (a command) and not ending in "\r" (which is dropped).
std::string RandomText(std::mt19937& rng, size_t size) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string text;
  while (text.size() < size) {
    char c = static_cast<char>(byte(rng));
    if (c == '\n') continue;
    if (text.empty() && c == '/') continue;
    if (text.size() + 1 == size && c == '\r') continue;
    text.push_back(c);
  }
  return text;
}

// Complete lines of `line`, repeated to about kFloodBytes.
std::string Flood(const std::string& line) {
  std::string flood;
  while (flood.size() < kFloodBytes) flood += line;
  return flood;
}

BadInputCase RejectedFirstLine(std::string label, std::string line,
                               std::string error) {
  BadInputCase c;
  c.label = std::move(label);
  c.writes = {std::move(line)};
  c.replies = {std::move(error)};
  c.closed = true;
  return c;
}

BadInputCase JoinedThen(std::string label, std::vector<std::string> writes,
                        std::vector<std::string> delivered) {
  BadInputCase c;
  c.label = std::move(label);
  c.joined = true;
  c.writes = std::move(writes);
  c.delivered = std::move(delivered);
  return c;
}

std::vector<BadInputCase> AllCases() {
  std::vector<BadInputCase> cases;
  auto rejected = [&](std::string label, std::string line, std::string error) {
    cases.push_back(
        RejectedFirstLine(std::move(label), std::move(line), std::move(error)));
  };

  // Not of the shape "JOIN <group> <name>".
  rejected("LowerCaseJoin", "join g tester\n", kExpectedJoin);
  rejected("MixedCaseJoin", "Join g tester\n", kExpectedJoin);
  rejected("LeadingSpace", " JOIN g tester\n", kExpectedJoin);
  rejected("TrailingSpace", "JOIN g tester \n", kExpectedJoin);
  rejected("TrailingSpaceCrLf", "JOIN g tester \r\n", kExpectedJoin);
  rejected("DoubleSpaceBeforeGroup", "JOIN  g tester\n", kExpectedJoin);
  rejected("DoubleSpaceBeforeName", "JOIN g  tester\n", kExpectedJoin);
  rejected("TabAfterJoin", "JOIN\tg tester\n", kExpectedJoin);
  rejected("TabBeforeName", "JOIN g\ttester\n", kExpectedJoin);
  rejected("TabsForSpaces", "JOIN\tg\ttester\n", kExpectedJoin);
  rejected("NoSpaceAfterJoin", "JOINg tester\n", kExpectedJoin);
  rejected("MissingName", "JOIN g\n", kExpectedJoin);
  rejected("EmptyName", "JOIN g \n", kExpectedJoin);
  rejected("EmptyGroupAndName", "JOIN  \n", kExpectedJoin);
  rejected("ExtraField", "JOIN g tester extra\n", kExpectedJoin);
  rejected("EmptyLine", "\n", kExpectedJoin);
  rejected("CrLfOnly", "\r\n", kExpectedJoin);
  rejected("NulOnly", Bytes("\0\n", 2), kExpectedJoin);
  rejected("NulBeforeJoin", Bytes("\0JOIN g tester\n", 15), kExpectedJoin);
  rejected("NonUtf8Line", "\xff\xfe\xfd\n", kExpectedJoin);
  rejected("CommandBeforeJoin", "/who\n", kExpectedJoin);
  // The right shape with a bad group...
  rejected("Group33Chars", "JOIN " + std::string(33, 'g') + " tester\n",
           kInvalidGroup);
  rejected("GroupIllegalChar", "JOIN g! tester\n", kInvalidGroup);
  rejected("GroupWithNul", Bytes("JOIN g\0x tester\n", 16), kInvalidGroup);
  rejected("GroupNonUtf8", "JOIN \xc3\x28 tester\n", kInvalidGroup);
  rejected("GroupUtf8Letter", "JOIN gr\xc3\xbcn tester\n", kInvalidGroup);
  // ...or a good group and a bad name.
  rejected("Name33Chars", "JOIN g " + std::string(33, 'n') + "\n",
           kInvalidName);
  rejected("NameIllegalChar", "JOIN g test@r\n", kInvalidName);
  rejected("NameWithNul", Bytes("JOIN g te\0ster\n", 15), kInvalidName);
  rejected("NameEndingInNul", Bytes("JOIN g tester\0\n", 15), kInvalidName);
  rejected("NameNonUtf8", "JOIN g \xff\xfe\n", kInvalidName);
  rejected("NameWithCrInside", "JOIN g te\rster\r\n", kInvalidName);

  // Overlong before joining, with and without the newline.
  rejected("OverlongFirstLine", std::string(kMaxLine + 1, 'x') + "\n",
           kLineTooLong);
  rejected("OverlongFirstLineNoNewline", std::string(kMaxLine + 1000, 'x'),
           kLineTooLong);
  rejected("OverlongJoin", "JOIN g " + std::string(kMaxLine, 'n') + "\n",
           kLineTooLong);
  // An endless first line: the answer comes long before the bytes stop.
  rejected("EndlessFirstLine", std::string(kFloodBytes, 'x'), kLineTooLong);

  // Binary garbage before joining: a first line of it, then more.
  {
    std::mt19937 rng(20240611);
    std::string garbage = "\x01" + RandomText(rng, 200) + "\n";
    for (int i = 0; i < 100; ++i) garbage += RandomText(rng, 600) + "\n";
    rejected("BinaryGarbageBeforeJoin", garbage, kExpectedJoin);
    rejected("BinaryGarbageNoNewline", RandomText(rng, 64 * 1024),
             kLineTooLong);
  }
  // Floods of bytes after an error: the ERROR line still arrives.
  rejected("FloodAfterBadJoin",
           "JoiN g tester\n" + Flood("more and more garbage after the error\n"),
           kExpectedJoin);
  rejected("FloodAfterInvalidName",
           "JOIN g b@d\n" + Flood(Bytes("\xff\x00\xfe\n", 4)), kInvalidName);

  // A line one byte per segment: the JOIN, and then a message.
  {
    BadInputCase c;
    c.label = "JoinOneBytePerSegment";
    c.joins = true;
    c.writes = {"JOIN g tester\r\n"};
    c.byte_by_byte = true;
    c.replies = {kWelcome};
    cases.push_back(c);
  }
  {
    BadInputCase c = JoinedThen("MessageOneBytePerSegment",
                                {"hello, one byte at a time\r\n"},
                                {"hello, one byte at a time"});
    c.byte_by_byte = true;
    cases.push_back(c);
  }
  // Thousands of lines in one write, all delivered in order.
  {
    std::string batch;
    std::vector<std::string> texts;
    for (int i = 0; i < 5000; ++i) {
      texts.push_back(absl::StrCat("line ", i, " of 5000"));
      absl::StrAppend(&batch, texts.back(), i % 2 == 0 ? "\n" : "\r\n");
    }
    cases.push_back(JoinedThen("FiveThousandLinesInOneWrite", {batch}, texts));
  }
  // Binary message texts (NULs, invalid UTF-8, control bytes) pass through.
  {
    std::mt19937 rng(7);
    std::string batch;
    std::vector<std::string> texts;
    for (int i = 0; i < 50; ++i) {
      texts.push_back(RandomText(rng, 1 + i * 40));
      absl::StrAppend(&batch, texts.back(), "\n");
    }
    cases.push_back(JoinedThen("BinaryMessages", {batch}, texts));
  }
  cases.push_back(JoinedThen("NulInsideMessage", {Bytes("nul\0inside\n", 11)},
                             {Bytes("nul\0inside", 10)}));
  cases.push_back(JoinedThen("CarriageReturnInside", {"a\rb\r\n"}, {"a\rb"}));
  cases.push_back(
      JoinedThen("EmptyLinesIgnored", {"\n\r\n\n\r\n", "after\n"}, {"after"}));
  cases.push_back(JoinedThen("MessageOfExactlyMax",
                             {std::string(kMaxLine, 'm') + "\r\n"},
                             {std::string(kMaxLine, 'm')}));
  {
    BadInputCase c = JoinedThen("UnknownCommand", {"/nick bob\n"}, {});
    c.replies = {"ERROR unknown command /nick"};
    cases.push_back(c);
  }
  // A second JOIN is an ordinary message, whether or not it arrives with
  // the first.
  cases.push_back(JoinedThen("JoinTwice", {"JOIN g tester\n", "JOIN h bob\n"},
                             {"JOIN g tester", "JOIN h bob"}));
  {
    BadInputCase c;
    c.label = "JoinTwiceInOneWrite";
    c.joins = true;
    c.writes = {"JOIN g tester\nJOIN g tester\n"};
    c.replies = {kWelcome};
    c.delivered = {"JOIN g tester"};
    cases.push_back(c);
  }

  // Overlong after joining, with and without the newline: what came before
  // is delivered, then the member leaves.
  {
    BadInputCase c = JoinedThen(
        "OverlongMessage", {"before\n" + std::string(kMaxLine + 1, 'm') + "\n"},
        {"before"});
    c.replies = {kLineTooLong};
    c.closed = true;
    cases.push_back(c);
  }
  {
    BadInputCase c =
        JoinedThen("OverlongMessageNoNewline",
                   {"before\n", std::string(kMaxLine + 1000, 'm')}, {"before"});
    c.replies = {kLineTooLong};
    c.closed = true;
    cases.push_back(c);
  }
  {
    BadInputCase c = JoinedThen(
        "FloodAfterOverlongMessage",
        {std::string(kMaxLine + 1, 'm') + "\n" + Flood("flood after error\n")},
        {});
    c.replies = {kLineTooLong};
    c.closed = true;
    cases.push_back(c);
  }
  {
    BadInputCase c = JoinedThen(
        "FloodAfterQuit", {"last\n/quit\n" + Flood("said after quitting\n")},
        {"last"});
    c.replies = {"* bye"};
    c.closed = true;
    cases.push_back(c);
  }

  // The client closes in the middle of a line: none of it is delivered.
  {
    BadInputCase c =
        JoinedThen("CloseMidLine", {"complete\npartial line that never ends"},
                   {"complete"});
    c.then_close = true;
    cases.push_back(c);
  }
  {
    BadInputCase c;
    c.label = "CloseMidJoin";
    c.writes = {"JOIN g tester"};
    c.then_close = true;
    cases.push_back(c);
  }
  return cases;
}

class BadInputTest : public ChatServerTest,
                     public ::testing::WithParamInterface<BadInputCase> {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ChatServerTest::SetUp());
    // Consecutive connections land on consecutive workers, so the canaries
    // and the watchers are spread over several.
    ASSERT_OK_AND_ASSIGN(canary_a_, Join("canary", "canary_a", 1));
    ASSERT_OK_AND_ASSIGN(canary_b_, Join("canary", "canary_b", 2));
    EXPECT_EQ(canary_a_.NextLine(), "* canary_b has joined");
    ASSERT_OK_AND_ASSIGN(watcher_, Join("g", "watcher", 1));
    ASSERT_OK_AND_ASSIGN(helper_, Join("g", "helper", 2));
    EXPECT_EQ(watcher_.NextLine(), "* helper has joined");
  }

  // The server still serves the canary pair, both ways.
  void ExpectCanariesStillTalk() {
    ASSERT_OK(canary_a_.SendLine("still there?"));
    EXPECT_EQ(canary_b_.NextLine(), "canary_a: still there?");
    ASSERT_OK(canary_b_.SendLine("yes"));
    EXPECT_EQ(canary_a_.NextLine(), "canary_b: yes");
  }

  ChatClient canary_a_;
  ChatClient canary_b_;
  ChatClient watcher_;
  ChatClient helper_;
};

TEST_P(BadInputTest, DocumentedReplyAndEveryoneElseStillServed) {
  const BadInputCase& c = GetParam();
  ChatClient tester;
  if (c.joined) {
    ASSERT_OK_AND_ASSIGN(tester, Join("g", "tester", 3));
    EXPECT_EQ(watcher_.NextLine(), "* tester has joined");
    EXPECT_EQ(helper_.NextLine(), "* tester has joined");
  } else {
    ASSERT_OK_AND_ASSIGN(tester, Connect());
  }

  for (const std::string& bytes : c.writes) {
    if (c.byte_by_byte) {
      for (char byte : bytes) ASSERT_OK(tester.SendRaw(std::string(1, byte)));
    } else {
      ASSERT_OK(tester.SendRaw(bytes));
    }
  }
  if (c.then_close) tester.Close();

  for (const std::string& reply : c.replies) {
    EXPECT_EQ(absl::CHexEscape(tester.NextLine()), absl::CHexEscape(reply));
  }
  if (c.closed) EXPECT_OK(tester.ExpectClosed());

  const bool member = (c.joined || c.joins) && !c.closed && !c.then_close;
  const bool left = (c.joined || c.joins) && !member;
  for (ChatClient* other : {&watcher_, &helper_}) {
    if (c.joins) EXPECT_EQ(other->NextLine(), "* tester has joined");
    for (const std::string& text : c.delivered) {
      ASSERT_EQ(absl::CHexEscape(other->NextLine()),
                absl::CHexEscape("tester: " + text));
    }
    if (left) EXPECT_EQ(other->NextLine(), "* tester has left");
  }

  // The probe's welcome count shows whether the tester is (still) a member,
  // and its announcement must be the next line everybody in "g" gets.
  absl::StatusOr<ChatClient> probe = Join("g", "probe", member ? 4 : 3);
  ASSERT_OK(probe);
  EXPECT_EQ(watcher_.NextLine(), "* probe has joined");
  EXPECT_EQ(helper_.NextLine(), "* probe has joined");
  if (member) {
    EXPECT_EQ(tester.NextLine(), "* probe has joined");
    // Nothing else was queued for the tester, and it is still served.
    ASSERT_OK(tester.SendLine("/who"));
    EXPECT_EQ(tester.NextLine(),
              "* online in g: helper, probe, tester, watcher");
    ASSERT_OK(tester.SendLine("sentinel"));
    EXPECT_EQ(watcher_.NextLine(), "tester: sentinel");
    EXPECT_EQ(probe->NextLine(), "tester: sentinel");
  }

  ExpectCanariesStillTalk();
  EXPECT_TRUE(server().IsRunning()) << "the server died";
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadInputTest, ::testing::ValuesIn(AllCases()),
    [](const ::testing::TestParamInfo<BadInputCase>& info) {
      return info.param.label;
    });

}  // namespace
}  // namespace chatd_test
