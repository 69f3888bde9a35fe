// Records every line a client receives, on a thread of its own.
//
// Concurrent tests need every member to read all the time: a member that
// stops reading fills its socket buffers, and the server may then hold back
// or drop it. A LineRecorder reads continuously and lets the test wait,
// bounded by a deadline, until a given number of lines has arrived.
//
// It reads a ChatClient, or anything else through a Reader function (e.g.
// the text messages of a WsClient).
//
// Tests that move a lot of data can have each line shortened before it is
// kept (a Shrink function, e.g. a checked payload replaced by its sequence
// number), so the recorder's memory does not grow with the bytes received.

#ifndef CHATD_TESTS_LINE_RECORDER_H_
#define CHATD_TESTS_LINE_RECORDER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"

namespace chatd_test {

class LineRecorder {
 public:
  // What is kept of each line; called on the reader thread.
  using Shrink = std::function<std::string(std::string line)>;
  // Reads the next line, waiting at most `timeout`: DeadlineExceeded when
  // none came, another error when the connection has ended. Called on the
  // reader thread.
  using Reader =
      std::function<absl::StatusOr<std::string>(absl::Duration timeout)>;

  // Starts reading from `client`, which must outlive the recorder. The test
  // may keep writing to the client meanwhile, but not read from it. With a
  // `shrink`, what it returns is kept instead of each line.
  explicit LineRecorder(ChatClient* client, Shrink shrink = nullptr);
  // Starts reading through `reader`, which must stay usable as long as the
  // recorder lives.
  explicit LineRecorder(Reader reader, Shrink shrink = nullptr);
  // Stops the reader thread (within about 50 ms).
  ~LineRecorder();
  LineRecorder(const LineRecorder&) = delete;
  LineRecorder& operator=(const LineRecorder&) = delete;

  // Waits until at least `count` lines have arrived. On timeout, or when the
  // connection ended first, returns why, with the number received.
  absl::Status WaitForCount(size_t count, absl::Duration timeout);

  // Waits until `line` has arrived, with the same failure reports.
  absl::Status WaitForLine(const std::string& line, absl::Duration timeout);

  // Waits until the server has ended the connection (EOF or reset) and
  // every line before that has been read. DeadlineExceeded, with the number
  // of lines received, when it is still open at the timeout.
  absl::Status WaitForEnd(absl::Duration timeout);

  // Every line so far, in arrival order.
  std::vector<std::string> Lines() const;
  // How many lines have arrived so far.
  size_t Count() const;

 private:
  void ReadLoop();

  const Reader reader_;
  const Shrink shrink_;
  std::atomic<bool> stop_{false};
  // std::mutex rather than the project's chatd::Mutex because waiting needs
  // a condition variable; libstdc++'s are visible to ThreadSanitizer.
  mutable std::mutex mu_;
  std::condition_variable changed_;  // A line arrived or reading ended.
  std::vector<std::string> lines_;   // Guarded by mu_.
  absl::Status ended_;  // Guarded by mu_. Why reading stopped, if it did.
  std::thread thread_;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_LINE_RECORDER_H_
