// Thousands of client connections driven by one epoll loop.
//
// A blocking client per connection, each with its own thread, does not scale
// to the 10,000 connections of the scale test; this drives them all from the
// test's thread instead: non-blocking connects, a line buffer per connection,
// queued writes flushed when the socket allows. The test reacts to each
// complete line through a callback and advances with PumpUntil(), which
// always ends at a deadline so a stuck server fails the test.

#ifndef CHATD_TESTS_CONNECTION_SWARM_H_
#define CHATD_TESTS_CONNECTION_SWARM_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chatd_test {

class ConnectionSwarm {
 public:
  // Called with the connection's id and one received line, without "\n".
  using LineHandler = std::function<void(int id, absl::string_view line)>;

  explicit ConnectionSwarm(LineHandler on_line);
  ~ConnectionSwarm();  // Closes every connection.
  ConnectionSwarm(const ConnectionSwarm&) = delete;
  ConnectionSwarm& operator=(const ConnectionSwarm&) = delete;

  // Starts connecting to 127.0.0.1:`port` from `source_ip` and returns the
  // new connection's id (0, 1, 2, ... in call order). `first_bytes` are sent
  // as soon as the connection is up. Not to be called from the LineHandler.
  absl::StatusOr<int> Connect(int port, const std::string& source_ip,
                              std::string first_bytes);

  // Queues `bytes` for sending on connection `id`.
  void Send(int id, absl::string_view bytes);

  // Handles socket events until `done()` returns true (checked after every
  // batch of events) or `deadline` passes (DeadlineExceeded). A connection
  // that fails to connect or breaks with an error other than EOF or reset
  // ends the pumping with that error.
  absl::Status PumpUntil(absl::FunctionRef<bool()> done, absl::Time deadline);

  // Whether the server has ended connection `id` (EOF or reset).
  bool closed(int id) const { return conns_[id].fd < 0; }
  int closed_count() const { return closed_count_; }
  int size() const { return static_cast<int>(conns_.size()); }

 private:
  struct Conn {
    int fd = -1;
    bool connecting = true;
    bool want_out = false;  // Whether EPOLLOUT is registered.
    std::string in;         // Bytes of an incomplete line.
    std::string out;        // Bytes queued for sending.
  };

  absl::Status HandleEvent(int id, uint32_t events);
  absl::Status Flush(int id);
  // Reads everything available and hands complete lines to on_line_.
  absl::Status Drain(int id);
  void UpdateInterest(int id);
  void CloseConn(int id);

  LineHandler on_line_;
  int epoll_fd_ = -1;
  std::vector<Conn> conns_;
  int closed_count_ = 0;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_CONNECTION_SWARM_H_
