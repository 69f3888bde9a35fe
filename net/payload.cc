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
  // for the header][header][text]["\n"]. Otherwise the WebSocket form gets
  // a repaired copy: [room][header][repaired text][text]["\n"].
  std::string joined;
  absl::string_view text;
  if (parts.size() == 1) {
    text = *parts.begin();
  } else {
    joined.reserve(text_size);
    for (absl::string_view part : parts)
      joined.append(part.data(), part.size());
    text = joined;
  }
  const bool valid = IsValidUtf8(text);
  const std::string repaired = valid ? std::string() : ToValidUtf8(text);
  const size_t ws_text = valid ? text.size() : repaired.size();
  char header[websocket::kMaxHeaderBytes];
  const size_t header_size =
      websocket::EncodeHeader(websocket::Opcode::kText, ws_text, header);
  const size_t prefix =
      websocket::kMaxHeaderBytes + (valid ? 0 : repaired.size());
  Payload* p = Allocate(text.size() + 1, prefix);
  p->ws_start_ =
      static_cast<uint32_t>(websocket::kMaxHeaderBytes - header_size);
  p->ws_size_ = static_cast<uint32_t>(header_size + ws_text);
  std::memcpy(p->data_ + p->ws_start_, header, header_size);
  if (!valid) {
    std::memcpy(p->data_ + websocket::kMaxHeaderBytes, repaired.data(),
                repaired.size());
  }
  char* out = p->data_ + prefix;
  if (!text.empty()) std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\n';
  return PayloadRef(p);
}

PayloadRef Payload::Copy(absl::string_view bytes) { return Concat({bytes}); }

void Payload::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    this->~Payload();
    std::free(this);
  }
}

}  // namespace chatd
