#include "core/irc_message.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chatd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

bool IsContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Whether `view` lies inside `outer` (an empty view must still point into it
// or just past it, so that callers can compute offsets).
bool IsSubrange(absl::string_view view, absl::string_view outer) {
  return view.data() >= outer.data() &&
         view.data() + view.size() <= outer.data() + outer.size();
}

std::vector<std::string> Params(const IrcMessage& message) {
  return std::vector<std::string>(message.params.begin(), message.params.end());
}

TEST(ParseIrcMessageTest, TagsSourceCommandAndParams) {
  const std::string line =
      "@time=2024-01-01T00:00:00Z;+draft/reply=abc :nick!user@host PRIVMSG "
      "#chan :hello there: world :)";
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage(line, &message), IrcParseResult::kOk);
  EXPECT_EQ(message.tags, "time=2024-01-01T00:00:00Z;+draft/reply=abc");
  EXPECT_EQ(message.source, "nick!user@host");
  EXPECT_EQ(message.command, "PRIVMSG");
  EXPECT_THAT(Params(message), ElementsAre("#chan", "hello there: world :)"));
  EXPECT_TRUE(message.has_trailing);
  EXPECT_TRUE(IsSubrange(message.tags, line));
  EXPECT_TRUE(IsSubrange(message.source, line));
  EXPECT_TRUE(IsSubrange(message.command, line));
  for (absl::string_view param : message.params) {
    EXPECT_TRUE(IsSubrange(param, line));
  }
}

TEST(ParseIrcMessageTest, CommandOnly) {
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage("PING", &message), IrcParseResult::kOk);
  EXPECT_EQ(message.tags, "");
  EXPECT_EQ(message.source, "");
  EXPECT_EQ(message.command, "PING");
  EXPECT_THAT(message.params, IsEmpty());
  EXPECT_FALSE(message.has_trailing);
}

TEST(ParseIrcMessageTest, CommandKeptAsSent) {
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage("privMsg #a b", &message), IrcParseResult::kOk);
  EXPECT_EQ(message.command, "privMsg");
  ASSERT_EQ(ParseIrcMessage(":irc.example 001 nick :Welcome", &message),
            IrcParseResult::kOk);
  EXPECT_EQ(message.command, "001");
  EXPECT_THAT(Params(message), ElementsAre("nick", "Welcome"));
}

TEST(ParseIrcMessageTest, MiddleParamsWithoutTrailing) {
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage("MODE #a +b x:y", &message), IrcParseResult::kOk);
  EXPECT_THAT(Params(message), ElementsAre("#a", "+b", "x:y"));
  EXPECT_FALSE(message.has_trailing);
}

TEST(ParseIrcMessageTest, EmptyTrailing) {
  const std::string line = "PRIVMSG #a :";
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage(line, &message), IrcParseResult::kOk);
  EXPECT_THAT(Params(message), ElementsAre("#a", ""));
  EXPECT_TRUE(message.has_trailing);
  EXPECT_TRUE(IsSubrange(message.params.back(), line));
}

TEST(ParseIrcMessageTest, TrailingOnly) {
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage("QUIT :gone  fishing ", &message),
            IrcParseResult::kOk);
  EXPECT_THAT(Params(message), ElementsAre("gone  fishing "));
  EXPECT_TRUE(message.has_trailing);
  ASSERT_EQ(ParseIrcMessage("USER a 0 * ::colon first", &message),
            IrcParseResult::kOk);
  EXPECT_THAT(Params(message), ElementsAre("a", "0", "*", ":colon first"));
}

TEST(ParseIrcMessageTest, MultipleSpacesSeparate) {
  IrcMessage message;
  ASSERT_EQ(
      ParseIrcMessage("@a=b   :src   PRIVMSG   #a    b   :x  y", &message),
      IrcParseResult::kOk);
  EXPECT_EQ(message.tags, "a=b");
  EXPECT_EQ(message.source, "src");
  EXPECT_EQ(message.command, "PRIVMSG");
  EXPECT_THAT(Params(message), ElementsAre("#a", "b", "x  y"));
  EXPECT_TRUE(message.has_trailing);
}

