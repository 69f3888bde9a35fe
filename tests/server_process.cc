#include "tests/server_process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tests/child_process.h"

extern char** environ;

namespace chatd_test {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

// Unique per process and per server, so tests may run servers side by side.
std::string NewTempPath(absl::string_view kind) {
  static std::atomic<int> counter{0};
  return absl::StrCat(TempDir(), "/chatd_", kind, "_", getpid(), "_",
                      counter++);
}

// This process's environment with `extra` ("NAME=value") added, each
// replacing an inherited variable of the same name.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** var = environ; *var != nullptr; ++var) {
    absl::string_view entry = *var;
    bool replaced = false;
    for (const std::string& add : extra) {
      const size_t equals = add.find('=');
      replaced =
          replaced || (equals != std::string::npos &&
                       absl::StartsWith(entry, add.substr(0, equals + 1)));
    }
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

absl::StatusOr<std::string> ServerProcess::NewTempDir(absl::string_view kind) {
  std::string dir = NewTempPath(kind);
  if (mkdir(dir.c_str(), 0700) != 0) {
    return absl::InternalError(
        absl::StrCat("mkdir ", dir, ": ", strerror(errno)));
  }
  return dir;
}

absl::Status ServerProcess::MakeDevCert(const std::string& dir) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string script = absl::StrCat(srcdir != nullptr ? srcdir : ".",
                                    "/chatd/tools/dev-cert.sh");
  if (access(script.c_str(), R_OK) != 0) script = "tools/dev-cert.sh";
  std::string bash = "/bin/bash";
  std::vector<std::string> args = {bash, script, dir};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("bash ", script, " ", dir, ": ",
                                            DescribeWaitStatus(status)));
  }
  return absl::OkStatus();
}

std::string ServerProcess::DefaultBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string root = srcdir != nullptr ? srcdir : ".";
  return absl::StrCat(root, "/chatd/server/chatd");
}

std::string ServerProcess::SmallAsanQuarantineEnv() {
  const char* inherited = std::getenv("ASAN_OPTIONS");
  std::string options = inherited != nullptr ? inherited : "";
  if (!options.empty()) options += ":";
  return absl::StrCat(
      "ASAN_OPTIONS=", options,
      "quarantine_size_mb=4:thread_local_quarantine_size_kb=64");
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const Options& options, absl::Duration startup_timeout,
    const std::string& binary) {
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("server binary ", binary, ": ", strerror(errno)));
  }
  std::string port_file = NewTempPath("port");
  unlink(port_file.c_str());
  unlink((port_file + ".http").c_str());
  unlink((port_file + ".tls").c_str());
  unlink((port_file + ".https").c_str());
  unlink((port_file + ".irc").c_str());
  unlink((port_file + ".ircs").c_str());
  std::string cert_dir = options.tls_cert_dir;
  if (options.tls && cert_dir.empty()) {
    absl::StatusOr<std::string> dir = NewTempDir("cert");
    if (!dir.ok()) return dir.status();
    absl::Status made = MakeDevCert(*dir);
    if (!made.ok()) return made;
    cert_dir = *dir;
  }

  std::vector<std::string> args = {
      binary,
      "--port=0",
      absl::StrCat("--bind=", options.bind),
      absl::StrCat("--threads=", options.threads),
      absl::StrCat("--port_file=", port_file),
      // Never the default 8080: tests run side by side.
      "--http_port=0",
      absl::StrCat("--http_port_file=", port_file, ".http"),
      absl::StrCat("--max_msgs_per_sec=", options.max_msgs_per_sec),
  };
  if (options.max_connections.has_value()) {
    args.push_back(
        absl::StrCat("--max_connections=", *options.max_connections));
  }
  if (options.max_line_bytes.has_value()) {
    args.push_back(absl::StrCat("--max_line_bytes=", *options.max_line_bytes));
  }
  if (options.max_burst.has_value()) {
    args.push_back(absl::StrCat("--max_burst=", *options.max_burst));
  }
  if (options.max_output_bytes.has_value()) {
    args.push_back(
        absl::StrCat("--max_output_bytes=", *options.max_output_bytes));
  }
  if (options.join_timeout_s.has_value()) {
    args.push_back(absl::StrCat("--join_timeout_s=", *options.join_timeout_s));
  }
  if (options.max_connections_per_ip.has_value()) {
    args.push_back(absl::StrCat("--max_connections_per_ip=",
                                *options.max_connections_per_ip));
  }
  if (options.tls) {
    args.push_back(absl::StrCat("--tls_cert=", cert_dir, "/server.pem"));
    args.push_back(absl::StrCat("--tls_key=", cert_dir, "/server.key"));
    args.push_back("--tls_port=0");
    args.push_back(absl::StrCat("--tls_port_file=", port_file, ".tls"));
    args.push_back("--https_port=0");
    args.push_back(absl::StrCat("--https_port_file=", port_file, ".https"));
  }
  if (options.irc) {
    args.push_back("--irc_port=0");
    args.push_back(absl::StrCat("--irc_port_file=", port_file, ".irc"));
    if (options.tls) {
      args.push_back("--ircs_port=0");
      args.push_back(absl::StrCat("--ircs_port_file=", port_file, ".ircs"));
    } else {
      args.push_back("--ircs_port=-1");
    }
  } else {
    // Never the defaults 6667 and 6697: tests run side by side.
    args.push_back("--irc_port=-1");
    args.push_back("--ircs_port=-1");
  }
  if (options.irc_server_name.has_value()) {
    args.push_back(
        absl::StrCat("--irc_server_name=", *options.irc_server_name));
  }
  args.insert(args.end(), options.extra_flags.begin(),
              options.extra_flags.end());
  // Built before fork(): the child may only make async-signal-safe calls.
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = ChildEnvironment(options.extra_env);
  std::vector<char*> envp;
  for (std::string& var : env) envp.push_back(var.data());
  envp.push_back(nullptr);
  std::string log_file;
  int log_fd = -1;
  if (options.capture_log) {
    log_file = NewTempPath("log");
    log_fd =
        open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      return absl::InternalError(
          absl::StrCat("cannot create ", log_file, ": ", strerror(errno)));
    }
  }
  rlimit fd_limit = {};
  if (options.fd_limit.has_value()) {
    fd_limit.rlim_cur = fd_limit.rlim_max =
        static_cast<rlim_t>(*options.fd_limit);
  }

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    if (log_fd >= 0) close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Dies with the test, so a crashed or killed test leaves no server behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    // dup2 clears close-on-exec on the copy.
    if (log_fd >= 0 && dup2(log_fd, STDERR_FILENO) < 0) _exit(127);
    if (options.fd_limit.has_value() &&
        setrlimit(RLIMIT_NOFILE, &fd_limit) != 0) {
      _exit(127);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);

  std::unique_ptr<ServerProcess> server(
      new ServerProcess(pid, std::move(port_file), std::move(log_file)));
  server->tls_ = options.tls;
  server->tls_cert_dir_ = cert_dir;
  server->irc_ = options.irc;
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
        // Written before the line port's file, so they are there by now.
        absl::Status read = ReadExtraPort(".http", &http_port_);
        if (read.ok() && tls_) read = ReadExtraPort(".tls", &tls_port_);
        if (read.ok() && tls_) read = ReadExtraPort(".https", &https_port_);
        if (read.ok() && irc_) read = ReadExtraPort(".irc", &irc_port_);
        if (read.ok() && irc_ && tls_) {
          read = ReadExtraPort(".ircs", &ircs_port_);
        }
        return read;
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

