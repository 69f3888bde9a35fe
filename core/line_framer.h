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
// holds no heap memory. The consumer may hold a line it cannot take yet (a
// member over its rate): the framer then keeps that line and the rest of the
// chunk until the consumer resumes it, so nothing read is lost or reordered.
//
// Where a protocol keeps the connection after a long line (IRC answers 417),
// the framer can skip such a line instead: it tells the consumer once, by
// calling it with Overlong{}, drops the line's bytes up to its "\n", buffering
// none of them, and frames on from there.
#ifndef CHATD_CORE_LINE_FRAMER_H_
#define CHATD_CORE_LINE_FRAMER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace chatd {

class LineFramer {
 public:
  enum class Result {
    kOk,           // Every complete line was handed out; any tail is kept.
    kLineTooLong,  // A line exceeds the limit; the framer must not be fed
                   // again.
    kStopped,  // The callback asked to stop; the rest of the chunk is dropped.
    kHeld,     // The callback held a line: it and everything after it
               // wait, unframed, for Resume().
  };

  // What the line callback answers. A callback may also return bool: true
  // is kNext, false is kStop.
  enum class Verdict {
    kNext,  // The line is taken; go on.
    kHold,  // Not now: keep this line and the rest for Resume().
    kStop,  // The connection is going away; drop the rest.
  };

  // What skips a line: too long, or is ending too long.
  enum class LongLines : uint8_t { kFail, kSkip };
  // Passed to the callback instead of a line that is skipped as too long
  // (LongLines::kSkip). Its verdict counts as for a line, but a hold is
  // taken as kNext: there is nothing to hold.
  struct Overlong {};

  explicit LineFramer(size_t max_line_bytes,
                      LongLines long_lines = LongLines::kFail)
      : max_line_bytes_(static_cast<uint32_t>(max_line_bytes)),
        skip_long_(long_lines == LongLines::kSkip) {}

  LineFramer(const LineFramer&) = delete;
  LineFramer& operator=(const LineFramer&) = delete;

  // Feeds the next bytes of the stream. Calls `on_line(absl::string_view)` for
  // each complete line, in order, without its line ending; the view is valid
  // only during the call. While input is held, `chunk` is added behind it
  // and framing resumes from the held line.
  template <typename OnLine>
  Result Feed(absl::string_view chunk, OnLine&& on_line);

  // Frames the held input, starting with the held line, as Feed() would.
  template <typename OnLine>
  Result Resume(OnLine&& on_line);

  // Whether a line is held. Only a held framer copies complete lines: the
  // rest of the chunk after the held line, once per hold.
  bool holding() const { return holding_; }
  // Bytes waiting: an unterminated line from earlier chunks, or held input.
  size_t buffered_bytes() const { return buffer_.size(); }

 private:
  template <typename OnLine>
  Result Frame(absl::string_view chunk, OnLine&& on_line);
  static Verdict ToVerdict(bool go_on) {
    return go_on ? Verdict::kNext : Verdict::kStop;
  }
  static Verdict ToVerdict(Verdict verdict) { return verdict; }
  // Tells the callback of a skipped line, if it listens for that.
  template <typename OnLine>
  static Verdict SkipVerdict(OnLine& on_line) {
    if constexpr (std::is_invocable_v<OnLine&, Overlong>) {
      const Verdict verdict = ToVerdict(on_line(Overlong{}));
      return verdict == Verdict::kStop ? Verdict::kStop : Verdict::kNext;
    } else {
      return Verdict::kNext;
    }
  }
  // Strips the "\r" and checks the length of a line whose "\n" has arrived.
  bool Fits(absl::string_view line) const;
  static absl::string_view StripCr(absl::string_view line);
  // True when an unterminated line is already certain to be too long.
  bool CannotFit(absl::string_view unterminated) const;
  // Empties the buffer, freeing a large one, so idle sessions stay small.
  void ReleaseBuffer();

