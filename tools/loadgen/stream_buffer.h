// StreamBuffer joins the unparsed tail of earlier reads with the next chunk,
// so a protocol parser always sees one contiguous view. When nothing is left
// over (the common case) the chunk is parsed in place without a copy. Owned
// by one protocol session; one thread.
#ifndef CHATD_TOOLS_LOADGEN_STREAM_BUFFER_H_
#define CHATD_TOOLS_LOADGEN_STREAM_BUFFER_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace chatd::loadgen {

class StreamBuffer {
 public:
  StreamBuffer() = default;
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;

  // Returns the leftover bytes followed by `chunk`. The view is valid until
  // Consume(), which must be called before the next Append().
  absl::string_view Append(absl::string_view chunk) {
    if (pending_.empty()) {
      view_ = chunk;
      in_place_ = true;
    } else {
      pending_.append(chunk.data(), chunk.size());
      view_ = pending_;
      in_place_ = false;
    }
    return view_;
  }

  // The first `consumed` bytes of the view were parsed; the rest is kept.
  void Consume(size_t consumed) {
    if (in_place_) {
      pending_.assign(view_.data() + consumed, view_.size() - consumed);
    } else {
      pending_.erase(0, consumed);
    }
    // A large frame's buffer is not kept around on an idle connection.
    if (pending_.empty() && pending_.capacity() > kKeepCapacity) {
      std::string().swap(pending_);
    }
    view_ = absl::string_view();
  }

  size_t buffered() const { return pending_.size(); }

 private:
  static constexpr size_t kKeepCapacity = 4096;

  std::string pending_;
  absl::string_view view_;
  bool in_place_ = true;
};

// Splits `data` into "\n"-terminated lines (a "\r" before the "\n" is
// dropped), calling on_line(absl::string_view) for each; returns how many
// bytes were whole lines. `on_line` returns false to stop early; the count
// then ends after that line.
template <typename OnLine>
size_t SplitLines(absl::string_view data, OnLine&& on_line) {
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t newline = data.find('\n', pos);
    if (newline == absl::string_view::npos) break;
    size_t end = newline;
    if (end > pos && data[end - 1] == '\r') --end;
    const bool go_on = on_line(data.substr(pos, end - pos));
    pos = newline + 1;
    if (!go_on) break;
  }
  return pos;
}

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_STREAM_BUFFER_H_