TEST(ParseIrcMessageTest, LeadingAndTrailingSpaces) {
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage("  NICK  bob  ", &message), IrcParseResult::kOk);
  EXPECT_EQ(message.command, "NICK");
  EXPECT_THAT(Params(message), ElementsAre("bob"));
  EXPECT_FALSE(message.has_trailing);
}

std::string NumberedParams(int from, int to) {
  std::vector<std::string> params;
  for (int i = from; i <= to; ++i) params.push_back(absl::StrCat("p", i));
  return absl::StrJoin(params, " ");
}

TEST(ParseIrcMessageTest, FifteenMiddleParams) {
  const std::string line = "CMD " + NumberedParams(1, 15);
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage(line, &message), IrcParseResult::kOk);
  ASSERT_EQ(message.params.size(), 15u);
  EXPECT_EQ(message.params[0], "p1");
  EXPECT_EQ(message.params[13], "p14");
  EXPECT_EQ(message.params[14], "p15");
  EXPECT_FALSE(message.has_trailing);
}

TEST(ParseIrcMessageTest, RestAfterFourteenMiddlesIsTheFifteenth) {
  const std::string line =
      "CMD " + NumberedParams(1, 14) + "   p15 p16  :p17 p18  ";
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage(line, &message), IrcParseResult::kOk);
  ASSERT_EQ(message.params.size(), 15u);
  EXPECT_EQ(message.params[13], "p14");
  EXPECT_EQ(message.params[14], "p15 p16  :p17 p18  ");
  EXPECT_FALSE(message.has_trailing);
}

TEST(ParseIrcMessageTest, TrailingAfterFourteenMiddles) {
  const std::string line = "CMD " + NumberedParams(1, 14) + " :a b";
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage(line, &message), IrcParseResult::kOk);
  ASSERT_EQ(message.params.size(), 15u);
  EXPECT_EQ(message.params[14], "a b");
  EXPECT_TRUE(message.has_trailing);
}

TEST(ParseIrcMessageTest, TrailingAfterThirteenMiddles) {
  const std::string line = "CMD " + NumberedParams(1, 13) + " :a b";
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage(line, &message), IrcParseResult::kOk);
  ASSERT_EQ(message.params.size(), 14u);
  EXPECT_EQ(message.params[13], "a b");
  EXPECT_TRUE(message.has_trailing);
}

TEST(ParseIrcMessageTest, Utf8Passes) {
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage("PRIVMSG #café :grüße 😀 €", &message),
            IrcParseResult::kOk);
  EXPECT_THAT(Params(message), ElementsAre("#café", "grüße 😀 €"));
}

TEST(ParseIrcMessageTest, Empty) {
  IrcMessage message;
  EXPECT_EQ(ParseIrcMessage("", &message), IrcParseResult::kEmpty);
  EXPECT_EQ(ParseIrcMessage(" ", &message), IrcParseResult::kEmpty);
  EXPECT_EQ(ParseIrcMessage(std::string(600, ' '), &message),
            IrcParseResult::kEmpty);
}

