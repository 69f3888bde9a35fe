#include "tests/nats_server_process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/child_process.h"

extern char** environ;

namespace chatd_test {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

std::string NewTempPath(absl::string_view kind) {
  static std::atomic<int> counter{0};
  return absl::StrCat(TempDir(), "/nats_", kind, "_", getpid(), "_", counter++);
}

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(err)));
}

int MillisUntil(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms < 0 ? 0 : static_cast<int>(ms > 1000 ? 1000 : ms);
}

// Whether `port` can be bound on 127.0.0.1 right now, without
// SO_REUSEADDR: that fails while any socket, one in TIME_WAIT included,
// holds the port.
bool CanBind(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok =
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// The port the kernel gives a socket bound to port 0.
absl::StatusOr<int> KernelPickedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("bind to port 0", err);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// The low end of the kernel's ephemeral port range (32768 if unknown).
int EphemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  int high = 0;
  if (in >> low >> high && low > 0) return low;
  return 32768;
}

// Connects a blocking TCP socket to 127.0.0.1:`port`; -1 with errno set.
int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// Reads from `fd` until `done(bytes)` or EOF or the deadline.
absl::StatusOr<std::string> ReadUntil(
    int fd, absl::Time deadline,
    const std::function<bool(const std::string&)>& done) {
  std::string bytes;
  while (!done(bytes)) {
    pollfd pfd = {fd, POLLIN, 0};
    const int n = poll(&pfd, 1, MillisUntil(deadline));
    if (n < 0 && errno != EINTR) return ErrnoStatus("poll", errno);
    if (n == 0 && absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "timed out; got \"", absl::CEscape(bytes.substr(0, 200)), "\""));
    }
    if (n <= 0) continue;
    char chunk[16384];
    const ssize_t got = recv(fd, chunk, sizeof(chunk), 0);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ErrnoStatus("recv", errno);
    }
    bytes.append(chunk, static_cast<size_t>(got));
  }
  return bytes;
}

// Decodes a chunked HTTP body.
absl::StatusOr<std::string> Dechunk(absl::string_view body) {
  std::string out;
  while (true) {
    const size_t eol = body.find("\r\n");
    if (eol == absl::string_view::npos) {
      return absl::DataLossError("truncated chunked body");
    }
    absl::string_view size_text = body.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &size)) {
      return absl::DataLossError("bad chunk size");
    }
    body.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (body.size() < size + 2) {
      return absl::DataLossError("truncated chunk");
    }
    out.append(body.data(), size);
    body.remove_prefix(size + 2);
  }
}

}  // namespace

absl::StatusOr<int> PickFreePort() {
  static std::mutex mu;
  static std::set<int>* handed_out = new std::set<int>;
  static std::mt19937 random(
      static_cast<unsigned>(getpid()) ^
      static_cast<unsigned>(absl::ToUnixMicros(absl::Now())));
  std::lock_guard<std::mutex> lock(mu);
  const int high = EphemeralLow() - 1;
  const int low = 20000;
  if (high - low > 1000) {
    std::uniform_int_distribution<int> pick(low, high);
    for (int attempt = 0; attempt < 200; ++attempt) {
      const int port = pick(random);
      if (handed_out->count(port) > 0 || !CanBind(port)) continue;
      handed_out->insert(port);
      return port;
    }
  }
  for (int attempt = 0; attempt < 50; ++attempt) {
    absl::StatusOr<int> port = KernelPickedPort();
    if (!port.ok()) return port;
    if (handed_out->insert(*port).second) return *port;
  }
  return absl::ResourceExhaustedError("no free loopback port found");
}

absl::StatusOr<std::string> HttpGetBody(int port, absl::string_view target,
                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    return ErrnoStatus(absl::StrCat("connect to 127.0.0.1:", port), errno);
  }
  const std::string request =
      absl::StrCat("GET ", target, " HTTP/1.0\r\nHost: 127.0.0.1:", port,
                   "\r\nConnection: close\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("send", err);
  }
  absl::StatusOr<std::string> reply =
      ReadUntil(fd, deadline, [](const std::string&) { return false; });
  close(fd);
  if (!reply.ok()) return reply.status();
  const size_t head_end = reply->find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return absl::DataLossError(
        absl::StrCat("no HTTP header end in \"", absl::CEscape(*reply), "\""));
  }
  const std::string head = absl::AsciiStrToLower(reply->substr(0, head_end));
  std::string body = reply->substr(head_end + 4);
  if (!absl::StartsWith(head, "http/1.1 200") &&
      !absl::StartsWith(head, "http/1.0 200")) {
    return absl::UnavailableError(
        absl::StrCat("GET ", target, ": ", head.substr(0, head.find('\r'))));
  }
  if (absl::StrContains(head, "transfer-encoding: chunked")) {
    return Dechunk(body);
  }
  return body;
}

bool NatsServerProcess::Available() {
  return access(kNatsServerBinary, X_OK) == 0;
}

