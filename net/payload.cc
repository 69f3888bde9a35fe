#include "net/payload.h"

#include <glog/logging.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "net/utf8.h"
#include "net/websocket_header.h"

namespace chatd {

Payload* Payload::Allocate(size_t size, size_t prefix) {
  CHECK_LE(size + prefix, UINT32_MAX);
  void* memory = std::malloc(sizeof(Payload) + prefix + size);
  if (memory == nullptr) throw std::bad_alloc();
  return new (memory) Payload(size, prefix);
}

PayloadRef Payload::Concat(std::initializer_list<absl::string_view> parts) {
  size_t size = 0;
  for (absl::string_view part : parts) size += part.size();
  Payload* p = Allocate(size);
  char* out = p->data_;
  for (absl::string_view part : parts) {
    if (part.empty()) continue;
    std::memcpy(out, part.data(), part.size());
    out += part.size();
  }
  return PayloadRef(p);
}

PayloadRef Payload::Line(std::initializer_list<absl::string_view> parts) {
  size_t text_size = 0;
  for (absl::string_view part : parts) text_size += part.size();
  // Most lines are valid UTF-8 and their two forms share the text: [room
  // for the header][header][text]["\n"]. The text is copied into place and
  // checked there, so the common case copies it once.
  Payload* p = Allocate(text_size + 1, websocket::kMaxHeaderBytes);
  char* text = p->data_ + websocket::kMaxHeaderBytes;
  char* out = text;
  for (absl::string_view part : parts) {
    if (part.empty()) continue;
    std::memcpy(out, part.data(), part.size());
    out += part.size();
  }
  *out = '\n';
  const absl::string_view stream_text(text, text_size);
  if (IsValidUtf8(stream_text)) {
    char header[websocket::kMaxHeaderBytes];
    const size_t header_size =
        websocket::EncodeHeader(websocket::Opcode::kText, text_size, header);
    p->ws_start_ =
        static_cast<uint32_t>(websocket::kMaxHeaderBytes - header_size);
    p->ws_size_ = static_cast<uint32_t>(header_size + text_size);
    std::memcpy(p->data_ + p->ws_start_, header, header_size);
    return PayloadRef(p);
  }
  // Not UTF-8 (a stream member may send any bytes), which a text message
  // must be: the WebSocket form gets a repaired copy, [room][header]
  // [repaired text][text]["\n"]. Rare, so it may cost a second allocation.
  const std::string repaired = ToValidUtf8(stream_text);
  const size_t prefix = websocket::kMaxHeaderBytes + repaired.size();
  Payload* q = Allocate(text_size + 1, prefix);
  char header[websocket::kMaxHeaderBytes];
  const size_t header_size = websocket::EncodeHeader(
      websocket::Opcode::kText, repaired.size(), header);
  q->ws_start_ =
      static_cast<uint32_t>(websocket::kMaxHeaderBytes - header_size);
  q->ws_size_ = static_cast<uint32_t>(header_size + repaired.size());
  std::memcpy(q->data_ + q->ws_start_, header, header_size);
  std::memcpy(q->data_ + websocket::kMaxHeaderBytes, repaired.data(),
              repaired.size());
  std::memcpy(q->data_ + prefix, text, text_size + 1);
  PayloadRef first_try(p);  // Freed on return.
  return PayloadRef(q);
}

PayloadRef Payload::Copy(absl::string_view bytes) { return Concat({bytes}); }

void Payload::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    this->~Payload();
    std::free(this);
  }
}

}  // namespace chatd
