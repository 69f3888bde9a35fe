#include "core/chat_event.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "core/wire_class.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/payload.h"

namespace chatd {
namespace {

using Kind = ChatEvent::Kind;
using ::testing::ElementsAre;

constexpr ClassMask kLineBit = ClassBit(WireClass::kLine);
constexpr ClassMask kPlainBit = ClassBit(WireClass::kIrcPlain);
constexpr ClassMask kTimeBit = ClassBit(WireClass::kIrcTime);
constexpr ClassMask kTagsBit = ClassBit(WireClass::kIrcTags);

constexpr absl::string_view kTime = "2026-12-02T10:00:00.123Z";
constexpr absl::string_view kSrc = ":alice!alice@line.chatd ";
constexpr absl::string_view kIrcSrc = ":ann!annu@irc.chatd ";

absl::Time StampTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 12, 2, 10, 0, 0),
                         absl::UTCTimeZone()) +
         absl::Milliseconds(123);
}

EventStamp Stamp(absl::string_view msgid = "m1") {
  return EventStamp{StampTime(), msgid};
}

ChatEvent Event(Kind kind, absl::string_view text = "",
                absl::string_view group = "cooking") {
  ChatEvent e;
  e.kind = kind;
  e.source = EventSource{"alice", "alice", kLineHost};
  e.group = group;
  e.text = text;
  return e;
}

// The payload's bytes, or "<null>".
std::string Bytes(const PayloadRef& p) {
  return p ? std::string(p->view()) : "<null>";
}

std::string Form(const ChatEvent& e, WireClass c,
                 const EventStamp& stamp = Stamp()) {
  return Bytes(RenderEvent(e, ClassBit(c), stamp).For(c));
}

std::string LineOf(const ChatEvent& e) { return Form(e, WireClass::kLine); }
std::string PlainOf(const ChatEvent& e) {
  return Form(e, WireClass::kIrcPlain);
}

TEST(FormatServerTimeTest, MillisecondsAndZulu) {
  EXPECT_EQ(FormatServerTime(StampTime()), kTime);
  EXPECT_EQ(FormatServerTime(absl::FromUnixSeconds(0)),
            "1970-01-01T00:00:00.000Z");
}

// --- The line form ----------------------------------------------------------

TEST(RenderLineTest, EachKind) {
  EXPECT_EQ(LineOf(Event(Kind::kMessage, "hi")), "alice: hi\n");
  EXPECT_EQ(LineOf(Event(Kind::kNotice, "hi")), "alice: hi\n");
  EXPECT_EQ(LineOf(Event(Kind::kAction, "waves")), "* alice waves\n");
  EXPECT_EQ(LineOf(Event(Kind::kJoin)), "* alice has joined\n");
  EXPECT_EQ(LineOf(Event(Kind::kPart)), "* alice has left\n");
  EXPECT_EQ(LineOf(Event(Kind::kPart, "bye")), "* alice has left\n");
  EXPECT_EQ(LineOf(Event(Kind::kQuit, "Quit: bye", "")), "* alice has left\n");
  ChatEvent kick = Event(Kind::kKick, "spam");
  kick.source.nick = "bob";
  kick.target = "alice";
  EXPECT_EQ(LineOf(kick), "* alice has left\n");
  EXPECT_EQ(LineOf(Event(Kind::kNick, "al", "")),
            "* alice is now known as al\n");
}

TEST(RenderLineTest, KindsLineMembersDoNotGet) {
  ChatEvent tagmsg = Event(Kind::kTagMsg);
  tagmsg.client_tags = "+typing=active";
  for (const ChatEvent& e :
       {tagmsg, Event(Kind::kMode, "+o bob"), Event(Kind::kTopic, "soup"),
        Event(Kind::kAway, "lunch", ""), Event(Kind::kAway, "", ""),
        Event(Kind::kCtcp, "\x01VERSION\x01")}) {
    const Rendition r = RenderEvent(e, kAllClasses, Stamp());
    EXPECT_FALSE(r.For(WireClass::kLine)) << static_cast<int>(e.kind);
  }
}

TEST(RenderLineTest, PrivateMessages) {
  ChatEvent e = Event(Kind::kMessage, "psst", "");
  e.source = EventSource{"alice", "annu", kIrcHost};
  e.target = "tim";
  EXPECT_EQ(LineOf(e), "(private) alice: psst\n");
  e.kind = Kind::kNotice;
  EXPECT_EQ(LineOf(e), "(private) alice: psst\n");
  e.kind = Kind::kAction;
  e.text = "waves";
  EXPECT_EQ(LineOf(e), "(private) * alice waves\n");
  e.kind = Kind::kTagMsg;
  EXPECT_EQ(LineOf(e), "<null>");
}

