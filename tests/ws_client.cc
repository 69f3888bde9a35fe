#include "tests/ws_client.h"

#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "net/websocket_handshake.h"

namespace chatd_test {
namespace {

// The longest handshake response we accept before calling it garbage.
constexpr size_t kMaxResponseHead = 16384;

std::string RandomBytes(size_t n) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string bytes(n, '\0');
  for (char &c : bytes) c = static_cast<char>(rng() & 0xff);
  return bytes;
}

const char *OpcodeName(uint8_t opcode) {
  switch (opcode) {
    case kWsContinuation:
      return "continuation";
    case kWsText:
      return "text";
    case kWsBinary:
      return "binary";
    case kWsClose:
      return "close";
    case kWsPing:
      return "ping";
    case kWsPong:
      return "pong";
  }
  return "reserved";
}

}  // namespace

int WsFrame::CloseCode() const {
  if (payload.size() < 2) return 1005;
  return (static_cast<uint8_t>(payload[0]) << 8) |
         static_cast<uint8_t>(payload[1]);
}

std::string WsFrame::CloseReason() const {
  return payload.size() <= 2 ? "" : payload.substr(2);
}

std::string WsFrame::DebugString() const {
  std::string out =
      absl::StrCat(OpcodeName(opcode), "(", opcode, ") fin=", fin ? 1 : 0);
  if (rsv != 0) absl::StrAppend(&out, " rsv=", rsv);
  if (masked) absl::StrAppend(&out, " masked");
  if (opcode == kWsClose) {
    absl::StrAppend(&out, " code=", CloseCode(), " reason=\"",
                    absl::CHexEscape(CloseReason()), "\"");
  } else {
    std::string shown = payload.substr(0, 200);
    absl::StrAppend(&out, " \"", absl::CHexEscape(shown), "\"",
                    payload.size() > 200 ? "..." : "", " (", payload.size(),
                    " bytes)");
  }
  return out;
}

std::string EncodeWsFrame(uint8_t opcode, absl::string_view payload,
                          const WsFrameOptions &options) {
  std::string frame;
  frame.push_back(static_cast<char>(
      (options.fin ? 0x80 : 0) | ((options.rsv & 7) << 4) | (opcode & 0x0f)));
  const uint8_t mask_bit = options.mask ? 0x80 : 0;
  const uint64_t n = payload.size();
  if (n < 126) {
    frame.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xffff) {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(n >> 8));
    frame.push_back(static_cast<char>(n & 0xff));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((n >> shift) & 0xff));
    }
  }
  if (!options.mask) {
    frame.append(payload.data(), payload.size());
    return frame;
  }
  const std::string key = RandomBytes(4);
  frame += key;
  const size_t start = frame.size();
  frame.append(payload.data(), payload.size());
  for (size_t i = 0; i < payload.size(); ++i) frame[start + i] ^= key[i % 4];
  return frame;
}

std::string ClosePayload(int code, absl::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>((code >> 8) & 0xff));
  payload.push_back(static_cast<char>(code & 0xff));
  payload.append(reason.data(), reason.size());
  return payload;
}

WsClient::WsClient() : send_mu_(std::make_unique<std::mutex>()) {}

WsClient::~WsClient() = default;

WsClient::WsClient(WsClient &&other) noexcept { *this = std::move(other); }

WsClient &WsClient::operator=(WsClient &&other) noexcept {
  if (this != &other) {
    tcp_ = std::move(other.tcp_);
    send_mu_ = std::move(other.send_mu_);
    if (send_mu_ == nullptr) send_mu_ = std::make_unique<std::mutex>();
    other.send_mu_ = std::make_unique<std::mutex>();
    handshake_ = std::move(other.handshake_);
    buffer_ = std::move(other.buffer_);
    eof_ = other.eof_;
    reset_ = other.reset_;
    auto_pong_ = other.auto_pong_;
    close_sent_.store(other.close_sent_.load());
    in_message_ = other.in_message_;
    message_ = std::move(other.message_);
    close_code_ = other.close_code_;
  }
  return *this;
}

absl::Status WsClient::Connect(int http_port, absl::string_view path,
                               const Headers &extra_headers,
                               absl::string_view subprotocol,
                               absl::Duration timeout) {
  Endpoint endpoint;
  endpoint.port = http_port;
  return Connect(endpoint, path, extra_headers, subprotocol, timeout);
}