TEST(ParseIrcMessageTest, ForbiddenBytesAreMalformed) {
  IrcMessage message;
  using namespace std::string_literals;
  EXPECT_EQ(ParseIrcMessage("PRIVMSG #a :hi\0there"s, &message),
            IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("\0"s, &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("PRIVMSG #a :hi\rthere", &message),
            IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("PRIVMSG #a :hi\nthere", &message),
            IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("@a=\0 PING"s, &message),
            IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage(" \r", &message), IrcParseResult::kMalformed);
}

TEST(ParseIrcMessageTest, ForbiddenBytesWinOverLength) {
  IrcMessage message;
  EXPECT_EQ(ParseIrcMessage(std::string(600, 'x') + "\r", &message),
            IrcParseResult::kMalformed);
}

TEST(ParseIrcMessageTest, PrefixWithNothingAfterIt) {
  IrcMessage message;
  EXPECT_EQ(ParseIrcMessage("@", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("@ PING", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage(":", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage(": PING", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("@a=b :", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("  :  ", &message), IrcParseResult::kMalformed);
}

TEST(ParseIrcMessageTest, NoCommand) {
  IrcMessage message;
  EXPECT_EQ(ParseIrcMessage(":nick!u@h", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage(":nick!u@h   ", &message),
            IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("@a=b", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("@a=b   ", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(ParseIrcMessage("@a=b :nick", &message),
            IrcParseResult::kMalformed);
}

std::string TagsOfSize(size_t size) {
  return "a=" + std::string(size - 2, 'x');
}

TEST(ParseIrcMessageTest, TagSectionAtLimit) {
  const std::string tags = TagsOfSize(kIrcMaxTagBytes);
  const std::string line = "@" + tags + " PING";
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage(line, &message), IrcParseResult::kOk);
  EXPECT_EQ(message.tags, tags);
  EXPECT_EQ(message.command, "PING");
}

TEST(ParseIrcMessageTest, TagSectionOneOver) {
  IrcMessage message;
  EXPECT_EQ(ParseIrcMessage("@" + TagsOfSize(kIrcMaxTagBytes + 1) + " PING",
                            &message),
            IrcParseResult::kTooLong);
  // Without any command: the length is what a server can report.
  EXPECT_EQ(ParseIrcMessage("@" + TagsOfSize(kIrcMaxTagBytes + 1), &message),
            IrcParseResult::kTooLong);
}

std::string BodyOfSize(size_t size) {
  const std::string head = "PRIVMSG #a :";
  return head + std::string(size - head.size(), 'x');
}

TEST(ParseIrcMessageTest, BodyAtLimit) {
  IrcMessage message;
  const std::string body = BodyOfSize(kIrcMaxBodyBytes);
  ASSERT_EQ(ParseIrcMessage(body, &message), IrcParseResult::kOk);
  EXPECT_EQ(message.params.back().size(), kIrcMaxBodyBytes - 12);
  const std::string tags = TagsOfSize(kIrcMaxTagBytes);
  EXPECT_EQ(ParseIrcMessage("@" + tags + " " + body, &message),
            IrcParseResult::kOk);
}

TEST(ParseIrcMessageTest, BodyOneOver) {
  IrcMessage message;
  const std::string body = BodyOfSize(kIrcMaxBodyBytes + 1);
  EXPECT_EQ(ParseIrcMessage(body, &message), IrcParseResult::kTooLong);
  EXPECT_EQ(ParseIrcMessage("@a=b " + body, &message),
            IrcParseResult::kTooLong);
}

TEST(ParseIrcMessageTest, ExtraSpacesAfterTagsCountAsBody) {
  IrcMessage message;
  EXPECT_EQ(
      ParseIrcMessage("@a=b  " + BodyOfSize(kIrcMaxBodyBytes - 1), &message),
      IrcParseResult::kOk);
  EXPECT_EQ(ParseIrcMessage("@a=b  " + BodyOfSize(kIrcMaxBodyBytes), &message),
            IrcParseResult::kTooLong);
}

TEST(ParseIrcMessageTest, OutIsClearedAndReused) {
  IrcMessage message;
  ASSERT_EQ(ParseIrcMessage("@t=1 :src CMD " + NumberedParams(1, 14) + " :x",
                            &message),
            IrcParseResult::kOk);
  ASSERT_EQ(message.params.size(), 15u);
  const absl::string_view* storage = message.params.data();

  ASSERT_EQ(ParseIrcMessage("PING", &message), IrcParseResult::kOk);
  EXPECT_EQ(message.tags, "");
  EXPECT_EQ(message.source, "");
  EXPECT_THAT(message.params, IsEmpty());
  EXPECT_FALSE(message.has_trailing);
  EXPECT_EQ(message.params.data(), storage);

  ASSERT_EQ(ParseIrcMessage("@t=1 :src CMD a :x", &message),
            IrcParseResult::kOk);
  EXPECT_EQ(ParseIrcMessage(":src", &message), IrcParseResult::kMalformed);
  EXPECT_EQ(message.tags, "");
  EXPECT_EQ(message.source, "");
  EXPECT_EQ(message.command, "");
  EXPECT_THAT(message.params, IsEmpty());
  EXPECT_FALSE(message.has_trailing);
}

TEST(ParseIrcTagsTest, SplitsKeysAndValues) {
  std::vector<IrcTag> tags;
  ASSERT_TRUE(
      ParseIrcTags("a=b;+c;d=;example.com/e=f\\sg;+x.org/y=1=2", &tags));
  ASSERT_EQ(tags.size(), 5u);
  EXPECT_EQ(tags[0].key, "a");
  EXPECT_EQ(tags[0].value, "b");
  EXPECT_EQ(tags[1].key, "+c");
  EXPECT_EQ(tags[1].value, "");
  EXPECT_EQ(tags[2].key, "d");
  EXPECT_EQ(tags[2].value, "");
  EXPECT_EQ(tags[3].key, "example.com/e");
  EXPECT_EQ(tags[3].value, "f\\sg");
  EXPECT_EQ(tags[4].key, "+x.org/y");
  EXPECT_EQ(tags[4].value, "1=2");
}

TEST(ParseIrcTagsTest, KeepsRepeatsAndClearsOut) {
  std::vector<IrcTag> tags = {{"stale", "x"}};
  ASSERT_TRUE(ParseIrcTags("a=1;a=2", &tags));
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].value, "1");
  EXPECT_EQ(tags[1].value, "2");
  ASSERT_TRUE(ParseIrcTags("", &tags));
  EXPECT_THAT(tags, IsEmpty());
}

TEST(ParseIrcTagsTest, RejectsMalformed) {
  std::vector<IrcTag> tags;
  using namespace std::string_literals;
  for (const std::string& bad : {
           "=b"s,  // Empty key.
           "+"s,   // Nothing after the client prefix.
           "+=x"s,
           "a;"s,  // Empty tag.
           "a;;b"s, ";a"s,
           "a_b=c"s,  // Byte outside the key set.
           "a b=c"s,
           "a++b"s,            // '+' only as the prefix.
           "\xc3\xa9=1"s,      // Non-ASCII key.
           "/foo=1"s,          // Vendor prefix with no vendor,
           "example.com/=1"s,  // or no name after it,
           "a/b/c=1"s,         // or two of them.
           "a=b c"s,           // Forbidden in values.
           "a=b\0c"s, "a=b\rc"s, "a=b\nc"s,
           "ok=1;bad key=2"s,  // A bad tag after a good one.
       }) {
    EXPECT_FALSE(ParseIrcTags(bad, &tags)) << bad;
  }
}

TEST(ClientTagsToRelayTest, KeepsOnlyClientTagsInOrder) {
  EXPECT_EQ(ClientTagsToRelay("time=x;+typing=active;msgid=1;+draft/react=:)"),
            "+typing=active;+draft/react=:)");
  EXPECT_EQ(ClientTagsToRelay("+a;b;+example.com/c=d"), "+a;+example.com/c=d");
}

TEST(ClientTagsToRelayTest, NoneGivesEmpty) {
  EXPECT_EQ(ClientTagsToRelay(""), "");
  EXPECT_EQ(ClientTagsToRelay("time=x;msgid=1"), "");
  EXPECT_EQ(ClientTagsToRelay("+bad_key=1;+"), "");
}

TEST(ClientTagsToRelayTest, RepeatedKeyKeepsLastValueAtFirstPlace) {
  EXPECT_EQ(ClientTagsToRelay("+a=1;+b=2;+a=3"), "+a=3;+b=2");
  EXPECT_EQ(ClientTagsToRelay("+a=1;+a"), "+a");
  EXPECT_EQ(ClientTagsToRelay("+a=1;+A=2"), "+a=1;+A=2");  // Case-sensitive.
}

TEST(ClientTagsToRelayTest, DropsMalformedTags) {
  EXPECT_EQ(ClientTagsToRelay("+a=1;+bad_key=2;;+c;+d=x y;+e=\\s"),
            "+a=1;+c;+e=\\s");
  // A repeat that is malformed does not replace the good value.
  EXPECT_EQ(ClientTagsToRelay("+a=1;+a=x y"), "+a=1");
}

TEST(ClientTagsToRelayTest, NeverLongerThanInput) {
  for (const absl::string_view tags :
       {"+a", "+a;;;", ";+a;", "+a=1;+a=22;+a=333", "+a=333;+a=1", "x;+y;z"}) {
    const std::string relay = ClientTagsToRelay(tags);
    EXPECT_LE(relay.size(), tags.size()) << tags;
    std::vector<IrcTag> parsed;
    EXPECT_TRUE(ParseIrcTags(relay, &parsed)) << tags;
  }
}

TEST(TagValueEscapingTest, Escape) {
  EXPECT_EQ(EscapeTagValue(""), "");
  EXPECT_EQ(EscapeTagValue("plain=value"), "plain=value");
  EXPECT_EQ(EscapeTagValue("a;b c\\d\re\nf"), "a\\:b\\sc\\\\d\\re\\nf");
}

TEST(TagValueEscapingTest, Unescape) {
  EXPECT_EQ(UnescapeTagValue("a\\:b\\sc\\\\d\\re\\nf"), "a;b c\\d\re\nf");
  EXPECT_EQ(UnescapeTagValue("\\\\s"), "\\s");
}

TEST(TagValueEscapingTest, UnescapeDropsLoneTrailingBackslash) {
  EXPECT_EQ(UnescapeTagValue("abc\\"), "abc");
  EXPECT_EQ(UnescapeTagValue("\\"), "");
  EXPECT_EQ(UnescapeTagValue("\\\\\\"), "\\");
}

TEST(TagValueEscapingTest, UnescapeUnknownEscapeIsTheCharacter) {
  EXPECT_EQ(UnescapeTagValue("\\x\\b\\S"), "xbS");
  EXPECT_EQ(UnescapeTagValue("\\;"), ";");
}

TEST(TagValueEscapingTest, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string escaped = EscapeTagValue(all);
  EXPECT_EQ(escaped.find_first_of(std::string(";\r\n ")), std::string::npos);
  EXPECT_EQ(UnescapeTagValue(escaped), all);
  EXPECT_EQ(UnescapeTagValue(EscapeTagValue("\\s\\:\\")), "\\s\\:\\");
}

TEST(TagValueEscapingTest, EscapedValueParsesAsTag) {
  const std::string value = "semi; space \\ cr\r lf\n";
  const std::string section = "+k=" + EscapeTagValue(value);
  std::vector<IrcTag> tags;
  ASSERT_TRUE(ParseIrcTags(section, &tags));
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(UnescapeTagValue(tags[0].value), value);
}

// Checks what every split must give: pieces of `text`, in order, none empty
// unless it is the only one, none longer than `max_bytes`.
void ExpectValidSplit(absl::string_view text, size_t max_bytes,
                      const std::vector<absl::string_view>& chunks) {
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(absl::StrJoin(chunks, ""), text);
  size_t offset = 0;
  for (absl::string_view chunk : chunks) {
    EXPECT_LE(chunk.size(), max_bytes);
    EXPECT_EQ(chunk.data(), text.data() + offset);
    if (chunks.size() > 1) EXPECT_FALSE(chunk.empty());
    offset += chunk.size();
  }
}

std::vector<std::string> Strings(const std::vector<absl::string_view>& chunks) {
  return std::vector<std::string>(chunks.begin(), chunks.end());
}

TEST(SplitForIrcTest, EmptyTextIsOneEmptyChunk) {
  EXPECT_THAT(Strings(SplitForIrc("", 10)), ElementsAre(""));
}

TEST(SplitForIrcTest, ShortTextIsOneChunk) {
  EXPECT_THAT(Strings(SplitForIrc("abc", 10)), ElementsAre("abc"));
  EXPECT_THAT(Strings(SplitForIrc("abcdefghij", 10)),
              ElementsAre("abcdefghij"));
}

TEST(SplitForIrcTest, AsciiWithoutSpacesCutsAtMax) {
  EXPECT_THAT(Strings(SplitForIrc("abcdefghijk", 10)),
              ElementsAre("abcdefghij", "k"));
  EXPECT_THAT(Strings(SplitForIrc("abcdefghij", 4)),
              ElementsAre("abcd", "efgh", "ij"));
}

TEST(SplitForIrcTest, CutsAfterLastSpace) {
  EXPECT_THAT(Strings(SplitForIrc("hello big world", 10)),
              ElementsAre("hello big ", "world"));
  EXPECT_THAT(Strings(SplitForIrc("ab cd ef", 4)),
              ElementsAre("ab ", "cd ", "ef"));
  // A space just past the cut is the next chunk's first byte.
  EXPECT_THAT(Strings(SplitForIrc("hello world", 5)),
              ElementsAre("hello", " ", "world"));
}

TEST(SplitForIrcTest, SpaceOnlyInTheLast64BytesOfAChunk) {
  const size_t max = 200;
  // Cut at 200 without the space: its window is bytes [136, 200).
  for (const size_t space : {135u, 136u, 150u, 199u}) {
    std::string text(300, 'x');
    text[space] = ' ';
    const std::vector<absl::string_view> chunks = SplitForIrc(text, max);
    ExpectValidSplit(text, max, chunks);
    ASSERT_EQ(chunks.size(), 2u) << space;
    EXPECT_EQ(chunks[0].size(), space >= 136 ? space + 1 : max) << space;
  }
}

TEST(SplitForIrcTest, MultibyteCutsMoveBackToLeadByte) {
  // 'é' is C3 A9, '€' E2 82 AC, '😀' F0 9F 98 80.
  EXPECT_THAT(Strings(SplitForIrc("abc\xc3\xa9", 4)),
              ElementsAre("abc", "\xc3\xa9"));
  EXPECT_THAT(Strings(SplitForIrc("ab\xe2\x82\xac", 4)),
              ElementsAre("ab", "\xe2\x82\xac"));
  EXPECT_THAT(Strings(SplitForIrc("a\xf0\x9f\x98\x80", 4)),
              ElementsAre("a", "\xf0\x9f\x98\x80"));
  EXPECT_THAT(Strings(SplitForIrc("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 4)),
              ElementsAre("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"));
}

// Every cut offset: each multibyte character in turn starts 0..width-1 bytes
// before the cut. With no spaces, each chunk must end at the last character
// boundary at or before `max_bytes`.
void ExpectGreedyBoundaries(absl::string_view character) {
  for (size_t pad = 0; pad < 8; ++pad) {
    std::string text(pad, 'a');
    for (int i = 0; i < 40; ++i)
      text.append(character.data(), character.size());
    for (size_t max = 4; max <= 20; ++max) {
      SCOPED_TRACE(
          absl::StrCat("width ", character.size(), " pad ", pad, " max ", max));
      const std::vector<absl::string_view> chunks = SplitForIrc(text, max);
      ExpectValidSplit(text, max, chunks);
      size_t pos = 0;
      for (size_t i = 0; i + 1 < chunks.size(); ++i) {
        size_t expected_end = pos + max;
        while (IsContinuation(text[expected_end])) --expected_end;
        EXPECT_EQ(pos + chunks[i].size(), expected_end);
        pos += chunks[i].size();
      }
      for (absl::string_view chunk : chunks) {
        EXPECT_FALSE(IsContinuation(chunk.front()));
        // Ends on a whole character: the bytes after the last lead byte
        // complete its sequence.
        size_t lead = chunk.size() - 1;
        while (IsContinuation(chunk[lead])) --lead;
        const unsigned char b = chunk[lead];
        const size_t width = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        EXPECT_EQ(chunk.size() - lead, width);
      }
    }
  }
}

TEST(SplitForIrcTest, TwoByteUtf8AtEveryOffset) {
  ExpectGreedyBoundaries("\xc3\xa9");
}

TEST(SplitForIrcTest, ThreeByteUtf8AtEveryOffset) {
  ExpectGreedyBoundaries("\xe2\x82\xac");
}

TEST(SplitForIrcTest, FourByteUtf8AtEveryOffset) {
  ExpectGreedyBoundaries("\xf0\x9f\x98\x80");
}

TEST(SplitForIrcTest, MultibyteWithSpaces) {
  const std::string text =
      "gr\xc3\xbc\xc3\x9f"
      "e \xf0\x9f\x98\x80\xf0\x9f\x98\x80";
  // "grüße " is 8 bytes; a cut at 10 lands inside the first emoji, moves
  // back to 8, and the space before it is the last in the chunk.
  EXPECT_THAT(Strings(SplitForIrc(text, 10)),
              ElementsAre("gr\xc3\xbc\xc3\x9f"
                          "e ",
                          "\xf0\x9f\x98\x80\xf0\x9f\x98\x80"));
}

TEST(SplitForIrcTest, InvalidUtf8) {
  // Up to three stray continuation bytes: the cut still moves back, to the
  // byte before them.
  EXPECT_THAT(Strings(SplitForIrc("ab\x80\x80\x80", 4)),
              ElementsAre("a", "b\x80\x80\x80"));
  // More than three in a row: the lead byte is out of reach.
  EXPECT_THAT(Strings(SplitForIrc("a\x80\x80\x80\x80", 4)),
              ElementsAre("a\x80\x80\x80", "\x80"));
  EXPECT_THAT(Strings(SplitForIrc("a\x80\x80\x80\x80\x80", 4)),
              ElementsAre("a\x80\x80\x80", "\x80\x80"));
  const std::string continuations(20, '\x80');
  const std::vector<absl::string_view> chunks = SplitForIrc(continuations, 6);
  ExpectValidSplit(continuations, 6, chunks);
  EXPECT_THAT(Strings(chunks),
              ElementsAre(std::string(6, '\x80'), std::string(6, '\x80'),
                          std::string(6, '\x80'), std::string(2, '\x80')));
  // A lone lead byte is just a byte.
  EXPECT_THAT(Strings(SplitForIrc("\xf0\xf0\xf0\xf0\xf0", 4)),
              ElementsAre("\xf0\xf0\xf0\xf0", "\xf0"));
}

TEST(SplitForIrcTest, MaxBelowFourCountsAsFour) {
  EXPECT_THAT(Strings(SplitForIrc("abcdef", 1)), ElementsAre("abcd", "ef"));
}

TEST(SplitForIrcTest, LongMessageSplitsIntoFullChunks) {
  std::string text;
  for (int i = 0; i < 200; ++i) absl::StrAppend(&text, "word", i, " ");
  const size_t max = 400;
  const std::vector<absl::string_view> chunks = SplitForIrc(text, max);
  ExpectValidSplit(text, max, chunks);
  ASSERT_GT(chunks.size(), 2u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].back(), ' ') << i;
    EXPECT_GT(chunks[i].size(), max - 64) << i;
  }
}

TEST(TruncateForIrcTest, KeepsShortTextAndCutsLongBetweenCharacters) {
  EXPECT_EQ(TruncateForIrc("short", 10), "short");
  EXPECT_EQ(TruncateForIrc("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(TruncateForIrc("abcdefghijk", 10), "abcdefghij");
  // "é" is two bytes: a cut after its first byte moves before it.
  EXPECT_EQ(TruncateForIrc("abcdefghi\xC3\xA9", 10), "abcdefghi");
  // A space near the end is where the cut goes, as SplitForIrc cuts.
  EXPECT_EQ(TruncateForIrc("hello world again", 12), "hello world ");
}

}  // namespace
}  // namespace chatd