TEST(RenderLineTest, TextIsPassedThroughUnsplit) {
  const std::string text =
      std::string("a\rb") + '\0' + "c" + std::string(3000, 'x');
  EXPECT_EQ(LineOf(Event(Kind::kMessage, text)),
            absl::StrCat("alice: ", text, "\n"));
}

// --- IRC forms --------------------------------------------------------------

TEST(RenderIrcTest, PlainFormOfEachKind) {
  auto plain = [](absl::string_view body) {
    return absl::StrCat(kSrc, body, "\r\n");
  };
  EXPECT_EQ(PlainOf(Event(Kind::kMessage, "hi")),
            plain("PRIVMSG #cooking :hi"));
  EXPECT_EQ(PlainOf(Event(Kind::kNotice, "hi")), plain("NOTICE #cooking :hi"));
  EXPECT_EQ(PlainOf(Event(Kind::kAction, "waves")),
            plain("PRIVMSG #cooking :\x01"
                  "ACTION waves\x01"));
  EXPECT_EQ(PlainOf(Event(Kind::kCtcp, "\x01VERSION\x01")),
            plain("PRIVMSG #cooking :\x01VERSION\x01"));
  EXPECT_EQ(PlainOf(Event(Kind::kJoin)), plain("JOIN #cooking"));
  EXPECT_EQ(PlainOf(Event(Kind::kPart)), plain("PART #cooking"));
  EXPECT_EQ(PlainOf(Event(Kind::kPart, "gone")), plain("PART #cooking :gone"));
  EXPECT_EQ(PlainOf(Event(Kind::kQuit, "Quit: bye", "")),
            plain("QUIT :Quit: bye"));
  ChatEvent kick = Event(Kind::kKick, "spam");
  kick.target = "bob";
  EXPECT_EQ(PlainOf(kick), plain("KICK #cooking bob :spam"));
  EXPECT_EQ(PlainOf(Event(Kind::kNick, "al", "")), plain("NICK al"));
  EXPECT_EQ(PlainOf(Event(Kind::kTopic, "soup")),
            plain("TOPIC #cooking :soup"));
  EXPECT_EQ(PlainOf(Event(Kind::kTopic, "")), plain("TOPIC #cooking :"));
  EXPECT_EQ(PlainOf(Event(Kind::kMode, "+o bob")),
            plain("MODE #cooking +o bob"));
  EXPECT_EQ(PlainOf(Event(Kind::kAway, "lunch", "")), plain("AWAY :lunch"));
  EXPECT_EQ(PlainOf(Event(Kind::kAway, "", "")), plain("AWAY"));
}

TEST(RenderIrcTest, PrivateMessageIsToTheRecipient) {
  ChatEvent e = Event(Kind::kMessage, "psst", "");
  e.target = "Ann";
  EXPECT_EQ(PlainOf(e), absl::StrCat(kSrc, "PRIVMSG Ann :psst\r\n"));
  e.source = EventSource{"ann", "annu", kIrcHost};
  e.target = "tim";
  e.kind = Kind::kNotice;
  EXPECT_EQ(PlainOf(e), absl::StrCat(kIrcSrc, "NOTICE tim :psst\r\n"));
}

TEST(RenderIrcTest, TimeForm) {
  ChatEvent e = Event(Kind::kMessage, "hi");
  e.client_tags = "+draft/react=x";
  EXPECT_EQ(
      Form(e, WireClass::kIrcTime),
      absl::StrCat("@time=", kTime, " ", kSrc, "PRIVMSG #cooking :hi\r\n"));
  EXPECT_EQ(Form(Event(Kind::kJoin), WireClass::kIrcTime),
            absl::StrCat("@time=", kTime, " ", kSrc, "JOIN #cooking\r\n"));
}

