#include "tests/server_process.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace chatd_test {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

// Unique per process and per server, so tests may run servers side by side.
std::string NewPortFilePath() {
  static std::atomic<int> counter{0};
  return absl::StrCat(TempDir(), "/chatd_port_", getpid(), "_", counter++);
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status), " (",
                        strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("wait status ", status);
}

}  // namespace

std::string ServerProcess::DefaultBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string root = srcdir != nullptr ? srcdir : ".";
  return absl::StrCat(root, "/chatd/server/chatd");
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const Options& options, absl::Duration startup_timeout,
    const std::string& binary) {
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("server binary ", binary, ": ", strerror(errno)));
  }
  std::string port_file = NewPortFilePath();
  unlink(port_file.c_str());

  std::vector<std::string> args = {
      binary,
      "--port=0",
      "--bind=127.0.0.1",
      absl::StrCat("--threads=", options.threads),
      absl::StrCat("--port_file=", port_file),
      absl::StrCat("--max_msgs_per_sec=", options.max_msgs_per_sec),
  };
  if (options.max_connections.has_value()) {
    args.push_back(
        absl::StrCat("--max_connections=", *options.max_connections));
  }
  if (options.max_line_bytes.has_value()) {
    args.push_back(absl::StrCat("--max_line_bytes=", *options.max_line_bytes));
  }
  args.insert(args.end(), options.extra_flags.begin(),
              options.extra_flags.end());
  // Built before fork(): the child may only make async-signal-safe calls.
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Dies with the test, so a crashed or killed test leaves no server behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }

  std::unique_ptr<ServerProcess> server(
      new ServerProcess(pid, std::move(port_file)));
  std::fprintf(stderr, "started server pid %d: %s\n", static_cast<int>(pid),
               absl::StrJoin(args, " ").c_str());
  absl::Status ready = server->WaitForPort(absl::Now() + startup_timeout);
  if (!ready.ok()) return ready;
  return server;
}

absl::Status ServerProcess::WaitForPort(absl::Time deadline) {
  while (true) {
    std::ifstream in(port_file_);
    if (in) {
      std::stringstream contents;
      contents << in.rdbuf();
      std::string text = contents.str();
      // The server renames a complete file into place; the newline check is
      // a second guard against reading a half-written one.
      if (absl::EndsWith(text, "\n")) {
        int port = 0;
        if (!absl::SimpleAtoi(absl::StripSuffix(text, "\n"), &port) ||
            port <= 0 || port > 65535) {
          return absl::InternalError(
              absl::StrCat("bad port file contents: \"", text, "\""));
        }
        port_ = port;
        return absl::OkStatus();
      }
    }
    if (Reap(WNOHANG)) {
      return absl::InternalError(
          absl::StrCat("server exited before listening: ",
                       DescribeWaitStatus(wait_status_)));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no port file ", port_file_, " from the server"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

bool ServerProcess::Reap(int options) {
  if (exited_) return true;
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid_, &status, options);
  } while (got < 0 && errno == EINTR);
  if (got == pid_) {
    exited_ = true;
    wait_status_ = status;
  }
  return exited_;
}

bool ServerProcess::IsRunning() { return !Reap(WNOHANG); }

absl::StatusOr<int> ServerProcess::Stop(absl::Duration timeout, int signo) {
  if (!exited_) {
    kill(pid_, signo);
    absl::Time deadline = absl::Now() + timeout;
    while (!Reap(WNOHANG)) {
      if (absl::Now() >= deadline) {
        kill(pid_, SIGKILL);
        Reap(0);
        return absl::DeadlineExceededError(
            absl::StrCat("server did not exit within ",
                         absl::FormatDuration(timeout), " of SIGTERM"));
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  if (!WIFEXITED(wait_status_)) {
    return absl::AbortedError(
        absl::StrCat("server ", DescribeWaitStatus(wait_status_)));
  }
  return WEXITSTATUS(wait_status_);
}

ServerProcess::~ServerProcess() {
  if (!Reap(WNOHANG)) {
    kill(pid_, SIGKILL);
    Reap(0);
  }
  unlink(port_file_.c_str());
}

}  // namespace chatd_test
