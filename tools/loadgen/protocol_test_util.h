// Test helpers for ProtocolSession parsers: a SessionEvents that records
// every event as a line of text, and a check that feeding a byte stream in
// any split (every single cut, byte by byte) yields the same events as
// feeding it whole. Test-only.
#ifndef CHATD_TOOLS_LOADGEN_PROTOCOL_TEST_UTIL_H_
#define CHATD_TOOLS_LOADGEN_PROTOCOL_TEST_UTIL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/loadgen/protocol.h"

namespace chatd::loadgen {

class RecordingEvents : public SessionEvents {
 public:
  void OnJoined(int online) override;
  void OnMemberJoined() override;
  void OnMessage(absl::string_view text) override;
  void OnServerError(absl::string_view line) override;
  void Send(absl::string_view bytes) override;

  // "joined <n>", "member-joined", "message <text>", "error <line>",
  // "send <bytes>", in order.
  std::vector<std::string> events;
};

using SessionFactory = std::function<std::unique_ptr<ProtocolSession>()>;

// Feeds `stream` to a fresh session in one piece; returns the events, or
// "feed failed" as the last event if Feed() returned false.
std::vector<std::string> FeedWhole(const SessionFactory& factory,
                                   absl::string_view stream);

// Feeds `stream` cut into `pieces` (which concatenate to it).
std::vector<std::string> FeedPieces(
    const SessionFactory& factory,
    const std::vector<absl::string_view>& pieces);

// Expects every two-piece split and the byte-by-byte feed of `stream` to
// give exactly FeedWhole()'s events; returns those events.
std::vector<std::string> ExpectSameEventsAtEverySplit(
    const SessionFactory& factory, absl::string_view stream);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_PROTOCOL_TEST_UTIL_H_