TEST(RenderIrcTest, TagsFormCarriesMsgidAndClientTagsOnUtterancesOnly) {
  ChatEvent e = Event(Kind::kMessage, "hi");
  e.client_tags = "+draft/react=x;+a";
  EXPECT_EQ(Form(e, WireClass::kIrcTags, Stamp("abc-1")),
            absl::StrCat("@time=", kTime, ";msgid=abc-1;+draft/react=x;+a ",
                         kSrc, "PRIVMSG #cooking :hi\r\n"));
  // No msgid when none was stamped; client tags still.
  EXPECT_EQ(Form(e, WireClass::kIrcTags, Stamp("")),
            absl::StrCat("@time=", kTime, ";+draft/react=x;+a ", kSrc,
                         "PRIVMSG #cooking :hi\r\n"));
  e.kind = Kind::kNotice;
  e.client_tags = "";
  EXPECT_EQ(Form(e, WireClass::kIrcTags),
            absl::StrCat("@time=", kTime, ";msgid=m1 ", kSrc,
                         "NOTICE #cooking :hi\r\n"));
  // Not on a join, part, topic...
  for (Kind kind : {Kind::kJoin, Kind::kPart, Kind::kTopic}) {
    ChatEvent other = Event(kind);
    other.client_tags = "+x=y";
    const std::string form = Form(other, WireClass::kIrcTags);
    EXPECT_EQ(form.find("msgid"), std::string::npos) << form;
    EXPECT_EQ(form.find("+x=y"), std::string::npos) << form;
    EXPECT_EQ(form.rfind(absl::StrCat("@time=", kTime, " ", kSrc), 0), 0u)
        << form;
  }
  // The plain and time forms never carry either.
  e.client_tags = "+x=y";
  for (WireClass c : {WireClass::kIrcPlain, WireClass::kIrcTime}) {
    const std::string form = Form(e, c);
    EXPECT_EQ(form.find("msgid"), std::string::npos) << form;
    EXPECT_EQ(form.find("+x=y"), std::string::npos) << form;
  }
}

TEST(RenderIrcTest, TagMsgOnlyForTheTagsClass) {
  ChatEvent e = Event(Kind::kTagMsg);
  e.client_tags = "+typing=active";
  const Rendition r = RenderEvent(e, kAllClasses, Stamp("t7"));
  EXPECT_FALSE(r.by_class[int(WireClass::kLine)]);
  EXPECT_FALSE(r.by_class[int(WireClass::kIrcPlain)]);
  EXPECT_FALSE(r.by_class[int(WireClass::kIrcTime)]);
  EXPECT_FALSE(r.For(WireClass::kIrcTime));
  EXPECT_FALSE(r.For(WireClass::kIrcPlain));
  EXPECT_EQ(Bytes(r.For(WireClass::kIrcTags)),
            absl::StrCat("@time=", kTime, ";msgid=t7;+typing=active ", kSrc,
                         "TAGMSG #cooking\r\n"));
  ChatEvent direct = e;
  direct.group = "";
  direct.target = "bob";
  EXPECT_EQ(Form(direct, WireClass::kIrcTags, Stamp("t8")),
            absl::StrCat("@time=", kTime, ";msgid=t8;+typing=active ", kSrc,
                         "TAGMSG bob\r\n"));
}

TEST(RenderIrcTest, OnlyTheAskedClassesAreRendered) {
  const ChatEvent e = Event(Kind::kMessage, "hi");
  Rendition r = RenderEvent(e, kLineBit, Stamp());
  EXPECT_TRUE(r.by_class[int(WireClass::kLine)]);
  for (int c = 1; c < kWireClasses; ++c) EXPECT_FALSE(r.by_class[c]) << c;
  r = RenderEvent(e, kPlainBit | kTagsBit, Stamp());
  EXPECT_FALSE(r.by_class[int(WireClass::kLine)]);
  EXPECT_TRUE(r.by_class[int(WireClass::kIrcPlain)]);
  EXPECT_FALSE(r.by_class[int(WireClass::kIrcTime)]);
  EXPECT_TRUE(r.by_class[int(WireClass::kIrcTags)]);
  EXPECT_EQ(r.required_caps, 0);
  r = RenderEvent(e, kTimeBit, Stamp());
  EXPECT_FALSE(r.by_class[int(WireClass::kIrcPlain)]);
  EXPECT_TRUE(r.by_class[int(WireClass::kIrcTime)]);
  EXPECT_FALSE(r.by_class[int(WireClass::kIrcTags)]);
  r = RenderEvent(e, 0, Stamp());
  for (int c = 0; c < kWireClasses; ++c) EXPECT_FALSE(r.by_class[c]) << c;
}

TEST(RenderIrcTest, CrLfAndNulInALineMembersTextAreReplaced) {
  const std::string text = std::string("a\rb") + '\0' + "c\nd";
  EXPECT_EQ(PlainOf(Event(Kind::kMessage, text)),
            absl::StrCat(kSrc, "PRIVMSG #cooking :a b c d\r\n"));
  EXPECT_EQ(PlainOf(Event(Kind::kAction, text)),
            absl::StrCat(kSrc,
                         "PRIVMSG #cooking :\x01"
                         "ACTION a b c d\x01\r\n"));
  EXPECT_EQ(PlainOf(Event(Kind::kQuit, text, "")),
            absl::StrCat(kSrc, "QUIT :a b c d\r\n"));
  // The line form keeps the text as written.
  EXPECT_EQ(LineOf(Event(Kind::kMessage, text)),
            absl::StrCat("alice: ", text, "\n"));
}

