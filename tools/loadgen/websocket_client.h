// The client side of RFC 6455 as loadgen needs it: the HTTP/1.1 upgrade
// request and the check of the server's 101 answer, masked client frames,
// and the parse of the server's (unmasked) frames. Plain functions on
// buffers, no I/O and no state beyond what the caller passes; any thread.
// WebSocketSession (websocket_session.h) puts them under a ProtocolSession.
#ifndef CHATD_TOOLS_LOADGEN_WEBSOCKET_CLIENT_H_
#define CHATD_TOOLS_LOADGEN_WEBSOCKET_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "net/websocket_header.h"

namespace chatd::loadgen {

// The opcodes are the server's (net/websocket_header.h); only the framing
// differs, since a client masks what it sends.
using WsOpcode = ::chatd::websocket::Opcode;

// ---- Handshake ----

// The Sec-WebSocket-Key for 16 key bytes: their base64 (24 characters).
std::string WebSocketKey(const uint8_t (&bytes)[16]);

// "GET <path> HTTP/1.1" with Host, a same-origin Origin
// (<origin_scheme>://<host_port>: "https" under TLS), Upgrade, Connection,
// Sec-WebSocket-Key and Sec-WebSocket-Version: 13, plus
// Sec-WebSocket-Protocol when `subprotocol` is not empty.
std::string BuildUpgradeRequest(absl::string_view host_port,
                                absl::string_view path, absl::string_view key,
                                absl::string_view subprotocol,
                                absl::string_view origin_scheme = "http");

enum class ParseStatus { kNeedMore, kDone, kBad };

// Checks the server's answer at the start of `data`: status 101, Upgrade:
// websocket, Connection: upgrade, Sec-WebSocket-Accept equal to
// `expected_accept`, no extension, and no subprotocol other than
// `subprotocol` (none if it is empty; the server may also choose none).
// kDone sets *header_bytes to the length of the response head (through
// the blank line; frames may follow in the same read). kBad sets *error.
ParseStatus ParseUpgradeResponse(absl::string_view data,
                                 absl::string_view expected_accept,
                                 absl::string_view subprotocol,
                                 size_t* header_bytes, std::string* error);

// ---- Client frames ----

// Appends one whole (FIN) frame of `opcode` carrying `payload`, masked
// with `mask_key` (its four bytes in memory order are the masking key) as
// RFC 6455 requires of a client. Appends in place: no allocation once
// `out` has the capacity.
void AppendMaskedFrame(WsOpcode opcode, absl::string_view payload,
                       uint32_t mask_key, std::string* out);

// XORs `size` bytes at `data` with the four key bytes, starting at key
// byte 0 (masking and unmasking are the same operation).
void ApplyMask(char* data, size_t size, uint32_t mask_key);

// ---- Server frames ----

struct ServerFrame {
  WsOpcode opcode = WsOpcode::kContinuation;
  bool fin = false;
  absl::string_view payload;  // Points into the parsed data.
};

// Parses one frame at the start of `data`. kDone sets *frame and
// *frame_bytes (header plus payload). kNeedMore: the frame is not all
// there yet. kBad (sets *error): reserved bits or opcodes, a masked server
// frame, a fragmented or over-125-byte control frame, a 64-bit length with
// its top bit set, or a payload over `max_payload`.
ParseStatus ParseServerFrame(absl::string_view data, size_t max_payload,
                             ServerFrame* frame, size_t* frame_bytes,
                             std::string* error);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_WEBSOCKET_CLIENT_H_
