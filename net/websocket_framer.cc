#include "net/websocket_framer.h"

#include <algorithm>

namespace chatd {
namespace websocket {

PayloadRef EncodeFrame(Opcode opcode, absl::string_view payload) {
  char header[kMaxHeaderBytes];
  const size_t header_size = EncodeHeader(opcode, payload.size(), header);
  return Payload::Concat({absl::string_view(header, header_size), payload});
}

PayloadRef EncodeClose(uint16_t code, absl::string_view reason) {
  const char code_bytes[2] = {static_cast<char>(code >> 8),
                              static_cast<char>(code)};
  reason = reason.substr(
      0, Utf8TruncationPoint(reason, kMaxControlPayloadBytes - 2));
  char header[kMaxHeaderBytes];
  const size_t header_size =
      EncodeHeader(Opcode::kClose, 2 + reason.size(), header);
  return Payload::Concat({absl::string_view(header, header_size),
                          absl::string_view(code_bytes, 2), reason});
}

}  // namespace websocket

namespace {

using websocket::Opcode;

bool IsControl(Opcode opcode) { return static_cast<uint8_t>(opcode) >= 8; }

// Codes a peer may send in a close frame (RFC 6455 section 7.4 and the IANA
// registry): 1004-1006 and 1015 are reserved or never sent on the wire,
// 1016-2999 are unassigned, 3000-4999 belong to libraries and applications.
bool IsValidCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

}  // namespace

size_t WebSocketFramer::buffer_capacity_for_testing() const {
  return message_.capacity() + held_input_.capacity();
}

void WebSocketFramer::Release(std::string* buffer) {
  // Keep a small buffer for the common short message; free a large one.
  constexpr size_t kKeepCapacity = 256;
  if (buffer->capacity() > kKeepCapacity) {
    std::string().swap(*buffer);
  } else {
    buffer->clear();
  }
}

WebSocketFramer::Result WebSocketFramer::Fail(uint16_t code,
                                              absl::string_view reason) {
  closed_ = true;
  close_code_ = code;
  close_reason_ = reason;
  Release(&message_);
  return Result::kClose;
}

WebSocketFramer::Result WebSocketFramer::Feed(absl::string_view bytes,
                                              Handler* handler) {
  if (closed_) return Result::kClose;
  if (holding_) {
    held_input_.append(bytes.data(), bytes.size());
    return Resume(handler);
  }
  return Frame(bytes, handler);
}

WebSocketFramer::Result WebSocketFramer::Resume(Handler* handler) {
  if (!holding_) return Result::kOk;
  holding_ = false;
  const Verdict verdict = handler->OnText(message_);
  if (verdict == Verdict::kHold) {
    holding_ = true;
    return Result::kHeld;
  }
  Release(&message_);
  if (verdict == Verdict::kStop) {
    Release(&held_input_);
    return Result::kStopped;
  }
  // Frame() may hold again, refilling held_input_ from a view of `input`.
  const std::string input = std::move(held_input_);
  held_input_.clear();
  return Frame(input, handler);
}

bool WebSocketFramer::ReadHeader(absl::string_view input, size_t* pos) {
  while (true) {
    size_t need = 2;
    if (header_size_ >= 2) {
      const uint8_t length7 = header_[1] & 0x7F;
      need = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + 4;
    }
    if (header_size_ == need) return StartFrame();
    if (*pos == input.size()) return true;
    header_[header_size_++] = input[(*pos)++];
    if (header_size_ != 2) continue;
    // The first two bytes settle everything but the length and the key.
    const uint8_t b0 = static_cast<uint8_t>(header_[0]);
    const uint8_t b1 = static_cast<uint8_t>(header_[1]);
    fin_ = (b0 & 0x80) != 0;
    const uint8_t opcode = b0 & 0x0F;
    if ((b0 & 0x70) != 0) {
      Fail(websocket::kCloseProtocolError, "reserved bits set");
      return false;
    }
    if ((opcode >= 3 && opcode <= 7) || opcode >= 11) {
      Fail(websocket::kCloseProtocolError, "reserved opcode");
      return false;
    }
    opcode_ = static_cast<Opcode>(opcode);
    if ((b1 & 0x80) == 0) {
      Fail(websocket::kCloseProtocolError, "unmasked client frame");
      return false;
    }
    if (IsControl(opcode_)) {
      if (!fin_) {
        Fail(websocket::kCloseProtocolError, "fragmented control frame");
        return false;
      }
      if ((b1 & 0x7F) > websocket::kMaxControlPayloadBytes) {
        Fail(websocket::kCloseProtocolError, "control frame too long");
        return false;
      }
    } else if (opcode_ == Opcode::kContinuation) {
      if (!in_message_) {
        Fail(websocket::kCloseProtocolError, "continuation without message");
        return false;
      }
    } else {
      if (in_message_) {
        Fail(websocket::kCloseProtocolError, "message interrupted");
        return false;
      }
      if (opcode_ == Opcode::kBinary) {
        Fail(websocket::kCloseUnsupportedData, "text only");
        return false;
      }
    }
  }
}

bool WebSocketFramer::StartFrame() {
  const uint8_t length7 = header_[1] & 0x7F;
  size_t key = 2;
  // Lenient on purpose: a length in a longer form than needed (say, 5 in the
  // 16-bit form) is accepted, as RFC 6455 binds only senders to the minimal
  // encoding and the value is unambiguous either way.
  if (length7 < 126) {
    payload_bytes_ = length7;
  } else if (length7 == 126) {
    payload_bytes_ =
        (static_cast<uint64_t>(static_cast<uint8_t>(header_[2])) << 8) |
        static_cast<uint8_t>(header_[3]);
    key = 4;
  } else {
    if ((static_cast<uint8_t>(header_[2]) & 0x80) != 0) {
      Fail(websocket::kCloseProtocolError, "length out of range");
      return false;
    }
    payload_bytes_ = 0;
    for (int i = 0; i < 8; ++i) {
      payload_bytes_ =
          (payload_bytes_ << 8) | static_cast<uint8_t>(header_[2 + i]);
    }
    key = 10;
  }
  if (!IsControl(opcode_) &&
      payload_bytes_ > max_message_bytes_ - message_.size()) {
    Fail(websocket::kCloseTooBig, "message too long");
    return false;
  }
  std::copy(header_ + key, header_ + key + 4, mask_);
  if (opcode_ == Opcode::kText) {
    in_message_ = true;
    utf8_.Reset();
  }
  payload_read_ = 0;
  in_payload_ = true;
  return true;
}

WebSocketFramer::Result WebSocketFramer::Frame(absl::string_view input,
                                               Handler* handler) {
  size_t pos = 0;
  while (true) {
    if (!in_payload_) {
      if (!ReadHeader(input, &pos)) return Result::kClose;
      if (!in_payload_) return Result::kOk;  // The header is incomplete.
    }
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(payload_bytes_ - payload_read_, input.size() - pos));
    if (n > 0) {
      char* out;
      if (IsControl(opcode_)) {
        out = control_ + control_size_;
        control_size_ += n;
      } else {
        const size_t old_size = message_.size();
        message_.resize(old_size + n);
        out = &message_[old_size];
      }
      const char* in = input.data() + pos;
      for (size_t i = 0; i < n; ++i) {
        out[i] = in[i] ^ mask_[(payload_read_ + i) & 3];
      }
      payload_read_ += n;
      pos += n;
      if (!IsControl(opcode_) && !utf8_.Feed(absl::string_view(out, n))) {
        return Fail(websocket::kCloseInvalidPayload, "invalid UTF-8");
      }
    }
    if (payload_read_ < payload_bytes_) return Result::kOk;
    in_payload_ = false;
    header_size_ = 0;
    const Result result = FinishFrame(handler);
    if (result == Result::kHeld) {
      held_input_.assign(input.data() + pos, input.size() - pos);
      return result;
    }
    if (result != Result::kOk) return result;
  }
}