absl::Status WsClient::Connect(const Endpoint &endpoint, absl::string_view path,
                               const Headers &extra_headers,
                               absl::string_view subprotocol,
                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  buffer_.clear();
  handshake_.clear();
  eof_ = reset_ = false;
  close_sent_ = false;
  in_message_ = false;
  message_.clear();
  close_code_.reset();
  absl::Status status = tcp_.Connect(endpoint, timeout);
  if (!status.ok()) return status;

  const std::string key = absl::Base64Escape(RandomBytes(16));
  Headers headers = {
      {"Host", HostPort(endpoint.host, endpoint.port)},
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Key", key},
      {"Sec-WebSocket-Version", "13"},
  };
  for (const auto &[name, value] : extra_headers) {
    bool replaced = false;
    for (auto &header : headers) {
      if (absl::EqualsIgnoreCase(header.first, name)) {
        header.second = value;
        replaced = true;
      }
    }
    if (!replaced) headers.emplace_back(name, value);
  }
  if (!subprotocol.empty()) {
    headers.emplace_back("Sec-WebSocket-Protocol", std::string(subprotocol));
  }
  std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\n");
  std::string sent_key = key;
  for (const auto &[name, value] : headers) {
    absl::StrAppend(&request, name, ": ", value, "\r\n");
    if (absl::EqualsIgnoreCase(name, "Sec-WebSocket-Key")) sent_key = value;
  }
  absl::StrAppend(&request, "\r\n");
  status = tcp_.SendRaw(request, timeout);
  if (!status.ok()) return status;

  size_t end = std::string::npos;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxResponseHead) {
      return absl::FailedPreconditionError(
          absl::StrCat("handshake response head too long: \"",
                       absl::CHexEscape(buffer_.substr(0, 300)), "\"..."));
    }
    if (eof_) {
      return absl::UnavailableError(
          absl::StrCat(EndReason(), " during the handshake, after \"",
                       absl::CHexEscape(buffer_), "\""));
    }
    absl::StatusOr<size_t> got = Fill(deadline);
    if (!got.ok()) {
      return absl::Status(got.status().code(),
                          absl::StrCat(got.status().message(),
                                       " during the handshake, after \"",
                                       absl::CHexEscape(buffer_), "\""));
    }
  }
  handshake_ = buffer_.substr(0, end + 4);
  buffer_.erase(0, end + 4);
  if (!absl::StartsWith(handshake_, "HTTP/1.1 101 ")) {
    // Show the body too, if it came with the head.
    std::string rest = buffer_;
    if (!eof_) {
      absl::StatusOr<size_t> got = Fill(absl::Now() + absl::Milliseconds(200));
      (void)got;
      rest = buffer_;
    }
    return absl::FailedPreconditionError(
        absl::StrCat("handshake refused: \"", absl::CHexEscape(handshake_),
                     absl::CHexEscape(rest), "\""));
  }
  const std::string accept = ResponseHeader("Sec-WebSocket-Accept");
  const std::string want = chatd::websocket::AcceptKey(sent_key);
  if (accept != want) {
    return absl::FailedPreconditionError(
        absl::StrCat("Sec-WebSocket-Accept is \"", accept, "\", want \"", want,
                     "\" in \"", absl::CHexEscape(handshake_), "\""));
  }
  if (!absl::EqualsIgnoreCase(ResponseHeader("Upgrade"), "websocket")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no Upgrade: websocket in \"", absl::CHexEscape(handshake_), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<WsClient> WsClient::Join(int http_port, absl::string_view group,
                                        absl::string_view name, int online) {
  Endpoint endpoint;
  endpoint.port = http_port;
  return Join(endpoint, group, name, online);
}

absl::StatusOr<WsClient> WsClient::Join(const Endpoint &endpoint,
                                        absl::string_view group,
                                        absl::string_view name, int online) {
  WsClient client;
  absl::Status status = client.Connect(endpoint);
  if (!status.ok()) return status;
  absl::Status sent = client.SendText(absl::StrCat("JOIN ", group, " ", name));
  absl::StatusOr<std::string> reply = client.ReadLine();
  if (!reply.ok()) return sent.ok() ? reply.status() : sent;
  const std::string prefix =
      absl::StrCat("* you joined ", group, " as ", name, " (");
  if (online < 0) {
    absl::string_view count = *reply;
    int n = 0;
    if (absl::ConsumePrefix(&count, prefix) &&
        absl::ConsumeSuffix(&count, " online)") &&
        absl::SimpleAtoi(count, &n) && n >= 1) {
      return client;
    }
    return absl::FailedPreconditionError(
        absl::StrCat("expected \"", prefix, "<n> online)\", got \"",
                     absl::CHexEscape(*reply), "\""));
  }
  const std::string welcome = absl::StrCat(prefix, online, " online)");
  if (*reply != welcome) {
    return absl::FailedPreconditionError(absl::StrCat(
        "expected \"", welcome, "\", got \"", absl::CHexEscape(*reply), "\""));
  }
  return client;
}

std::string WsClient::ResponseHeader(absl::string_view name) const {
  for (absl::string_view line : absl::StrSplit(handshake_, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    if (absl::EqualsIgnoreCase(
            absl::StripAsciiWhitespace(line.substr(0, colon)), name)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "";
}

absl::Status WsClient::SendRaw(absl::string_view bytes,
                               absl::Duration timeout) {
  std::lock_guard<std::mutex> lock(*send_mu_);
  return tcp_.SendRaw(bytes, timeout);
}

absl::Status WsClient::SendFrame(uint8_t opcode, absl::string_view payload,
                                 const WsFrameOptions &options,
                                 absl::Duration timeout) {
  if (opcode == kWsClose) close_sent_ = true;
  return SendRaw(EncodeWsFrame(opcode, payload, options), timeout);
}

absl::Status WsClient::SendText(absl::string_view text,
                                absl::Duration timeout) {
  return SendFrame(kWsText, text, {}, timeout);
}

absl::Status WsClient::SendClose(int code, absl::string_view reason,
                                 absl::Duration timeout) {
  return SendFrame(kWsClose, ClosePayload(code, reason), {}, timeout);
}

absl::StatusOr<size_t> WsClient::Fill(absl::Time deadline) {
  if (!tcp_.is_open()) return absl::FailedPreconditionError("not connected");
  // ChatClient reads plain TCP or TLS alike, bounded by poll().
  absl::Duration left = deadline - absl::Now();
  if (left < absl::ZeroDuration()) left = absl::ZeroDuration();
  absl::StatusOr<size_t> got = tcp_.ReadSome(&buffer_, left);
  if (!got.ok()) return got.status();
  if (*got == 0) {
    eof_ = true;
    reset_ = tcp_.ended_by_reset();
  }
  return got;
}

std::optional<WsFrame> WsClient::TakeFrame() {
  if (buffer_.size() < 2) return std::nullopt;
  const uint8_t b0 = static_cast<uint8_t>(buffer_[0]);
  const uint8_t b1 = static_cast<uint8_t>(buffer_[1]);
  size_t pos = 2;
  uint64_t length = b1 & 0x7f;
  if (length == 126) {
    if (buffer_.size() < 4) return std::nullopt;
    length = (static_cast<uint64_t>(static_cast<uint8_t>(buffer_[2])) << 8) |
             static_cast<uint8_t>(buffer_[3]);
    pos = 4;
  } else if (length == 127) {
    if (buffer_.size() < 10) return std::nullopt;
    length = 0;
    for (int i = 2; i < 10; ++i) {
      length = (length << 8) | static_cast<uint8_t>(buffer_[i]);
    }
    pos = 10;
  }
  const bool masked = (b1 & 0x80) != 0;
  char key[4] = {0, 0, 0, 0};
  if (masked) {
    if (buffer_.size() < pos + 4) return std::nullopt;
    memcpy(key, buffer_.data() + pos, 4);
    pos += 4;
  }
  if (buffer_.size() - pos < length) return std::nullopt;
  WsFrame frame;
  frame.fin = (b0 & 0x80) != 0;
  frame.rsv = (b0 >> 4) & 7;
  frame.opcode = b0 & 0x0f;
  frame.masked = masked;
  frame.payload = buffer_.substr(pos, length);
  if (masked) {
    for (size_t i = 0; i < frame.payload.size(); ++i) {
      frame.payload[i] ^= key[i % 4];
    }
  }
  buffer_.erase(0, pos + length);
  return frame;
}

std::string WsClient::EndReason() const {
  return reset_ ? "connection reset by the server"
                : "connection closed by the server";
}

absl::StatusOr<WsFrame> WsClient::ReadFrameUntil(absl::Time deadline) {
  while (true) {
    std::optional<WsFrame> frame = TakeFrame();
    if (frame.has_value()) return *std::move(frame);
    if (eof_) {
      std::string message = EndReason();
      if (!buffer_.empty()) {
        absl::StrAppend(&message, " after a partial frame \"",
                        absl::CHexEscape(buffer_.substr(0, 300)), "\"");
      }
      return absl::UnavailableError(message);
    }
    absl::StatusOr<size_t> got = Fill(deadline);
    if (!got.ok()) return got.status();
  }
}

absl::StatusOr<WsFrame> WsClient::ReadFrame(absl::Duration timeout) {
  return ReadFrameUntil(absl::Now() + timeout);
}

absl::StatusOr<std::string> WsClient::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<WsFrame> frame = ReadFrameUntil(deadline);
    if (!frame.ok()) return frame.status();
    if (frame->rsv != 0 || frame->masked) {
      return absl::DataLossError(
          absl::StrCat("bad server frame: ", frame->DebugString()));
    }
    switch (frame->opcode) {
      case kWsPing:
        if (auto_pong_) {
          absl::Status sent = SendFrame(kWsPong, frame->payload);
          if (!sent.ok()) return sent;
        }
        continue;
      case kWsPong:
        continue;
      case kWsClose:
        close_code_ = frame->CloseCode();
        return absl::FailedPreconditionError(
            absl::StrCat("close frame ", frame->CloseCode(), " reason \"",
                         absl::CHexEscape(frame->CloseReason()), "\""));
      case kWsText:
      case kWsContinuation: {
        if ((frame->opcode == kWsText) == in_message_) {
          return absl::DataLossError(
              absl::StrCat("unexpected ", frame->DebugString(),
                           in_message_ ? " inside a fragmented message" : ""));
        }
        if (frame->fin) {
          std::string message = std::move(message_);
          message_.clear();
          in_message_ = false;
          absl::StrAppend(&message, frame->payload);
          return message;
        }
        in_message_ = true;
        absl::StrAppend(&message_, frame->payload);
        continue;
      }
      default:
        return absl::DataLossError(
            absl::StrCat("unexpected server frame: ", frame->DebugString()));
    }
  }
}

std::string WsClient::NextLine(absl::Duration timeout) {
  absl::StatusOr<std::string> line = ReadLine(timeout);
  if (line.ok()) return *std::move(line);
  return absl::StrCat("<no line: ", line.status().ToString(), ">");
}

absl::Status WsClient::ExpectClose(int code, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<WsFrame> frame = ReadFrameUntil(deadline);
    if (!frame.ok()) {
      return absl::Status(frame.status().code(),
                          absl::StrCat("waiting for close ", code, ": ",
                                       frame.status().message()));
    }
    if (frame->opcode == kWsPing) {
      if (auto_pong_) SendFrame(kWsPong, frame->payload).IgnoreError();
      continue;
    }
    if (frame->opcode == kWsPong) continue;
    if (frame->opcode != kWsClose) {
      return absl::FailedPreconditionError(absl::StrCat(
          "expected close ", code, ", got ", frame->DebugString()));
    }
    if (frame->CloseCode() != code || frame->rsv != 0 || !frame->fin ||
        frame->masked) {
      return absl::FailedPreconditionError(absl::StrCat(
          "expected close ", code, ", got ", frame->DebugString()));
    }
    break;
  }
  if (!close_sent_) {
    // The echo; the server may already be gone, which is fine.
    {
      std::lock_guard<std::mutex> lock(*send_mu_);
      close_sent_ = true;
      tcp_.SendRaw(EncodeWsFrame(kWsClose, ClosePayload(code)),
                   absl::Seconds(1))
          .IgnoreError();
    }
  }
  while (buffer_.empty() && !eof_) {
    absl::StatusOr<size_t> got = Fill(deadline);
    if (!got.ok()) {
      return absl::Status(
          got.status().code(),
          absl::StrCat("after close ", code, ", the connection stays open: ",
                       got.status().message()));
    }
  }
  if (!buffer_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("bytes after close ", code, ": \"",
                     absl::CHexEscape(buffer_.substr(0, 300)), "\""));
  }
  return absl::OkStatus();
}

absl::Status WsClient::DrainUntilEnd(absl::Duration timeout,
                                     uint64_t *discarded) {
  const absl::Time deadline = absl::Now() + timeout;
  uint64_t total = 0;
  std::string tail;  // The last bytes received, for the error message.
  while (!eof_) {
    total += buffer_.size();
    tail = absl::StrCat(tail, buffer_);
    if (tail.size() > 64) tail.erase(0, tail.size() - 64);
    buffer_.clear();
    absl::StatusOr<size_t> got = Fill(deadline);
    if (!got.ok()) {
      if (discarded != nullptr) *discarded = total;
      return absl::Status(
          got.status().code(),
          absl::StrCat(got.status().message(), " for the end, after ", total,
                       " bytes ending \"", absl::CHexEscape(tail), "\""));
    }
  }
  total += buffer_.size();
  buffer_.clear();
  if (discarded != nullptr) *discarded = total;
  return absl::OkStatus();
}

}  // namespace chatd_test
