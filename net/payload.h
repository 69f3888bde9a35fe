// Payload is an immutable, reference-counted run of bytes: the unit of
// fan-out. A broadcast line is formatted once into a Payload, and every
// recipient's output queue holds a reference to the same bytes, so fanning a
// message out to N members costs N reference bumps, never N copies.
//
// A line is framed once for every wire that carries lines: as "text\n" for
// a byte stream, and as one WebSocket text message (header, then the text
// without its "\n"). Both forms share one allocation: the WebSocket header
// sits right in front of the text, so a broadcast to members on either wire
// is still one payload, formatted once, with no per-recipient copy. Other
// payloads (HTTP responses, control frames) are the same bytes on any wire.
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

// How a connection carries lines.
enum class Wire : uint8_t {
  kStream,     // A byte stream: each line ends in "\n".
  kWebSocket,  // One WebSocket text message per line, without the "\n".
};

class Payload {
 public:
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;

  // Returns a payload holding the concatenation of `parts`.
  static PayloadRef Concat(std::initializer_list<absl::string_view> parts);
  static PayloadRef Copy(absl::string_view bytes);
  // A line: the concatenation of `parts` (which must not contain "\n"),
  // framed for every Wire.
  static PayloadRef Line(std::initializer_list<absl::string_view> parts);

  // The bytes as a stream carries them: for a line, its text and "\n".
  absl::string_view view() const { return absl::string_view(data(), size_); }
  const char* data() const { return data_ + stream_offset_; }
  size_t size() const { return size_; }

  // The bytes as `wire` carries them: for a line on kWebSocket, the frame
  // header and the text; anything else is the same on every wire.
  absl::string_view wire(Wire wire) const {
    if (wire == Wire::kStream || ws_size_ == 0) return view();
    return absl::string_view(data_ + ws_start_, ws_size_);
  }
  bool is_line() const { return ws_size_ != 0; }

  // For tests and diagnostics only: the count is stale as soon as it is read.
  int32_t ref_count_for_testing() const {
    return refs_.load(std::memory_order_relaxed);
  }

 private:
  friend class PayloadRef;

  Payload(size_t size, uint32_t stream_offset)
      : size_(size), stream_offset_(stream_offset) {}
  // Room for `prefix` bytes in front of `size` bytes.
  static Payload* Allocate(size_t size, size_t prefix = 0);

  // Relaxed: taking a new reference needs no ordering, the caller already
  // holds one.
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // Acq_rel: the release orders this thread's reads before the free; the
  // acquire makes the freeing thread see every other thread's reads done.
  void Unref();

  std::atomic<int32_t> refs_{1};
  const uint32_t size_;
  // Where the stream form starts in data_: after the WebSocket form, for a
  // line.
  const uint32_t stream_offset_;
  // A line's WebSocket form in data_ (header and text); its text is the
  // stream form's, shared, unless that is not valid UTF-8, which a text
  // message must be: then the form holds its own copy with U+FFFD for each
  // bad sequence. 0 bytes unless a line.
  uint32_t ws_start_ = 0;
  uint32_t ws_size_ = 0;
  // stream_offset_ + size_ bytes follow the header in the same allocation.
  char data_[];
};

// A counted reference to a Payload; movable and copyable, null by default.
class PayloadRef {
 public:
  PayloadRef() = default;
  PayloadRef(const PayloadRef& other) : p_(other.p_) {
    if (p_ != nullptr) p_->Ref();
  }
  PayloadRef(PayloadRef&& other) noexcept
      : p_(std::exchange(other.p_, nullptr)) {}
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
