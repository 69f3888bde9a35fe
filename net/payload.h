// Payload is an immutable, reference-counted run of bytes: the unit of
// fan-out. A broadcast line is formatted once into a Payload, and every
// recipient's output queue holds a reference to the same bytes, so fanning a
// message out to N members costs N reference bumps, never N copies.
//
// A Payload is created by one thread, then shared read-only by any number of
// threads; the last PayloadRef to go frees it. Header and bytes share one
// allocation.
#ifndef CHATD_NET_PAYLOAD_H_
#define CHATD_NET_PAYLOAD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "absl/strings/string_view.h"

namespace chatd {

class PayloadRef;

class Payload {
 public:
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;

  // Returns a payload holding the concatenation of `parts`.
  static PayloadRef Concat(std::initializer_list<absl::string_view> parts);
  static PayloadRef Copy(absl::string_view bytes);

  absl::string_view view() const { return absl::string_view(data_, size_); }
  const char* data() const { return data_; }
  size_t size() const { return size_; }

  // For tests and diagnostics only: the count is stale as soon as it is read.
  int32_t ref_count_for_testing() const {
    return refs_.load(std::memory_order_relaxed);
  }

 private:
  friend class PayloadRef;

  explicit Payload(size_t size) : size_(size) {}
  static Payload* Allocate(size_t size);

  // Relaxed: taking a new reference needs no ordering, the caller already
  // holds one.
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // Acq_rel: the release orders this thread's reads before the free; the
  // acquire makes the freeing thread see every other thread's reads done.
  void Unref();

  std::atomic<int32_t> refs_{1};
  const uint32_t size_;
  char data_[];  // size_ bytes follow the header in the same allocation.
};

// A counted reference to a Payload; movable and copyable, null by default.
class PayloadRef {
 public:
  PayloadRef() = default;
  PayloadRef(const PayloadRef& other) : p_(other.p_) {
    if (p_ != nullptr) p_->Ref();
  }
  PayloadRef(PayloadRef&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  PayloadRef& operator=(PayloadRef other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  ~PayloadRef() {
    if (p_ != nullptr) p_->Unref();
  }

  const Payload* get() const { return p_; }
  const Payload* operator->() const { return p_; }
  const Payload& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  friend class Payload;
  explicit PayloadRef(Payload* adopted) : p_(adopted) {}

  Payload* p_ = nullptr;
};

}  // namespace chatd

#endif  // CHATD_NET_PAYLOAD_H_
