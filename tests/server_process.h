// Runs the chatd binary as a child process for integration tests.
//
// Tests talk to the real server over loopback, the way users do, so the
// server is started exactly as in production: its own process, its own
// threads, flags on the command line. Start() returns once the server has
// written its port file, i.e. once it is listening. The destructor kills a
// server the test did not Stop(), so a failing test leaves nothing behind.

#ifndef CHATD_TESTS_SERVER_PROCESS_H_
#define CHATD_TESTS_SERVER_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace chatd_test {

class ServerProcess {
 public:
  struct Options {
    int threads = 4;
    std::optional<int> max_connections;
    std::optional<int> max_line_bytes;
    // Off by default: protocol tests send at full speed. Hardening tests
    // that exercise the flood limit set it.
    double max_msgs_per_sec = 0;
    // Appended verbatim, e.g. "--v=1".
    std::vector<std::string> extra_flags;
  };

  // Starts `binary` (default: the chatd from this test's runfiles) and waits
  // up to `startup_timeout` for it to report its port.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const Options& options,
      absl::Duration startup_timeout = absl::Seconds(10),
      const std::string& binary = DefaultBinary());

  // Where Bazel puts the //server:chatd data dependency.
  static std::string DefaultBinary();

  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // Sends `signo` (SIGTERM or SIGINT ask for a clean shutdown) and waits up
  // to `timeout` for the server to exit. Returns its exit code; an error when
  // it was killed by a signal or did not exit in time (it is then killed).
  absl::StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(10),
                           int signo = SIGTERM);

  // Whether the process is still running (it may have crashed).
  bool IsRunning();

 private:
  ServerProcess(pid_t pid, std::string port_file)
      : pid_(pid), port_file_(std::move(port_file)) {}

  // Polls for the port file while checking that the child is still alive.
  absl::Status WaitForPort(absl::Time deadline);
  // Reaps the child if it has exited; returns whether it has.
  bool Reap(int options);

  pid_t pid_;
  std::string port_file_;
  int port_ = 0;
  bool exited_ = false;
  int wait_status_ = 0;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_SERVER_PROCESS_H_