// The lines of an IRC payload, without their CR LF; fails unless every one
// ends with CR LF and none holds a CR, LF or NUL inside.
std::vector<std::string> IrcLines(const PayloadRef& p) {
  std::vector<std::string> lines;
  absl::string_view rest = p->view();
  while (!rest.empty()) {
    const size_t end = rest.find("\r\n");
    EXPECT_NE(end, absl::string_view::npos);
    if (end == absl::string_view::npos) break;
    const absl::string_view line = rest.substr(0, end);
    EXPECT_EQ(line.find_first_of(absl::string_view("\r\n\0", 3)),
              absl::string_view::npos);
    lines.emplace_back(line);
    rest.remove_prefix(end + 2);
  }
  return lines;
}

// Whether `s` is whole UTF-8 characters (for the texts used here: never
// starts with a continuation byte, never ends inside a sequence).
bool WholeCharacters(absl::string_view s) {
  if (s.empty()) return true;
  if ((static_cast<unsigned char>(s.front()) & 0xC0) == 0x80) return false;
  size_t i = s.size();
  int continuation = 0;
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++continuation;
  }
  if (i == 0) return false;
  const unsigned char lead = s[i - 1];
  const int want = lead < 0x80 ? 0 : lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
  return continuation == want;
}

struct SplitCase {
  Kind kind;
  absl::string_view head;   // After the source, before the text.
  absl::string_view close;  // After the text.
};

void CheckSplit(const std::string& text, const SplitCase& sc,
                absl::string_view source = kSrc) {
  ChatEvent e = Event(sc.kind, text);
  if (source == kIrcSrc) e.source = EventSource{"ann", "annu", kIrcHost};
  const Rendition r = RenderEvent(e, kAllClasses, Stamp());
  for (WireClass c :
       {WireClass::kIrcPlain, WireClass::kIrcTime, WireClass::kIrcTags}) {
    SCOPED_TRACE(static_cast<int>(c));
    const std::vector<std::string> lines = IrcLines(r.For(c));
    ASSERT_GT(lines.size(), 1u);
    std::string joined;
    for (absl::string_view line : lines) {
      if (c != WireClass::kIrcPlain) {
        // Tags do not count towards the 512 bytes.
        ASSERT_EQ(line.substr(0, 6), "@time=");
        line.remove_prefix(line.find(' ') + 1);
      }
      EXPECT_LE(line.size() + 2, 512u);
      const std::string prefix = absl::StrCat(source, sc.head);
      ASSERT_EQ(line.substr(0, prefix.size()), prefix);
      line.remove_prefix(prefix.size());
      ASSERT_EQ(line.substr(line.size() - sc.close.size()), sc.close);
      line.remove_suffix(sc.close.size());
      EXPECT_FALSE(line.empty());
      EXPECT_TRUE(WholeCharacters(line)) << line;
      absl::StrAppend(&joined, line);
    }
    EXPECT_EQ(joined, text);
  }
  // One line for line members.
  EXPECT_EQ(Bytes(r.For(WireClass::kLine)).find('\n'),
            Bytes(r.For(WireClass::kLine)).size() - 1);
}

TEST(RenderIrcSplitTest, LongAsciiTextWithoutSpaces) {
  CheckSplit(std::string(2000, 'x'),
             {Kind::kMessage, "PRIVMSG #cooking :", ""});
}

TEST(RenderIrcSplitTest, LongTextWithSpaces) {
  std::string text;
  for (int i = 0; i < 300; ++i) absl::StrAppend(&text, "word", i, " ");
  CheckSplit(text, {Kind::kMessage, "PRIVMSG #cooking :", ""});
  CheckSplit(text, {Kind::kNotice, "NOTICE #cooking :", ""});
}

TEST(RenderIrcSplitTest, MultibyteTextReassemblesExactly) {
  // Two-, three- and four-byte characters, in runs that put sequences
  // across every possible cut.
  std::string text;
  for (int i = 0; i < 150; ++i) {
    absl::StrAppend(&text, "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8d\xb2", "a");
  }
  CheckSplit(text, {Kind::kMessage, "PRIVMSG #cooking :", ""});
  CheckSplit(text, {Kind::kAction,
                    "PRIVMSG #cooking :\x01"
                    "ACTION ",
                    "\x01"});
  CheckSplit(text, {Kind::kMessage, "PRIVMSG #cooking :", ""}, kIrcSrc);
  // Only four-byte characters.
  std::string emoji;
  for (int i = 0; i < 400; ++i) emoji += "\xf0\x9f\x8d\xb2";
  CheckSplit(emoji, {Kind::kMessage, "PRIVMSG #cooking :", ""});
}

