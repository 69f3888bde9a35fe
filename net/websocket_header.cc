#include "net/websocket_header.h"

namespace chatd {
namespace websocket {

size_t EncodeHeader(Opcode opcode, uint64_t payload_bytes, char* out) {
  out[0] = static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
  if (payload_bytes < 126) {
    out[1] = static_cast<char>(payload_bytes);
    return 2;
  }
  if (payload_bytes <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<char>(payload_bytes >> 8);
    out[3] = static_cast<char>(payload_bytes);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) {
    out[2 + i] = static_cast<char>(payload_bytes >> (8 * (7 - i)));
  }
  return 10;
}

}  // namespace websocket
}  // namespace chatd