WebSocketFramer::Result WebSocketFramer::FinishFrame(Handler* handler) {
  if (IsControl(opcode_)) {
    const absl::string_view payload(control_, control_size_);
    control_size_ = 0;  // The view stays valid: nothing overwrites it here.
    switch (opcode_) {
      case Opcode::kPing:
        handler->OnPing(payload);
        return Result::kOk;
      case Opcode::kPong:
        handler->OnPong(payload);
        return Result::kOk;
      default:
        break;
    }
    // A close frame.
    if (payload.empty()) {
      peer_closed_ = true;
      return Fail(websocket::kCloseNormal, "");
    }
    if (payload.size() == 1) {
      return Fail(websocket::kCloseProtocolError, "truncated close code");
    }
    const uint16_t code =
        static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                              static_cast<uint8_t>(payload[1]));
    if (!IsValidCloseCode(code)) {
      return Fail(websocket::kCloseProtocolError, "invalid close code");
    }
    if (!IsValidUtf8(payload.substr(2))) {
      return Fail(websocket::kCloseInvalidPayload, "invalid close reason");
    }
    peer_closed_ = true;
    return Fail(code, "");
  }
  if (!fin_) return Result::kOk;
  if (!utf8_.complete()) {
    return Fail(websocket::kCloseInvalidPayload, "invalid UTF-8");
  }
  in_message_ = false;
  const Verdict verdict = handler->OnText(message_);
  if (verdict == Verdict::kHold) {
    holding_ = true;
    return Result::kHeld;
  }
  Release(&message_);
  return verdict == Verdict::kStop ? Result::kStopped : Result::kOk;
}

}  // namespace chatd
