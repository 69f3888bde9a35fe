// LineFramer splits a connection's byte stream into protocol lines. It is
// pure (no sockets) and owned by one session.
//
// Lines end with "\n"; a "\r" right before it is dropped. A line longer than
// the limit (not counting the dropped "\r\n") is an error, detected as soon as
// the buffered bytes prove it, not only when its "\n" arrives, so a client
// cannot make the server buffer without bound.
//
// Complete lines inside one chunk are handed out as views into the chunk, with
// no copy; only the unterminated tail of a chunk is kept, and an idle framer
// holds no heap memory.
#ifndef CHATD_CORE_LINE_FRAMER_H_
#define CHATD_CORE_LINE_FRAMER_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace chatd {

class LineFramer {
 public:
  enum class Result {
    kOk,           // Every complete line was handed out; any tail is kept.
    kLineTooLong,  // A line exceeds the limit; the framer must not be fed again.
    kStopped,      // The callback asked to stop; the rest of the chunk is dropped.
  };

  explicit LineFramer(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  LineFramer(const LineFramer&) = delete;
  LineFramer& operator=(const LineFramer&) = delete;

  // Feeds the next bytes of the stream. Calls `on_line(absl::string_view)` for
  // each complete line, in order, without its line ending; the view is valid
  // only during the call. `on_line` returns false to stop framing (the
  // connection is going away).
  template <typename OnLine>
  Result Feed(absl::string_view chunk, OnLine&& on_line);

  // Bytes of an unterminated line held from earlier chunks.
  size_t buffered_bytes() const { return partial_.size(); }

 private:
  // Strips the "\r" and checks the length of a line whose "\n" has arrived.
  bool Fits(absl::string_view line) const;
  static absl::string_view StripCr(absl::string_view line);
  // True when an unterminated line is already certain to be too long.
  bool CannotFit(absl::string_view unterminated) const;
  // Drops the partial-line storage once used, so idle sessions stay small.
  void ReleasePartial();

  const size_t max_line_bytes_;
  std::string partial_;
};

template <typename OnLine>
LineFramer::Result LineFramer::Feed(absl::string_view chunk, OnLine&& on_line) {
  size_t pos = 0;
  if (!partial_.empty()) {
    const size_t newline = chunk.find('\n');
    if (newline == absl::string_view::npos) {
      partial_.append(chunk.data(), chunk.size());
      return CannotFit(partial_) ? Result::kLineTooLong : Result::kOk;
    }
    partial_.append(chunk.data(), newline);
    pos = newline + 1;
    if (!Fits(partial_)) return Result::kLineTooLong;
    const bool go_on = on_line(StripCr(partial_));
    ReleasePartial();
    if (!go_on) return Result::kStopped;
  }
  while (pos < chunk.size()) {
    const size_t newline = chunk.find('\n', pos);
    if (newline == absl::string_view::npos) break;
    const absl::string_view line = chunk.substr(pos, newline - pos);
    pos = newline + 1;
    if (!Fits(line)) return Result::kLineTooLong;
    if (!on_line(StripCr(line))) return Result::kStopped;
  }
  const absl::string_view tail = chunk.substr(pos);
  if (tail.empty()) return Result::kOk;
  if (CannotFit(tail)) return Result::kLineTooLong;
  partial_.assign(tail.data(), tail.size());
  return Result::kOk;
}

}  // namespace chatd

#endif  // CHATD_CORE_LINE_FRAMER_H_
