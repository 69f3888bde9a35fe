// WebSocketFramer is the server side of RFC 6455 framing: it turns the bytes a
// client sends after the HTTP upgrade into text messages, pings and pongs, and
// the free functions in `websocket` build the unmasked frames a server sends.
// It is pure (no sockets, no handshake; that is elsewhere): the owner reads
// the socket, feeds the bytes and writes the replies.
//
// One framer per WebSocket connection, owned by that connection and used only
// on its worker's thread; it is not thread-safe.
//
// Client frames must be masked; fragmented text messages are reassembled, with
// control frames allowed between fragments; text is validated as UTF-8 as it
// arrives; a message longer than the limit is refused as soon as a frame
// header proves it, so the framer never buffers more than the limit plus one
// header (and one control frame). Any protocol violation ends framing with
// Result::kClose, and close_code() says what our close frame must carry.
//
// As with LineFramer, the consumer may hold a message it cannot take yet:
// the framer then keeps that message (unmasked and validated) and every byte
// after it, and offers the same message again on Resume(), so nothing read is
// lost or reordered. An idle framer holds no heap memory beyond small buffers.
#ifndef CHATD_NET_WEBSOCKET_FRAMER_H_
#define CHATD_NET_WEBSOCKET_FRAMER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "net/payload.h"
#include "net/utf8.h"
#include "net/websocket_header.h"

namespace chatd {
namespace websocket {

// Close status codes (RFC 6455 section 7.4.1).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseUnsupportedData = 1003;
inline constexpr uint16_t kCloseNoStatus = 1005;  // Never sent on the wire.
inline constexpr uint16_t kCloseInvalidPayload = 1007;
inline constexpr uint16_t kClosePolicy = 1008;
inline constexpr uint16_t kCloseTooBig = 1009;

// The longest payload of a control frame.
inline constexpr size_t kMaxControlPayloadBytes = 125;

// A whole unmasked frame in one Payload, copying `payload`: for control frames
// (whose payload must be at most 125 bytes) and one-off messages.
PayloadRef EncodeFrame(Opcode opcode, absl::string_view payload);

// A close frame: the 2-byte `code`, then `reason` (UTF-8), cut at a character
// boundary so that the payload fits the 125 bytes of a control frame.
PayloadRef EncodeClose(uint16_t code, absl::string_view reason);

}  // namespace websocket

class WebSocketFramer {
 public:
  // What OnText answers, as LineFramer's callback does.
  enum class Verdict {
    kNext,  // The message is taken; go on.
    kHold,  // Not now: keep this message and the rest for Resume().
    kStop,  // The connection is going away; drop the rest.
  };

  // Receives what the framer decodes. Views are valid only during the call.
  class Handler {
   public:
    // A complete, valid UTF-8 text message of at most max_message_bytes.
    virtual Verdict OnText(absl::string_view message) = 0;
    // A ping; the owner answers with a pong carrying the same payload.
    virtual void OnPing(absl::string_view payload) = 0;
    // A pong (an answer to our ping, or unsolicited); may be ignored.
    virtual void OnPong(absl::string_view payload) = 0;

   protected:
    ~Handler() = default;
  };

  enum class Result {
    kOk,       // Everything complete was handed out; partial frames are kept.
    kHeld,     // OnText held a message: it and everything after it wait for
               // Resume().
    kStopped,  // OnText asked to stop; the rest is dropped.
    kClose,    // The peer closed or broke the protocol: send a close frame
               // with close_code() and do not feed the framer again.
  };

  explicit WebSocketFramer(size_t max_message_bytes)
      : max_message_bytes_(max_message_bytes) {}

  WebSocketFramer(const WebSocketFramer&) = delete;
  WebSocketFramer& operator=(const WebSocketFramer&) = delete;

  // Feeds the next bytes from the client. While a message is held, `bytes`
  // queue behind it and framing resumes from the held message.
  Result Feed(absl::string_view bytes, Handler* handler);
  // Offers the held message again, then frames the input held behind it.
  Result Resume(Handler* handler);

  bool holding() const { return holding_; }

  // After kClose: the code and reason our close frame must carry, and whether
  // the peer started the close (it sent a valid close frame, which we echo)
  // rather than us refusing its input. The reason is a short description of
  // what we refused, and empty when we echo the peer's close.
  uint16_t close_code() const { return close_code_; }
  absl::string_view close_reason() const { return close_reason_; }
  bool peer_closed() const { return peer_closed_; }

  // Bytes waiting: a partial header, a partial message or control frame, a
  // held message and the input held behind it.
  size_t buffered_bytes() const {
    return header_size_ + message_.size() + control_size_ + held_input_.size();
  }
  // Heap bytes reserved by the buffers, for tests of the idle footprint.
  size_t buffer_capacity_for_testing() const;

 private:
  // Frames `input` from the current state; on a hold keeps the rest of it.
  Result Frame(absl::string_view input, Handler* handler);
  // Consumes header bytes from `input` at `*pos`; returns false on a protocol
  // error (close_code_ set). Sets in_payload_ once the header is complete.
  bool ReadHeader(absl::string_view input, size_t* pos);
  // Checks a complete header; returns false on a protocol error.
  bool StartFrame();
  // The current frame's payload is complete. Returns kOk to go on.
  Result FinishFrame(Handler* handler);
  Result Fail(uint16_t code, absl::string_view reason);
  static void Release(std::string* buffer);

  const size_t max_message_bytes_;

  // The frame being read.
  char header_[14];  // 2 bytes, up to 8 of length, 4 of mask key.
  uint8_t header_size_ = 0;
  bool in_payload_ = false;
  bool fin_ = false;
  websocket::Opcode opcode_ = websocket::Opcode::kContinuation;
  char mask_[4] = {0, 0, 0, 0};
  uint64_t payload_bytes_ = 0;  // The frame's payload length.
  uint64_t payload_read_ = 0;   // Of which read (and unmasked) so far.

  // A control frame's payload, unmasked.
  char control_[websocket::kMaxControlPayloadBytes];
  uint8_t control_size_ = 0;

  // The text message being reassembled (or held), unmasked.
  bool in_message_ = false;
  std::string message_;
  Utf8Validator utf8_;

  // While holding: message_ is complete and waits, with the raw input after
  // it in held_input_.
  bool holding_ = false;
  std::string held_input_;

  bool closed_ = false;
  bool peer_closed_ = false;
  uint16_t close_code_ = 0;
  absl::string_view close_reason_;  // Always a string literal.
};

}  // namespace chatd

#endif  // CHATD_NET_WEBSOCKET_FRAMER_H_
