#include "net/payload.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include <glog/logging.h>

namespace chatd {

Payload* Payload::Allocate(size_t size) {
  CHECK_LE(size, UINT32_MAX);
  void* memory = std::malloc(sizeof(Payload) + size);
  if (memory == nullptr) throw std::bad_alloc();
  return new (memory) Payload(size);
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

PayloadRef Payload::Copy(absl::string_view bytes) { return Concat({bytes}); }

void Payload::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    this->~Payload();
    std::free(this);
  }
}

}  // namespace chatd