absl::Status ServerProcess::ReadExtraPort(absl::string_view suffix,
                                          int* port) const {
  std::ifstream in(absl::StrCat(port_file_, suffix));
  std::string text;
  if (!in || !std::getline(in, text) || !absl::SimpleAtoi(text, port) ||
      *port <= 0 || *port > 65535) {
    return absl::InternalError(
        absl::StrCat("no good ", suffix, " port file from the server"));
  }
  return absl::OkStatus();
}

bool ServerProcess::Reap(int options) {
  if (!exited_) exited_ = ReapChild(pid_, options, &wait_status_);
  return exited_;
}

bool ServerProcess::IsRunning() { return !Reap(WNOHANG); }

absl::Status ServerProcess::Signal(int signo) {
  if (Reap(WNOHANG)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the server has exited: ", DescribeWaitStatus(wait_status_)));
  }
  return SignalChild(pid_, signo);
}

absl::StatusOr<std::string> ServerProcess::Log() const {
  if (log_file_.empty()) {
    return absl::FailedPreconditionError("start the server with capture_log");
  }
  return ReadWholeFile(log_file_);
}

absl::StatusOr<int64_t> ServerProcess::RssBytes() const {
  absl::StatusOr<std::string> status =
      ReadWholeFile(absl::StrCat("/proc/", pid_, "/status"));
  if (!status.ok()) return status.status();
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, "VmRSS:")) continue;
    line = absl::StripAsciiWhitespace(line);
    int64_t kib = 0;
    if (absl::ConsumeSuffix(&line, " kB") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib)) {
      return kib * 1024;
    }
    return absl::InternalError(absl::StrCat("bad VmRSS line: ", line));
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for pid ", pid_));
}

absl::StatusOr<int> ServerProcess::OpenFdCount() const {
  const std::string path = absl::StrCat("/proc/", pid_, "/fd");
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot list ", path, ": ", strerror(errno)));
  }
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

absl::StatusOr<int> ServerProcess::Stop(absl::Duration timeout, int signo) {
  if (!exited_) {
    const absl::Status stopped =
        SignalAndReap(pid_, signo, timeout, "server", &wait_status_);
    exited_ = true;
    if (!stopped.ok()) return stopped;
  }
  return ExitCodeOf(wait_status_, "server");
}

ServerProcess::~ServerProcess() {
  if (!Reap(WNOHANG)) {
    kill(pid_, SIGKILL);
    Reap(0);
  }
  unlink(port_file_.c_str());
  unlink((port_file_ + ".http").c_str());
  unlink((port_file_ + ".tls").c_str());
  unlink((port_file_ + ".https").c_str());
  unlink((port_file_ + ".irc").c_str());
  unlink((port_file_ + ".ircs").c_str());
  if (!log_file_.empty()) {
    absl::StatusOr<std::string> log = Log();
    if (log.ok()) {
      std::fprintf(stderr, "--- log of server pid %d ---\n",
                   static_cast<int>(pid_));
      std::fwrite(log->data(), 1, log->size(), stderr);
      std::fprintf(stderr, "--- end of log ---\n");
    }
    unlink(log_file_.c_str());
  }
}

}  // namespace chatd_test