absl::StatusOr<std::unique_ptr<NatsServerProcess>> NatsServerProcess::Create(
    Options options) {
  for (int* port : {&options.client_port, &options.monitor_port}) {
    if (*port != 0) continue;
    absl::StatusOr<int> picked = PickFreePort();
    if (!picked.ok()) return picked.status();
    *port = *picked;
  }
  if (!options.cluster_name.empty() && options.cluster_port == 0) {
    absl::StatusOr<int> picked = PickFreePort();
    if (!picked.ok()) return picked.status();
    options.cluster_port = *picked;
  }
  if (options.server_name.empty()) {
    options.server_name = absl::StrCat("nats_", options.client_port);
  }
  std::string config =
      absl::StrCat("server_name: ", options.server_name, "\n",
                   "listen: 127.0.0.1:", options.client_port, "\n",
                   "http: 127.0.0.1:", options.monitor_port, "\n");
  if (!options.cluster_name.empty()) {
    std::vector<std::string> routes;
    for (int port : options.route_ports) {
      routes.push_back(absl::StrCat("nats-route://127.0.0.1:", port));
    }
    absl::StrAppend(&config, "cluster {\n  name: ", options.cluster_name,
                    "\n  listen: 127.0.0.1:", options.cluster_port,
                    "\n  routes: [\n    ", absl::StrJoin(routes, "\n    "),
                    "\n  ]\n}\n");
  }
  for (const std::string& line : options.extra_config) {
    absl::StrAppend(&config, line, "\n");
  }
  const std::string base = NewTempPath(options.server_name);
  const std::string config_file = base + ".conf";
  const std::string log_file = base + ".log";
  {
    std::ofstream out(config_file, std::ios::trunc);
    out << config;
    if (!out) {
      return absl::InternalError(absl::StrCat("cannot write ", config_file));
    }
  }
  unlink(log_file.c_str());
  return std::unique_ptr<NatsServerProcess>(
      new NatsServerProcess(std::move(options), config_file, log_file));
}

absl::StatusOr<std::unique_ptr<NatsServerProcess>>
NatsServerProcess::CreateAndStart(Options options, absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<NatsServerProcess>> server =
      Create(std::move(options));
  if (!server.ok()) return server;
  absl::Status started = (*server)->Start(timeout);
  if (!started.ok()) return started;
  return server;
}

std::string NatsServerProcess::client_url() const {
  return absl::StrCat("nats://127.0.0.1:", options_.client_port);
}

absl::Status NatsServerProcess::Start(absl::Duration timeout) {
  if (!Available()) {
    return absl::NotFoundError(
        absl::StrCat(kNatsServerBinary, ": ", strerror(errno)));
  }
  if (IsRunning()) return absl::FailedPreconditionError("already running");
  const int log_fd =
      open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return ErrnoStatus(absl::StrCat("open ", log_file_), errno);
  const std::string marker =
      absl::StrCat("--- starting ", kNatsServerBinary, " -c ", config_file_,
                   " at ", absl::FormatTime(absl::Now()), " ---\n");
  (void)!write(log_fd, marker.data(), marker.size());

  std::vector<std::string> args = {kNatsServerBinary, "-c", config_file_};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return ErrnoStatus("fork", errno);
  }
  if (pid == 0) {
    // Dies with the test, even if the test is killed before its
    // destructors run.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;
  running_ = true;
  wait_status_ = 0;

  const absl::Time deadline = absl::Now() + timeout;
  absl::Status greeting;
  while (true) {
    if (Reap(WNOHANG)) {
      return absl::UnavailableError(absl::StrCat(
          "nats-server ", DescribeWaitStatus(wait_status_),
          " before accepting clients; its log ends:\n", LogTail(2000)));
    }
    greeting = CheckGreeting(absl::Seconds(1));
    if (greeting.ok()) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill().IgnoreError();
  return absl::DeadlineExceededError(
      absl::StrCat("nats-server not accepting clients on port ", client_port(),
                   " within ", absl::FormatDuration(timeout), " (",
                   greeting.ToString(), "); its log ends:\n", LogTail(2000)));
}

absl::Status NatsServerProcess::CheckGreeting(absl::Duration timeout) const {
  const int fd = ConnectLoopback(client_port());
  if (fd < 0) {
    return ErrnoStatus(absl::StrCat("connect to 127.0.0.1:", client_port()),
                       errno);
  }
  absl::StatusOr<std::string> got =
      ReadUntil(fd, absl::Now() + timeout, [](const std::string& bytes) {
        return bytes.find("\r\n") != std::string::npos;
      });
  close(fd);
  if (!got.ok()) return got.status();
  if (!absl::StartsWith(*got, "INFO {")) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected the INFO greeting, got \"",
                     absl::CEscape(got->substr(0, 200)), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> NatsServerProcess::NumRoutes() const {
  absl::StatusOr<std::string> body =
      HttpGetBody(monitor_port(), "/routez", absl::Seconds(5));
  if (!body.ok()) return body.status();
  absl::string_view rest = *body;
  const size_t at = rest.find("\"num_routes\"");
  if (at == absl::string_view::npos) {
    return absl::DataLossError("no num_routes in /routez");
  }
  rest.remove_prefix(at + strlen("\"num_routes\""));
  rest = absl::StripLeadingAsciiWhitespace(rest);
  if (!absl::ConsumePrefix(&rest, ":")) {
    return absl::DataLossError("bad num_routes in /routez");
  }
  rest = absl::StripLeadingAsciiWhitespace(rest);
  size_t digits = 0;
  while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) ++digits;
  int routes = 0;
  if (!absl::SimpleAtoi(rest.substr(0, digits), &routes)) {
    return absl::DataLossError("bad num_routes in /routez");
  }
  return routes;
}

bool NatsServerProcess::Reap(int wait_options) {
  if (running_) running_ = !ReapChild(pid_, wait_options, &wait_status_);
  return !running_;
}

bool NatsServerProcess::IsRunning() { return !Reap(WNOHANG); }

absl::Status NatsServerProcess::Kill() {
  if (!IsRunning()) return absl::OkStatus();
  kill(pid_, SIGKILL);
  Reap(0);
  return absl::OkStatus();
}

absl::StatusOr<int> NatsServerProcess::Stop(absl::Duration timeout) {
  if (IsRunning()) {
    const absl::Status stopped =
        SignalAndReap(pid_, SIGTERM, timeout, "nats-server", &wait_status_);
    running_ = false;
    if (!stopped.ok()) return stopped;
  }
  return ExitCodeOf(wait_status_, "nats-server");
}

absl::Status NatsServerProcess::Signal(int signo) {
  if (!IsRunning()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "nats-server is not running (", DescribeWaitStatus(wait_status_), ")"));
  }
  return SignalChild(pid_, signo);
}

