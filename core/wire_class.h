// WireClass names the forms a chat event takes on the wire, one per kind of
// recipient: the line protocol (a stream or a WebSocket, which share one
// Payload) and IRC with and without the IRCv3 tags a client asked for. A
// Rendition is one event rendered once for each class that will receive it:
// the unit the fan-out carries, so every recipient of a class takes the same
// shared payload. Immutable once built, shared by every worker it reaches.
#ifndef CHATD_CORE_WIRE_CLASS_H_
#define CHATD_CORE_WIRE_CLASS_H_

#include <array>
#include <cstdint>

#include "net/payload.h"

namespace chatd {

enum class WireClass : uint8_t {
  kLine,      // "tim: hi", framed for a stream or a WebSocket.
  kIrcPlain,  // ":tim!tim@line.chatd PRIVMSG #cooking :hi"
  kIrcTime,   // The same with "@time=..." (server-time).
  kIrcTags,   // With time, msgid and client tags (message-tags).
};
inline constexpr int kWireClasses = 4;

// A set of classes, bit c for WireClass c.
using ClassMask = uint8_t;
constexpr ClassMask ClassBit(WireClass c) {
  return static_cast<ClassMask>(1u << static_cast<int>(c));
}
inline constexpr ClassMask kAllClasses = (1u << kWireClasses) - 1;
inline constexpr ClassMask kIrcClasses = ClassBit(WireClass::kIrcPlain) |
                                         ClassBit(WireClass::kIrcTime) |
                                         ClassBit(WireClass::kIrcTags);

// What a recipient asked for beyond its class, as bits: a rendition may be
// only for recipients that have some of them.
enum MemberCap : uint8_t {
  kCapEchoMessage = 1,  // Its own messages come back to it.
  kCapAwayNotify = 2,   // It hears of other members' AWAY.
};

struct Rendition {
  // The payload for `c`, or null when `c` gets nothing. A tagged class
  // whose own form was not rendered (its first member arrived after the
  // event was formatted) takes the next plainer IRC form.
  const PayloadRef& For(WireClass c) const {
    if (c == WireClass::kIrcTags && !by_class[3]) c = WireClass::kIrcTime;
    if (c == WireClass::kIrcTime && !by_class[2]) c = WireClass::kIrcPlain;
    return by_class[static_cast<int>(c)];
  }

  std::array<PayloadRef, kWireClasses> by_class;
  // A recipient must have every MemberCap bit set here.
  uint8_t required_caps = 0;
};

}  // namespace chatd

#endif  // CHATD_CORE_WIRE_CLASS_H_
