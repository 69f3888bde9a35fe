#include "tools/loadgen/websocket_client.h"

#include <string.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chatd::loadgen {
namespace {

// A 101 answer is a few hundred bytes; far more is not a WebSocket server.
constexpr size_t kMaxResponseHead = 16 * 1024;

// Whether the comma-separated header value `list` holds `token`
// (case-insensitive).
bool HasToken(absl::string_view list, absl::string_view token) {
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(item), token)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string WebSocketKey(const uint8_t (&bytes)[16]) {
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(bytes), 16));
}

std::string BuildUpgradeRequest(absl::string_view host_port,
                                absl::string_view path, absl::string_view key,
                                absl::string_view subprotocol,
                                absl::string_view origin_scheme) {
  // Origin: same origin, as a page served by the server itself would
  // send, so a server that checks it lets loadgen in.
  std::string request = absl::StrCat(
      "GET ", path, " HTTP/1.1\r\nHost: ", host_port,
      "\r\nOrigin: ", origin_scheme, "://", host_port,
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
      key, "\r\nSec-WebSocket-Version: 13\r\n");
  if (!subprotocol.empty()) {
    absl::StrAppend(&request, "Sec-WebSocket-Protocol: ", subprotocol, "\r\n");
  }
  request.append("\r\n");
  return request;
}

ParseStatus ParseUpgradeResponse(absl::string_view data,
                                 absl::string_view expected_accept,
                                 absl::string_view subprotocol,
                                 size_t* header_bytes, std::string* error) {
  const size_t end = data.find("\r\n\r\n");
  if (end == absl::string_view::npos) {
    if (data.size() > kMaxResponseHead) {
      *error = "upgrade response head too long";
      return ParseStatus::kBad;
    }
    return ParseStatus::kNeedMore;
  }
  const absl::string_view head = data.substr(0, end);
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  // "HTTP/1.1 101 Switching Protocols"
  const absl::string_view status_line = lines[0];
  std::vector<absl::string_view> words =
      absl::StrSplit(status_line, absl::MaxSplits(' ', 2));
  int status = 0;
  if (words.size() < 2 || !absl::StartsWith(words[0], "HTTP/1.") ||
      !absl::SimpleAtoi(words[1], &status)) {
    *error = absl::StrCat("not an HTTP response: ", status_line.substr(0, 80));
    return ParseStatus::kBad;
  }
  if (status != 101) {
    *error = absl::StrCat("upgrade refused: ", status_line.substr(0, 80));
    return ParseStatus::kBad;
  }
  bool upgrade = false, connection = false, accept = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) {
      *error = absl::StrCat("bad header line: ", lines[i].substr(0, 80));
      return ParseStatus::kBad;
    }
    const absl::string_view name =
        absl::StripAsciiWhitespace(lines[i].substr(0, colon));
    const absl::string_view value =
        absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "Upgrade")) {
      upgrade = absl::EqualsIgnoreCase(value, "websocket");
    } else if (absl::EqualsIgnoreCase(name, "Connection")) {
      connection = HasToken(value, "upgrade");
    } else if (absl::EqualsIgnoreCase(name, "Sec-WebSocket-Accept")) {
      if (value != expected_accept) {
        *error =
            absl::StrCat("wrong Sec-WebSocket-Accept: ", value.substr(0, 40));
        return ParseStatus::kBad;
      }
      accept = true;
    } else if (absl::EqualsIgnoreCase(name, "Sec-WebSocket-Protocol")) {
      if (subprotocol.empty() || value != subprotocol) {
        *error = absl::StrCat("unrequested subprotocol: ", value.substr(0, 40));
        return ParseStatus::kBad;
      }
    } else if (absl::EqualsIgnoreCase(name, "Sec-WebSocket-Extensions")) {
      *error = absl::StrCat("unrequested extension: ", value.substr(0, 40));
      return ParseStatus::kBad;
    }
  }
  if (!upgrade || !connection || !accept) {
    *error =
        absl::StrCat("101 without ", !upgrade      ? "Upgrade: websocket"
                                     : !connection ? "Connection: upgrade"
                                                   : "Sec-WebSocket-Accept");
    return ParseStatus::kBad;
  }
  *header_bytes = end + 4;
  return ParseStatus::kDone;
}

