#include "tests/line_recorder.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace chatd_test {

LineRecorder::LineRecorder(ChatClient* client, Shrink shrink)
    : LineRecorder(
          [client](absl::Duration timeout) {
            return client->ReadLine(timeout);
          },
          std::move(shrink)) {}

LineRecorder::LineRecorder(Reader reader, Shrink shrink)
    : reader_(std::move(reader)),
      shrink_(std::move(shrink)),
      thread_([this] { ReadLoop(); }) {}

LineRecorder::~LineRecorder() {
  stop_ = true;
  thread_.join();
}

void LineRecorder::ReadLoop() {
  while (!stop_) {
    // A short timeout so the destructor never waits long for the thread.
    absl::StatusOr<std::string> line = reader_(absl::Milliseconds(50));
    if (line.ok()) {
      std::string kept = shrink_ ? shrink_(*std::move(line)) : *std::move(line);
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(std::move(kept));
    } else if (!absl::IsDeadlineExceeded(line.status())) {
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = line.status();
    } else {
      continue;
    }
    changed_.notify_all();
    if (!ended_.ok()) return;  // Only this thread writes ended_.
  }
}

absl::Status LineRecorder::WaitForCount(size_t count, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                    [&] { return lines_.size() >= count || !ended_.ok(); });
  if (lines_.size() >= count) return absl::OkStatus();
  std::string why = ended_.ok() ? "timed out" : ended_.ToString();
  return absl::DeadlineExceededError(absl::StrCat(
      "expected ", count, " lines, got ", lines_.size(), " (", why, ")"));
}

absl::Status LineRecorder::WaitForLine(const std::string& line,
                                       absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  size_t scanned = 0;  // Lines before this one are known not to match.
  bool found = false;
  changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    for (; !found && scanned < lines_.size(); ++scanned) {
      found = lines_[scanned] == line;
    }
    return found || !ended_.ok();
  });
  if (found) return absl::OkStatus();
  std::string why = ended_.ok() ? "timed out" : ended_.ToString();
  return absl::DeadlineExceededError(absl::StrCat(
      "no line \"", line, "\" among ", lines_.size(), " lines (", why, ")"));
}

absl::Status LineRecorder::WaitForEnd(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                    [&] { return !ended_.ok(); });
  if (!ended_.ok()) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "the connection is still open after ", lines_.size(), " lines"));
}

std::vector<std::string> LineRecorder::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

size_t LineRecorder::Count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_.size();
}

}  // namespace chatd_test