absl::Status NatsServerProcess::Restart(absl::Duration timeout) {
  absl::Status killed = Kill();
  if (!killed.ok()) return killed;
  return Start(timeout);
}

absl::StatusOr<std::string> NatsServerProcess::Log() const {
  std::ifstream in(log_file_, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", log_file_));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string NatsServerProcess::LogTail(size_t bytes) const {
  absl::StatusOr<std::string> log = Log();
  if (!log.ok()) return log.status().ToString();
  return log->size() > bytes ? log->substr(log->size() - bytes) : *log;
}

NatsServerProcess::~NatsServerProcess() {
  Kill().IgnoreError();
  absl::StatusOr<std::string> log = Log();
  if (log.ok()) {
    std::fprintf(stderr, "--- log of nats-server %s (client port %d) ---\n",
                 options_.server_name.c_str(), options_.client_port);
    std::fwrite(log->data(), 1, log->size(), stderr);
    std::fprintf(stderr, "--- end of log ---\n");
  }
  unlink(log_file_.c_str());
  unlink(config_file_.c_str());
}

absl::StatusOr<std::unique_ptr<NatsCluster>> NatsCluster::Start(
    int nodes, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<int> route_ports;
  for (int i = 0; i < nodes; ++i) {
    absl::StatusOr<int> port = PickFreePort();
    if (!port.ok()) return port.status();
    route_ports.push_back(*port);
  }
  std::unique_ptr<NatsCluster> cluster(new NatsCluster);
  for (int i = 0; i < nodes; ++i) {
    NatsServerProcess::Options options;
    options.server_name = absl::StrCat("n", i);
    options.cluster_name = "chatd";
    options.cluster_port = route_ports[i];
    options.route_ports = route_ports;
    absl::StatusOr<std::unique_ptr<NatsServerProcess>> node =
        NatsServerProcess::Create(options);
    if (!node.ok()) return node.status();
    cluster->nodes_.push_back(*std::move(node));
  }
  for (auto& node : cluster->nodes_) {
    absl::Status started = node->Start(deadline - absl::Now());
    if (!started.ok()) return started;
  }
  absl::Status routed = cluster->WaitForRoutes(deadline - absl::Now());
  if (!routed.ok()) return routed;
  return cluster;
}

std::string NatsCluster::UrlsStartingAt(int first) const {
  std::vector<std::string> urls;
  for (int k = 0; k < size(); ++k) {
    urls.push_back(nodes_[(first + k) % size()]->client_url());
  }
  return absl::StrJoin(urls, ",");
}

absl::Status NatsCluster::WaitForRoutes(absl::Duration timeout, int expected) {
  if (expected < 0) expected = size() - 1;
  const absl::Time deadline = absl::Now() + timeout;
  for (auto& node : nodes_) {
    if (!node->IsRunning()) continue;
    while (true) {
      absl::StatusOr<int> routes = node->NumRoutes();
      if (routes.ok() && *routes >= expected) break;
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            node->server_name(), " has ",
            routes.ok() ? absl::StrCat(*routes) : routes.status().ToString(),
            " routes, expected ", expected, " within ",
            absl::FormatDuration(timeout)));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  return absl::OkStatus();
}

}  // namespace chatd_test