TEST(RenderIrcSplitTest, TextThatFitsIsOneLine) {
  // 512 bytes in all with CR LF.
  const std::string head = absl::StrCat(kSrc, "PRIVMSG #cooking :");
  const std::string text(512 - 2 - head.size(), 'y');
  const std::vector<std::string> lines =
      IrcLines(RenderEvent(Event(Kind::kMessage, text), kPlainBit, Stamp())
                   .For(WireClass::kIrcPlain));
  EXPECT_THAT(lines, ElementsAre(head + text));
  const std::vector<std::string> two = IrcLines(
      RenderEvent(Event(Kind::kMessage, text + "y"), kPlainBit, Stamp())
          .For(WireClass::kIrcPlain));
  EXPECT_EQ(two.size(), 2u);
}

TEST(RenderIrcSplitTest, TagsFormRepeatsTagsOnEveryLine) {
  const std::string text(1200, 'z');  // Outlives the event's view of it.
  ChatEvent e = Event(Kind::kMessage, text);
  e.client_tags = "+a=b";
  const std::vector<std::string> lines =
      IrcLines(RenderEvent(e, kTagsBit, Stamp("m9")).For(WireClass::kIrcTags));
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    EXPECT_EQ(line.rfind(absl::StrCat("@time=", kTime, ";msgid=m9;+a=b ", kSrc,
                                      "PRIVMSG #cooking :"),
                         0),
              0u);
  }
}

// --- Rendition::For ---------------------------------------------------------

TEST(RenditionTest, TaggedClassesFallBackToPlainerForms) {
  const PayloadRef plain = Payload::Copy("plain");
  const PayloadRef timed = Payload::Copy("time");
  const PayloadRef tagged = Payload::Copy("tags");
  const PayloadRef line = Payload::Copy("line");

  Rendition r;
  EXPECT_FALSE(r.For(WireClass::kLine));
  EXPECT_FALSE(r.For(WireClass::kIrcTags));
  r.by_class[int(WireClass::kIrcPlain)] = plain;
  EXPECT_EQ(r.For(WireClass::kIrcPlain).get(), plain.get());
  EXPECT_EQ(r.For(WireClass::kIrcTime).get(), plain.get());
  EXPECT_EQ(r.For(WireClass::kIrcTags).get(), plain.get());
  EXPECT_FALSE(r.For(WireClass::kLine));  // Never from an IRC form.

  r.by_class[int(WireClass::kIrcTime)] = timed;
  EXPECT_EQ(r.For(WireClass::kIrcPlain).get(), plain.get());
  EXPECT_EQ(r.For(WireClass::kIrcTime).get(), timed.get());
  EXPECT_EQ(r.For(WireClass::kIrcTags).get(), timed.get());

  r.by_class[int(WireClass::kIrcTags)] = tagged;
  r.by_class[int(WireClass::kLine)] = line;
  EXPECT_EQ(r.For(WireClass::kIrcTags).get(), tagged.get());
  EXPECT_EQ(r.For(WireClass::kIrcTime).get(), timed.get());
  EXPECT_EQ(r.For(WireClass::kLine).get(), line.get());

  // Tags without time: time falls back to plain, never up to tags.
  Rendition t;
  t.by_class[int(WireClass::kIrcTags)] = tagged;
  EXPECT_FALSE(t.For(WireClass::kIrcTime));
  EXPECT_FALSE(t.For(WireClass::kIrcPlain));
  EXPECT_EQ(t.For(WireClass::kIrcTags).get(), tagged.get());
}

TEST(RenditionTest, RenderedPlainOnlyServesEveryIrcClass) {
  const Rendition r =
      RenderEvent(Event(Kind::kMessage, "hi"), kPlainBit, Stamp());
  const std::string plain = absl::StrCat(kSrc, "PRIVMSG #cooking :hi\r\n");
  EXPECT_EQ(Bytes(r.For(WireClass::kIrcTags)), plain);
  EXPECT_EQ(Bytes(r.For(WireClass::kIrcTime)), plain);
  EXPECT_EQ(Bytes(r.For(WireClass::kLine)), "<null>");
}

}  // namespace
}  // namespace chatd
