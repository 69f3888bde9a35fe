// Runs nats-server (/usr/sbin/nats-server, Debian's 2.9.10) as a child
// process for the cluster-mode integration tests.
//
// A NatsServerProcess is one server: on its own, or one node of a loopback
// cluster (NatsCluster below, three nodes by default). Its ports (client,
// HTTP monitoring, and for a cluster node the route port) are picked once,
// when it is created, and kept for its life: Restart() comes back on the
// same ports, so chatd processes pointed at client_url() reconnect to it.
// Ports are taken from below the kernel's ephemeral range and checked free
// by binding them, so that no outgoing connection (a chatd reconnecting
// while the server is down, say) can be given one meanwhile.
//
// The server's output (its log) goes to a file under TEST_TMPDIR, appended
// to across restarts, and is copied to the test's stderr when the
// NatsServerProcess is destroyed. The destructor kills a server still
// running (SIGKILL works on a stopped one too).
//
// Tests skip where the binary is missing:
//   if (!NatsServerProcess::Available()) GTEST_SKIP() << ...;

#ifndef CHATD_TESTS_NATS_SERVER_PROCESS_H_
#define CHATD_TESTS_NATS_SERVER_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chatd_test {

inline constexpr char kNatsServerBinary[] = "/usr/sbin/nats-server";

// A loopback TCP port nobody listens on or is connected from now, below the
// ephemeral range (falls back to one the kernel picks for port 0). Never
// the same twice in one test process.
absl::StatusOr<int> PickFreePort();

// GET `target` from 127.0.0.1:`port` (HTTP/1.0, so the body ends at EOF;
// a chunked body is decoded). The body, or an error for no answer or a
// status other than 200.
absl::StatusOr<std::string> HttpGetBody(int port, absl::string_view target,
                                        absl::Duration timeout);

class NatsServerProcess {
 public:
  struct Options {
    // server_name; empty: "nats_<client port>".
    std::string server_name;
    // For a cluster node: cluster.name and the route ports of all nodes,
    // this one's included (nats-server ignores a route to itself).
    std::string cluster_name;
    int cluster_port = 0;  // 0: picked (only with a cluster_name).
    std::vector<int> route_ports;
    // Fixed ports instead of picked ones (0: picked).
    int client_port = 0;
    int monitor_port = 0;
    // Extra lines for the configuration file.
    std::vector<std::string> extra_config;
  };

  // Whether kNatsServerBinary exists and is executable.
  static bool Available();

  // Picks the ports and writes the configuration file; does not start the
  // server.
  static absl::StatusOr<std::unique_ptr<NatsServerProcess>> Create(
      Options options);
  // Create() then Start().
  static absl::StatusOr<std::unique_ptr<NatsServerProcess>> CreateAndStart(
      Options options, absl::Duration timeout = absl::Seconds(10));

  ~NatsServerProcess();
  NatsServerProcess(const NatsServerProcess&) = delete;
  NatsServerProcess& operator=(const NatsServerProcess&) = delete;

  // Starts the server and waits until a client connecting to its client
  // port gets the server's "INFO {...}" greeting. An error if it exits
  // first (the message quotes the end of its log) or is not ready in time.
  absl::Status Start(absl::Duration timeout = absl::Seconds(10));
  // SIGKILL, then reaps it. OK when it is not running.
  absl::Status Kill();
  // SIGTERM (nats-server's clean shutdown), waiting up to `timeout` (then
  // SIGKILL). Its exit code (2.9.10 exits with 1 after SIGTERM); an error
  // if killed by a signal.
  absl::StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(10));
  // Sends `signo` (SIGSTOP, SIGCONT, ...); an error when not running.
  // SIGSTOP returns once it has taken effect (SignalChild).
  absl::Status Signal(int signo);
  // Kill() if running, then Start() on the same ports.
  absl::Status Restart(absl::Duration timeout = absl::Seconds(10));
  bool IsRunning();

  // Whether a fresh TCP client gets the INFO greeting within `timeout`.
  absl::Status CheckGreeting(absl::Duration timeout) const;
  // The "num_routes" of /routez (a cluster node's routes to other nodes).
  absl::StatusOr<int> NumRoutes() const;

  int client_port() const { return options_.client_port; }
  int monitor_port() const { return options_.monitor_port; }
  int cluster_port() const { return options_.cluster_port; }
  // "nats://127.0.0.1:<client port>".
  std::string client_url() const;
  const std::string& server_name() const { return options_.server_name; }
  pid_t pid() const { return pid_; }
  // Everything logged so far, over all starts.
  absl::StatusOr<std::string> Log() const;

 private:
  NatsServerProcess(Options options, std::string config_file,
                    std::string log_file)
      : options_(std::move(options)),
        config_file_(std::move(config_file)),
        log_file_(std::move(log_file)) {}
  // Reaps the child if it has exited; returns whether it has (or none runs).
  bool Reap(int wait_options);
  // The last `bytes` of the log, for error messages.
  std::string LogTail(size_t bytes) const;

  Options options_;
  std::string config_file_;
  std::string log_file_;
  pid_t pid_ = -1;
  bool running_ = false;
  int wait_status_ = 0;
};

// A loopback cluster of `nodes` nats-servers ("n0", "n1", ...; cluster name
// "chatd"), each routing to all the others.
class NatsCluster {
 public:
  // Creates and starts every node, then waits until each has a route to
  // every other.
  static absl::StatusOr<std::unique_ptr<NatsCluster>> Start(
      int nodes = 3, absl::Duration timeout = absl::Seconds(20));

  int size() const { return static_cast<int>(nodes_.size()); }
  NatsServerProcess& node(int i) { return *nodes_[i]; }
  // All client URLs, comma-separated, starting with node `first` and going
  // round: for chatd's --nats_url.
  std::string UrlsStartingAt(int first) const;
  // Waits until every running node reports routes to `expected` others
  // (default: all others).
  absl::Status WaitForRoutes(absl::Duration timeout, int expected = -1);

 private:
  NatsCluster() = default;
  std::vector<std::unique_ptr<NatsServerProcess>> nodes_;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_NATS_SERVER_PROCESS_H_