  // 32 bits, so that the flag and the limit share a word: a framer per
  // connection, kept small.
  const uint32_t max_line_bytes_;
  // Whether buffer_ holds held input (from a line's start) rather than an
  // unterminated line: the two never wait at once, since a hold happens
  // only at a complete line.
  bool holding_ = false;
  const bool skip_long_;
  // Dropping the rest of a skipped line, up to its "\n".
  bool discarding_ = false;
  std::string buffer_;
};

template <typename OnLine>
LineFramer::Result LineFramer::Feed(absl::string_view chunk, OnLine&& on_line) {
  if (holding_) {
    buffer_.append(chunk.data(), chunk.size());
    return Resume(on_line);
  }
  return Frame(chunk, on_line);
}

template <typename OnLine>
LineFramer::Result LineFramer::Resume(OnLine&& on_line) {
  if (!holding_) return Result::kOk;
  // Frame() may hold again, refilling buffer_ from a view of `input`.
  const std::string input = std::move(buffer_);
  buffer_.clear();
  holding_ = false;
  return Frame(input, on_line);
}

template <typename OnLine>
LineFramer::Result LineFramer::Frame(absl::string_view chunk,
                                     OnLine&& on_line) {
  size_t pos = 0;
  if (discarding_) {  // The rest of a skipped line.
    const size_t newline = chunk.find('\n');
    if (newline == absl::string_view::npos) return Result::kOk;
    discarding_ = false;
    pos = newline + 1;
  } else if (!buffer_.empty()) {  // An unterminated line from earlier chunks.
    const size_t newline = chunk.find('\n');
    if (newline == absl::string_view::npos) {
      buffer_.append(chunk.data(), chunk.size());
      if (!CannotFit(buffer_)) return Result::kOk;
      if (!skip_long_) return Result::kLineTooLong;
      ReleaseBuffer();
      discarding_ = true;
      return SkipVerdict(on_line) == Verdict::kStop ? Result::kStopped
                                                    : Result::kOk;
    }
    buffer_.append(chunk.data(), newline);
    Verdict verdict;
    if (Fits(buffer_)) {
      verdict = ToVerdict(on_line(StripCr(buffer_)));
    } else if (skip_long_) {
      verdict = SkipVerdict(on_line);
    } else {
      return Result::kLineTooLong;
    }
    if (verdict == Verdict::kHold) {
      // The line as it came ("\r" kept), then its "\n" and the rest.
      buffer_.append(chunk.data() + newline, chunk.size() - newline);
      holding_ = true;
      return Result::kHeld;
    }
    ReleaseBuffer();
    if (verdict == Verdict::kStop) return Result::kStopped;
    pos = newline + 1;
  }
  while (pos < chunk.size()) {
    const size_t newline = chunk.find('\n', pos);
    if (newline == absl::string_view::npos) break;
    const size_t start = pos;
    const absl::string_view line = chunk.substr(pos, newline - pos);
    pos = newline + 1;
    Verdict verdict;
    if (Fits(line)) {
      verdict = ToVerdict(on_line(StripCr(line)));
    } else if (skip_long_) {
      verdict = SkipVerdict(on_line);
    } else {
      return Result::kLineTooLong;
    }
    if (verdict == Verdict::kHold) {
      buffer_.assign(chunk.data() + start, chunk.size() - start);
      holding_ = true;
      return Result::kHeld;
    }
    if (verdict == Verdict::kStop) return Result::kStopped;
  }
  const absl::string_view tail = chunk.substr(pos);
  if (tail.empty()) return Result::kOk;
  if (CannotFit(tail)) {
    if (!skip_long_) return Result::kLineTooLong;
    discarding_ = true;
    return SkipVerdict(on_line) == Verdict::kStop ? Result::kStopped
                                                  : Result::kOk;
  }
  buffer_.assign(tail.data(), tail.size());
  return Result::kOk;
}

}  // namespace chatd

#endif  // CHATD_CORE_LINE_FRAMER_H_