void ApplyMask(char* data, size_t size, uint32_t mask_key) {
  // Eight bytes at a time: the key twice, in memory order.
  uint64_t key8 = mask_key;
  key8 |= key8 << 32;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    memcpy(&word, data + i, 8);
    word ^= key8;
    memcpy(data + i, &word, 8);
  }
  char key[4];
  memcpy(key, &mask_key, 4);
  for (; i < size; ++i) data[i] ^= key[i & 3];
}

void AppendMaskedFrame(WsOpcode opcode, absl::string_view payload,
                       uint32_t mask_key, std::string* out) {
  const size_t size = payload.size();
  char header[14];
  size_t header_size = 0;
  header[header_size++] =
      static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
  if (size < 126) {
    header[header_size++] = static_cast<char>(0x80 | size);
  } else if (size <= 0xFFFF) {
    header[header_size++] = static_cast<char>(0x80 | 126);
    header[header_size++] = static_cast<char>(size >> 8);
    header[header_size++] = static_cast<char>(size);
  } else {
    header[header_size++] = static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      header[header_size++] =
          static_cast<char>(static_cast<uint64_t>(size) >> shift);
    }
  }
  memcpy(header + header_size, &mask_key, 4);
  header_size += 4;
  const size_t start = out->size();
  out->resize(start + header_size + size);
  char* dst = &(*out)[start];
  memcpy(dst, header, header_size);
  dst += header_size;
  if (size > 0) memcpy(dst, payload.data(), size);
  ApplyMask(dst, size, mask_key);
}

ParseStatus ParseServerFrame(absl::string_view data, size_t max_payload,
                             ServerFrame* frame, size_t* frame_bytes,
                             std::string* error) {
  if (data.size() < 2) return ParseStatus::kNeedMore;
  const uint8_t b0 = static_cast<uint8_t>(data[0]);
  const uint8_t b1 = static_cast<uint8_t>(data[1]);
  if (b0 & 0x70) {
    *error = "server frame with reserved bits set";
    return ParseStatus::kBad;
  }
  const uint8_t op = b0 & 0x0F;
  const bool control = op >= 0x8;
  if (!(op <= 0x2 || (op >= 0x8 && op <= 0xA))) {
    *error = absl::StrCat("server frame with reserved opcode ", op);
    return ParseStatus::kBad;
  }
  if (b1 & 0x80) {
    *error = "masked server frame";
    return ParseStatus::kBad;
  }
  const bool fin = (b0 & 0x80) != 0;
  uint64_t length = b1 & 0x7F;
  size_t header = 2;
  if (length == 126) {
    if (data.size() < 4) return ParseStatus::kNeedMore;
    length = (static_cast<uint64_t>(static_cast<uint8_t>(data[2])) << 8) |
             static_cast<uint8_t>(data[3]);
    header = 4;
  } else if (length == 127) {
    if (data.size() < 10) return ParseStatus::kNeedMore;
    length = 0;
    for (int i = 2; i < 10; ++i) {
      length = (length << 8) | static_cast<uint8_t>(data[i]);
    }
    if (length >> 63) {
      *error = "server frame length with the top bit set";
      return ParseStatus::kBad;
    }
    header = 10;
  }
  if (control && (!fin || length > 125)) {
    *error = "fragmented or long control frame";
    return ParseStatus::kBad;
  }
  if (length > max_payload) {
    *error = absl::StrCat("server frame of ", length, " bytes");
    return ParseStatus::kBad;
  }
  if (data.size() - header < length) return ParseStatus::kNeedMore;
  frame->opcode = static_cast<WsOpcode>(op);
  frame->fin = fin;
  frame->payload = data.substr(header, static_cast<size_t>(length));
  *frame_bytes = header + static_cast<size_t>(length);
  return ParseStatus::kDone;
}

}  // namespace chatd::loadgen
