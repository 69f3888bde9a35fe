#include "core/chat_event.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/irc_message.h"
#include "core/protocol.h"

namespace chatd {
namespace {

using Kind = ChatEvent::Kind;

// An IRC line's bytes, CR LF included, without its tags.
constexpr size_t kIrcLineBytes = 512;

bool IsPrivate(const ChatEvent& event) { return event.group.empty(); }

// Kinds that carry text a person wrote, and so a msgid and client tags.
bool IsUtterance(Kind kind) {
  return kind == Kind::kMessage || kind == Kind::kNotice ||
         kind == Kind::kAction || kind == Kind::kCtcp || kind == Kind::kTagMsg;
}

PayloadRef RenderLine(const ChatEvent& event) {
  const absl::string_view nick = event.source.nick;
  if (IsPrivate(event)) {
    switch (event.kind) {
      case Kind::kMessage:
      case Kind::kNotice:
        return Payload::Line({"(private) ", nick, ": ", event.text});
      case Kind::kAction:
        return Payload::Line({"(private) * ", nick, " ", event.text});
      default:
        break;
    }
  }
  switch (event.kind) {
    case Kind::kMessage:
    case Kind::kNotice:
      return FormatMessage(nick, event.text);
    case Kind::kAction:
      return Payload::Line({"* ", nick, " ", event.text});
    case Kind::kJoin:
      return FormatJoined(nick);
    case Kind::kPart:
    case Kind::kQuit:
      return FormatLeft(nick);
    case Kind::kKick:
      return FormatLeft(event.target);
    case Kind::kNick:
      return FormatRenamed(nick, event.text);
    case Kind::kCtcp:
    case Kind::kTagMsg:
    case Kind::kTopic:
    case Kind::kMode:
    case Kind::kAway:
      return PayloadRef();
  }
  return PayloadRef();
}

// IRC text must not carry the bytes that end or corrupt a line; a line
// member's text may hold a CR or NUL inside it.
std::string IrcSafe(absl::string_view text) {
  std::string safe(text);
  for (char& c : safe) {
    if (c == '\r' || c == '\0' || c == '\n') c = ' ';
  }
  return safe;
}

class IrcRenderer {
 public:
  IrcRenderer(const ChatEvent& event, const EventStamp& stamp, bool timed)
      : event_(event),
        source_(absl::StrCat(":", event.source.nick, "!", event.source.user,
                             "@", event.source.host, " ")),
        target_(IsPrivate(event) ? std::string(event.target)
                                 : absl::StrCat("#", event.group)),
        time_(timed ? FormatServerTime(stamp.time) : std::string()),
        msgid_(stamp.msgid) {}

  PayloadRef Render(WireClass wire_class) const {
    std::string tags;
    if (wire_class == WireClass::kIrcTime) {
      tags = absl::StrCat("@time=", time_, " ");
    } else if (wire_class == WireClass::kIrcTags) {
      tags = absl::StrCat("@time=", time_);
      if (IsUtterance(event_.kind)) {
        if (!msgid_.empty()) absl::StrAppend(&tags, ";msgid=", msgid_);
        if (!event_.client_tags.empty()) {
          absl::StrAppend(&tags, ";", event_.client_tags);
        }
      }
      tags += ' ';
    }
    std::string out;
    for (const std::string& body : Bodies()) {
      // A message is split (see Split); anything else that a long reason
      // or topic would push past one line is cut, between characters.
      const size_t room = kIrcLineBytes - 2 - source_.size();
      absl::StrAppend(&out, tags, source_, TruncateForIrc(body, room), "\r\n");
    }
    return Payload::Copy(out);
  }

  // The lines after the source, without CR LF: one, or several for a text
  // too long for one IRC line.
  std::vector<std::string> Bodies() const {
    const ChatEvent& e = event_;
    switch (e.kind) {
      case Kind::kMessage:
        return Split("PRIVMSG", "", "");
      case Kind::kNotice:
        return Split("NOTICE", "", "");
      case Kind::kAction:
        return Split("PRIVMSG",
                     "\x01"
                     "ACTION ",
                     "\x01");
      case Kind::kCtcp:
        return {absl::StrCat("PRIVMSG ", target_, " :", IrcSafe(e.text))};
      case Kind::kTagMsg:
        return {absl::StrCat("TAGMSG ", target_)};
      case Kind::kJoin:
        return {absl::StrCat("JOIN ", target_)};
      case Kind::kPart:
        if (e.text.empty()) return {absl::StrCat("PART ", target_)};
        return {absl::StrCat("PART ", target_, " :", IrcSafe(e.text))};
      case Kind::kQuit:
        return {absl::StrCat("QUIT :", IrcSafe(e.text))};
      case Kind::kKick:
        return {absl::StrCat("KICK ", target_, " ", e.target, " :",
                             IrcSafe(e.text))};
      case Kind::kNick:
        return {absl::StrCat("NICK ", e.text)};
      case Kind::kTopic:
        return {absl::StrCat("TOPIC ", target_, " :", IrcSafe(e.text))};
      case Kind::kMode:
        return {absl::StrCat("MODE ", target_, " ", e.text)};
      case Kind::kAway:
        if (e.text.empty()) return {"AWAY"};
        return {absl::StrCat("AWAY :", IrcSafe(e.text))};
    }
    return {};
  }

 private:
  // "<command> <target> :<open><chunk><close>" for each chunk of the text
  // that keeps the whole line within kIrcLineBytes.
  std::vector<std::string> Split(absl::string_view command,
                                 absl::string_view open,
                                 absl::string_view close) const {
    const std::string head = absl::StrCat(command, " ", target_, " :", open);
    const size_t fixed = source_.size() + head.size() + close.size() + 2;
    // A source and target are bounded (32-byte names), so room is left.
    const size_t room = kIrcLineBytes > fixed + 16 ? kIrcLineBytes - fixed : 16;
    const std::string text = IrcSafe(event_.text);
    std::vector<std::string> bodies;
    for (absl::string_view chunk : SplitForIrc(text, room)) {
      bodies.push_back(absl::StrCat(head, chunk, close));
    }
    return bodies;
  }

  const ChatEvent& event_;
  const std::string source_;
  const std::string target_;
  const std::string time_;
  const absl::string_view msgid_;
};

}  // namespace

std::string FormatServerTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

Rendition RenderEvent(const ChatEvent& event, ClassMask classes,
                      const EventStamp& stamp) {
  Rendition rendition;
  if (classes & ClassBit(WireClass::kLine)) {
    rendition.by_class[int(WireClass::kLine)] = RenderLine(event);
  }
  if ((classes & kIrcClasses) == 0) return rendition;
  const bool timed =
      classes & (ClassBit(WireClass::kIrcTime) | ClassBit(WireClass::kIrcTags));
  const IrcRenderer irc(event, stamp, timed);
  for (WireClass c :
       {WireClass::kIrcPlain, WireClass::kIrcTime, WireClass::kIrcTags}) {
    if ((classes & ClassBit(c)) == 0) continue;
    if (event.kind == Kind::kTagMsg && c != WireClass::kIrcTags) continue;
    rendition.by_class[int(c)] = irc.Render(c);
  }
  return rendition;
}

}  // namespace chatd
