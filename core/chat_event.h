// ChatEvent is one thing that happens in chat (a message, a join, a nick
// change...) as the front ends hand it to the fan-out, and RenderEvent()
// turns it into a Rendition: its text for every wire class that will get
// it, each formatted once. Both protocols' formats live here, side by side,
// so that an event from either front end reaches members on the other in
// the forms docs/PROTOCOL.md and docs/IRC.md promise. Pure functions.
#ifndef CHATD_CORE_CHAT_EVENT_H_
#define CHATD_CORE_CHAT_EVENT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/wire_class.h"

namespace chatd {

// Who an event is from, as IRC shows it: nick!user@host.
struct EventSource {
  absl::string_view nick;
  absl::string_view user;
  absl::string_view host;
};

// The host part of every line and web member's IRC source: no address is
// ever shown.
inline constexpr absl::string_view kLineHost = "line.chatd";
// The same for IRC users.
inline constexpr absl::string_view kIrcHost = "irc.chatd";

struct ChatEvent {
  enum class Kind : uint8_t {
    kMessage,  // PRIVMSG, or a line member's line.
    kNotice,
    kAction,  // CTCP ACTION: `text` is what follows "ACTION ".
    kCtcp,    // Any other CTCP: `text` is the whole \x01...\x01 text.
    kTagMsg,  // Client tags only.
    kJoin,
    kPart,   // `text`: the reason, may be empty.
    kQuit,   // `text`: the reason.
    kKick,   // `target`: who is kicked; `text`: the reason.
    kNick,   // `text`: the new nick.
    kTopic,  // `text`: the topic, empty to clear.
    kMode,   // `text`: the change, e.g. "+o bob".
    kAway,   // `text`: the away message, empty when back.
  };

  Kind kind = Kind::kMessage;
  EventSource source;
  // The group (shown without '#'), for channel events; empty for a private
  // message, QUIT, NICK and AWAY.
  absl::string_view group;
  // A private message's recipient, as it is named.
  absl::string_view target;
  absl::string_view text;
  // "+a=b;+c": client tags, relayed to message-tags members only.
  absl::string_view client_tags;
};

// What an event is stamped with once, at its origin, so every worker sends
// the same values.
struct EventStamp {
  absl::Time time;
  // Non-empty for PRIVMSG, NOTICE and TAGMSG when message-tags members may
  // receive the event.
  absl::string_view msgid;
};

// "2026-12-02T10:00:00.123Z", as server-time wants it.
std::string FormatServerTime(absl::Time time);

// Renders `event` for each class in `classes` that gets this kind of event
// (line members get no TAGMSG, MODE, TOPIC or AWAY; plain IRC members no
// TAGMSG). A text longer than one IRC line allows becomes several lines in
// the IRC payloads, split between UTF-8 characters.
Rendition RenderEvent(const ChatEvent& event, ClassMask classes,
                      const EventStamp& stamp);

}  // namespace chatd

#endif  // CHATD_CORE_CHAT_EVENT_H_
