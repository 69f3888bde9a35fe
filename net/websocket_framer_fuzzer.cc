// Fuzzes the WebSocketFramer. One framer takes the input whole; another takes
// it in chunks of a fuzzer-chosen size, its handler holding messages back and
// resuming them at fuzzer-chosen times (a throttle). Whatever the chunking and
// the holds, both must report the same messages, pings and pongs in the same
// order and end with the same result and close code; every message must be
// valid UTF-8 within the limit, and the framer must never buffer more than
// the limit plus a header and a control frame.
//
// Input: a byte for the chunk size, one for the hold pattern, one for the
// limit, then the client's bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "net/utf8.h"
#include "net/websocket_framer.h"
#include "tools/fuzz/fuzz_check.h"

namespace chatd {
namespace {

// Records events as "T:", "I:" and "O:" plus the payload.
class Recorder : public WebSocketFramer::Handler {
 public:
  Recorder(size_t max, unsigned hold_pattern)
      : max_(max), hold_pattern_(hold_pattern) {}

  WebSocketFramer::Verdict OnText(absl::string_view message) override {
    FUZZ_CHECK(message.size() <= max_);
    FUZZ_CHECK(IsValidUtf8(message));
    if (!held_last_ && ((hold_pattern_ >> (calls_++ % 8)) & 1)) {
      held_last_ = true;
      held_message_ = std::string(message);
      return WebSocketFramer::Verdict::kHold;
    }
    // A resumed message is the one that was held.
    if (held_last_) FUZZ_CHECK(message == held_message_);
    held_last_ = false;
    events.push_back(absl::StrCat("T:", message));
    return WebSocketFramer::Verdict::kNext;
  }
  void OnPing(absl::string_view payload) override {
    FUZZ_CHECK(payload.size() <= websocket::kMaxControlPayloadBytes);
    events.push_back(absl::StrCat("I:", payload));
  }
  void OnPong(absl::string_view payload) override {
    FUZZ_CHECK(payload.size() <= websocket::kMaxControlPayloadBytes);
    events.push_back(absl::StrCat("O:", payload));
  }

  std::vector<std::string> events;

 private:
  const size_t max_;
  const unsigned hold_pattern_;
  size_t calls_ = 0;
  bool held_last_ = false;
  std::string held_message_;
};

}  // namespace
}  // namespace chatd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatd;
  if (size < 3) return 0;
  const size_t step = 1 + data[0] % 32;
  const unsigned hold_pattern = data[1];
  const size_t max = static_cast<size_t>(data[2]) * 8;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 3,
                                size - 3);
  using Result = WebSocketFramer::Result;
  // Bytes a framer may keep when nothing is held.
  const size_t bound = max + 14 + websocket::kMaxControlPayloadBytes;

  WebSocketFramer whole(max);
  Recorder whole_events(max, 0);
  const Result whole_result = whole.Feed(input, &whole_events);
  FUZZ_CHECK(whole_result == Result::kOk || whole_result == Result::kClose);
  FUZZ_CHECK(!whole.holding());
  FUZZ_CHECK(whole.buffered_bytes() <= bound);

  WebSocketFramer chunked(max);
  Recorder chunked_events(max, hold_pattern);
  Result result = Result::kOk;
  size_t chunks = 0;
  for (size_t pos = 0; pos < input.size() && result != Result::kClose;
       pos += step) {
    result = chunked.Feed(input.substr(pos, step), &chunked_events);
    FUZZ_CHECK(result != Result::kStopped);
    // Sometimes resume at once, sometimes let the next Feed() resume.
    while (result == Result::kHeld && ((hold_pattern >> (chunks % 8)) & 2)) {
      FUZZ_CHECK(chunked.holding());
      result = chunked.Resume(&chunked_events);
    }
    ++chunks;
    if (result == Result::kHeld) {
      FUZZ_CHECK(chunked.holding());
    } else {
      FUZZ_CHECK(!chunked.holding());
      FUZZ_CHECK(chunked.buffered_bytes() <= bound);
    }
  }
  while (result == Result::kHeld) result = chunked.Resume(&chunked_events);
  FUZZ_CHECK(!chunked.holding());

  FUZZ_CHECK(result == whole_result);
  FUZZ_CHECK(chunked_events.events == whole_events.events);
  if (result == Result::kClose) {
    FUZZ_CHECK(chunked.close_code() == whole.close_code());
    FUZZ_CHECK(chunked.peer_closed() == whole.peer_closed());
    FUZZ_CHECK(chunked.close_reason() == whole.close_reason());
  }
  return 0;
}
