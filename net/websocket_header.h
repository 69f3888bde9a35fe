// The header of a WebSocket frame as a server sends it (RFC 6455 section
// 5.2): FIN set, never masked. Apart from the framer, Payload uses it, to
// frame a line once for every WebSocket recipient.
#ifndef CHATD_NET_WEBSOCKET_HEADER_H_
#define CHATD_NET_WEBSOCKET_HEADER_H_

#include <cstddef>
#include <cstdint>

namespace chatd {
namespace websocket {

enum class Opcode : uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10,
};

// The longest header of a server frame (unmasked).
inline constexpr size_t kMaxHeaderBytes = 10;

// Writes the header of an unmasked server frame with FIN set: 2, 4 or 10
// bytes into `out` (which must have room for kMaxHeaderBytes); returns the
// count. Server frames are never masked, so the header depends only on the
// opcode and the length: a broadcast builds it once for every recipient.
size_t EncodeHeader(Opcode opcode, uint64_t payload_bytes, char* out);

}  // namespace websocket
}  // namespace chatd

#endif  // CHATD_NET_WEBSOCKET_HEADER_H_
