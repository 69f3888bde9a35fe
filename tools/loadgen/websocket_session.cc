#include "tools/loadgen/websocket_session.h"

#include <sys/random.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/websocket_handshake.h"

namespace chatd::loadgen {
namespace {

// Largest server frame or reassembled message accepted; chatd's lines are
// 4 KiB at most, nats-server's default max_payload is 1 MiB.
constexpr size_t kMaxMessageBytes = 8 << 20;

// Random bytes from the kernel; a fixed fallback only if that fails (the
// key and masks need not be secret here, just unpredictable to a proxy).
void RandomBytes(void* out, size_t size) {
  if (getrandom(out, size, 0) != static_cast<ssize_t>(size)) {
    memset(out, 0x5A, size);
  }
}

}  // namespace

std::optional<WebSocketOptions> WebSocketOptionsFor(ProtocolKind kind) {
  WebSocketOptions options;
  switch (kind) {
    case ProtocolKind::kChatd:
      options.mode = WsPayloadMode::kLines;
      options.subprotocol = "chatd.line";
      return options;
    case ProtocolKind::kNats:
      options.mode = WsPayloadMode::kStream;
      return options;
    case ProtocolKind::kIrc:
    case ProtocolKind::kRedis:
      break;
  }
  return std::nullopt;
}

WebSocketSession::WebSocketSession(std::unique_ptr<ProtocolSession> inner,
                                   WebSocketOptions options)
    : inner_(std::move(inner)), options_(std::move(options)) {
  if (options_.key.empty()) {
    uint8_t bytes[16];
    RandomBytes(bytes, sizeof(bytes));
    options_.key = WebSocketKey(bytes);
  }
  mask_state_ = options_.mask_seed;
  if (mask_state_ == 0) RandomBytes(&mask_state_, sizeof(mask_state_));
  if (mask_state_ == 0) mask_state_ = 0x9E3779B97F4A7C15ULL;
  expected_accept_ = ::chatd::websocket::AcceptKey(options_.key);
}

uint32_t WebSocketSession::NextMask() {
  // xorshift64*: a few cycles per frame.
  mask_state_ ^= mask_state_ >> 12;
  mask_state_ ^= mask_state_ << 25;
  mask_state_ ^= mask_state_ >> 27;
  return static_cast<uint32_t>((mask_state_ * 0x2545F4914F6CDD1DULL) >> 32);
}

void WebSocketSession::Start(SessionEvents* events) {
  outer_ = events;
  events->Send(BuildUpgradeRequest(options_.host_port, options_.path,
                                   options_.key, options_.subprotocol,
                                   options_.origin_scheme));
}

void WebSocketSession::AppendFrames(absl::string_view bytes, std::string* out) {
  if (options_.mode == WsPayloadMode::kStream) {
    if (!bytes.empty()) {
      AppendMaskedFrame(WsOpcode::kBinary, bytes, NextMask(), out);
    }
    return;
  }
  // One TEXT message per line, without its "\n" (or "\r\n").
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    absl::string_view line = bytes.substr(0, newline);
    bytes.remove_prefix(newline == absl::string_view::npos ? bytes.size()
                                                           : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    AppendMaskedFrame(WsOpcode::kText, line, NextMask(), out);
  }
}

void WebSocketSession::FrameMessage(absl::string_view text, std::string* out) {
  inner_frame_.clear();
  inner_->FrameMessage(text, &inner_frame_);
  AppendFrames(inner_frame_, out);
}

void WebSocketSession::Send(absl::string_view bytes) {
  send_frame_.clear();
  AppendFrames(bytes, &send_frame_);
  outer_->Send(send_frame_);
}

bool WebSocketSession::Feed(absl::string_view bytes, SessionEvents* events) {
  outer_ = events;
  const absl::string_view data = buffer_.Append(bytes);
  size_t used = 0;
  if (!open_) {
    size_t head = 0;
    switch (ParseUpgradeResponse(data, expected_accept_, options_.subprotocol,
                                 &head, &error_)) {
      case ParseStatus::kNeedMore:
        buffer_.Consume(0);
        return true;
      case ParseStatus::kBad:
        buffer_.Consume(0);
        return false;
      case ParseStatus::kDone:
        break;
    }
    used = head;
    open_ = true;
    // The handshake strings are not needed any more.
    std::string().swap(options_.key);
    std::string().swap(options_.host_port);
    std::string().swap(options_.path);
    std::string().swap(expected_accept_);
    inner_->Start(this);
  }
  bool failed = false;
  used += ParseFrames(data.substr(used), &failed);
  buffer_.Consume(used);
  if (!FlushLines()) failed = true;
  return !failed;
}

size_t WebSocketSession::ParseFrames(absl::string_view data, bool* failed) {
  size_t pos = 0;
  while (pos < data.size()) {
    ServerFrame frame;
    size_t size = 0;
    const ParseStatus status = ParseServerFrame(
        data.substr(pos), kMaxMessageBytes, &frame, &size, &error_);
    if (status == ParseStatus::kNeedMore) break;
    if (status == ParseStatus::kBad) {
      *failed = true;
      return pos;
    }
    pos += size;
    switch (frame.opcode) {
      case WsOpcode::kPing:
        // What came before the ping is handled before the pong is sent.
        if (!FlushLines()) {
          *failed = true;
          return pos;
        }
        send_frame_.clear();
        AppendMaskedFrame(WsOpcode::kPong, frame.payload, NextMask(),
                          &send_frame_);
        outer_->Send(send_frame_);
        continue;
      case WsOpcode::kPong:
        continue;
      case WsOpcode::kClose: {
        int code = -1;
        if (frame.payload.size() >= 2) {
          code = (static_cast<uint8_t>(frame.payload[0]) << 8) |
                 static_cast<uint8_t>(frame.payload[1]);
        }
        error_ = absl::StrCat(
            "server sent a close frame (code ", code,
            frame.payload.size() > 2 ? ", " : "",
            frame.payload.size() > 2 ? frame.payload.substr(2, 80) : "", ")");
        *failed = true;
        return pos;
      }
      case WsOpcode::kText:
      case WsOpcode::kBinary:
      case WsOpcode::kContinuation:
        break;
    }
    const bool continuation = frame.opcode == WsOpcode::kContinuation;
    if (continuation != in_message_) {
      error_ = continuation ? "continuation frame outside a message"
                            : "new message inside a fragmented one";
      *failed = true;
      return pos;
    }
    in_message_ = !frame.fin;
    if (options_.mode == WsPayloadMode::kStream) {
      // Frame boundaries mean nothing to a byte stream; keep the order
      // with lines collected so far (none in this mode).
      if (!frame.payload.empty() && !inner_->Feed(frame.payload, this)) {
        error_ = std::string(inner_->FailureReason());
        *failed = true;
        return pos;
      }
      continue;
    }
    if (frame.fin && fragments_.empty()) {
      lines_.append(frame.payload.data(), frame.payload.size());
      lines_.push_back('\n');
      continue;
    }
    if (fragments_.size() + frame.payload.size() > kMaxMessageBytes) {
      error_ = "fragmented server message too long";
      *failed = true;
      return pos;
    }
    fragments_.append(frame.payload.data(), frame.payload.size());
    if (frame.fin) {
      lines_.append(fragments_);
      lines_.push_back('\n');
      std::string().swap(fragments_);
    }
  }
  return pos;
}

bool WebSocketSession::FlushLines() {
  if (lines_.empty()) return true;
  const bool ok = inner_->Feed(lines_, this);
  lines_.clear();
  if (lines_.capacity() > 64 * 1024) std::string().swap(lines_);
  if (!ok && error_.empty()) error_ = std::string(inner_->FailureReason());
  return ok;
}

}  // namespace chatd::loadgen
