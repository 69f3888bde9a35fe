// Runs the chatd binary as a child process for integration tests.
//
// Tests talk to the real server over loopback, the way users do, so the
// server is started exactly as in production: its own process, its own
// threads, flags on the command line. Start() returns once the server has
// written its port file, i.e. once it is listening. The destructor kills a
// server the test did not Stop(), so a failing test leaves nothing behind.
//
// Hardening tests also look at the server from outside: its log (stderr,
// captured to a file on request), its resident memory and its open file
// descriptors (both from /proc), and may start it with a low open-file limit.
//
// With Options::tls the server also listens for TLS (the line protocol on
// tls_port(), HTTP and WebSocket on https_port()) with a certificate from
// tools/dev-cert.sh; Signal(SIGHUP) makes it reload the certificate files.
//
// With Options::irc it also speaks IRC (docs/IRC.md) on irc_port(), and
// with TLS as well on ircs_port().

#ifndef CHATD_TESTS_SERVER_PROCESS_H_
#define CHATD_TESTS_SERVER_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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
    // The server's own defaults apply to whatever is left unset.
    std::optional<double> max_burst;
    std::optional<int64_t> max_output_bytes;  // 0 turns the limit off.
    std::optional<int> join_timeout_s;        // 0 turns the timeout off.
    std::optional<int> max_connections_per_ip;
    // RLIMIT_NOFILE for the server, soft and hard. chatd raises its soft
    // limit to the hard one at startup, so both are lowered in the child
    // before exec to make it run out of file descriptors.
    std::optional<int> fd_limit;
    // Sends the server's stderr (its glog output) to a file that Log()
    // reads, instead of the test's stderr. The file is copied to the test's
    // stderr when the ServerProcess is destroyed, so the test log keeps it.
    bool capture_log = false;
    // "NAME=value" entries added to the server's environment, replacing an
    // inherited NAME, e.g. sanitizer options for the server only.
    std::vector<std::string> extra_env;
    // Appended verbatim, e.g. "--v=1".
    std::vector<std::string> extra_flags;
    // --bind: a comma list of IPv4 and IPv6 addresses, e.g. "127.0.0.1,::1",
    // or "::" for both families on all addresses.
    std::string bind = "127.0.0.1";
    // TLS listeners: --tls_port=0 and --https_port=0 (reported through port
    // files, like the HTTP port) with --tls_cert=<dir>/server.pem and
    // --tls_key=<dir>/server.key, the files tools/dev-cert.sh writes (with
    // <dir>/ca.pem, the CA that signed them). `tls_cert_dir` empty: a fresh
    // directory under the test's temporary directory, made with
    // tools/dev-cert.sh; the test then needs the data dependency
    // "//tools:dev-cert.sh".
    bool tls = false;
    std::string tls_cert_dir;
    // The IRC front end (docs/IRC.md): --irc_port=0, reported through a
    // port file like the HTTP port, and with `tls` also --ircs_port=0.
    // Without it both IRC ports are off (-1), so that no test opens the
    // default 6667 or 6697.
    bool irc = false;
    // --irc_server_name, the <srv> of every IRC reply (default: the host
    // name).
    std::optional<std::string> irc_server_name;
  };

  // Starts `binary` (default: the chatd from this test's runfiles) and waits
  // up to `startup_timeout` for it to report its port.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const Options& options,
      absl::Duration startup_timeout = absl::Seconds(10),
      const std::string& binary = DefaultBinary());

  // Where Bazel puts the //server:chatd data dependency.
  static std::string DefaultBinary();

  // An Options::extra_env entry for tests that watch the server's memory:
  // the inherited ASAN_OPTIONS plus a small quarantine. AddressSanitizer
  // holds freed memory back (256 MB by default), which would look like
  // growth; builds without it ignore the variable.
  static std::string SmallAsanQuarantineEnv();

  // A new, empty directory under the test's temporary directory.
  static absl::StatusOr<std::string> NewTempDir(absl::string_view kind);
  // Runs `bash tools/dev-cert.sh dir` (from the runfiles): a new CA and a
  // server certificate for localhost, 127.0.0.1 and ::1 in `dir`.
  static absl::Status MakeDevCert(const std::string& dir);

  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // The line port, and the HTTP port (page, WebSocket, /metrics).
  int port() const { return port_; }
  int http_port() const { return http_port_; }
  pid_t pid() const { return pid_; }
  // With Options::tls: the TLS line port and the HTTPS port (0 otherwise),
  // and the certificate files: the CA to trust, and the pair the server
  // reads at startup and again on SIGHUP (a test replaces them to rotate).
  int tls_port() const { return tls_port_; }
  int https_port() const { return https_port_; }
  const std::string& tls_cert_dir() const { return tls_cert_dir_; }
  // With Options::irc: the IRC port, and with Options::tls too the IRC over
  // TLS port (0 otherwise).
  int irc_port() const { return irc_port_; }
  int ircs_port() const { return ircs_port_; }
  std::string ca_file() const { return tls_cert_dir_ + "/ca.pem"; }
  std::string cert_file() const { return tls_cert_dir_ + "/server.pem"; }
  std::string key_file() const { return tls_cert_dir_ + "/server.key"; }

  // Sends `signo` to the running server, e.g. SIGHUP to reload its
  // certificate; an error when it has exited. SIGSTOP returns once it has
  // taken effect (SignalChild).
  absl::Status Signal(int signo);

  // Sends `signo` (SIGTERM or SIGINT ask for a clean shutdown) and waits up
  // to `timeout` for the server to exit. Returns its exit code; an error when
  // it was killed by a signal or did not exit in time (it is then killed).
  absl::StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(10),
                           int signo = SIGTERM);

  // Whether the process is still running (it may have crashed).
  bool IsRunning();

  // Everything the server has logged so far; needs Options::capture_log.
  absl::StatusOr<std::string> Log() const;
  // The server's resident memory (VmRSS in /proc/<pid>/status), in bytes.
  absl::StatusOr<int64_t> RssBytes() const;
  // How many file descriptors the server has open (/proc/<pid>/fd).
  absl::StatusOr<int> OpenFdCount() const;

 private:
  ServerProcess(pid_t pid, std::string port_file, std::string log_file)
      : pid_(pid),
        port_file_(std::move(port_file)),
        log_file_(std::move(log_file)) {}

  // Polls for the port file while checking that the child is still alive.
  absl::Status WaitForPort(absl::Time deadline);
  // Reads one of the port files written before the line port's.
  absl::Status ReadExtraPort(absl::string_view suffix, int* port) const;
  // Reaps the child if it has exited; returns whether it has.
  bool Reap(int options);

  pid_t pid_;
  std::string port_file_;
  int http_port_ = 0;
  std::string log_file_;  // Empty unless the log is captured.
  int port_ = 0;
  bool tls_ = false;
  int tls_port_ = 0;
  int https_port_ = 0;
  bool irc_ = false;
  int irc_port_ = 0;
  int ircs_port_ = 0;
  std::string tls_cert_dir_;
  bool exited_ = false;
  int wait_status_ = 0;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_SERVER_PROCESS_H_
