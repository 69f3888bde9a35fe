#include "tests/http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace chatd_test {
namespace {

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(err)));
}

int MillisUntil(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

// Responses are small except /metrics and the page; this bounds a runaway.
constexpr size_t kMaxHeadBytes = 64 * 1024;

}  // namespace

std::string HttpReply::Header(absl::string_view name) const {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const auto& [key, value] : headers) {
    if (key == lower) return value;
  }
  return "";
}

bool HttpReply::HasHeader(absl::string_view name) const {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const auto& header : headers) {
    if (header.first == lower) return true;
  }
  return false;
}

HttpClient::~HttpClient() { Close(); }

HttpClient::HttpClient(HttpClient&& other) noexcept {
  *this = std::move(other);
}

HttpClient& HttpClient::operator=(HttpClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    port_ = other.port_;
    buffer_ = std::move(other.buffer_);
    eof_ = other.eof_;
    eof_reason_ = std::move(other.eof_reason_);
  }
  return *this;
}

void HttpClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
  eof_ = false;
  eof_reason_.clear();
}

absl::Status HttpClient::Connect(int port, absl::Duration timeout) {
  Close();
  port_ = port;
  const absl::Time deadline = absl::Now() + timeout;
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return ErrnoStatus("socket", errno);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) {
      const int err = errno;
      Close();
      return ErrnoStatus(absl::StrCat("connect to port ", port), err);
    }
    absl::Status ready = WaitFor(POLLOUT, deadline);
    if (!ready.ok()) {
      Close();
      return ready;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      Close();
      return ErrnoStatus(absl::StrCat("connect to port ", port), err);
    }
  }
  return absl::OkStatus();
}

absl::Status HttpClient::WaitFor(short events, absl::Time deadline) {
  while (true) {
    pollfd pfd{fd_, events, 0};
    const int n = poll(&pfd, 1, MillisUntil(deadline));
    if (n > 0) return absl::OkStatus();
    if (n == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("timed out waiting for the server; unread bytes: \"",
                       absl::CEscape(buffer_.substr(0, 200)), "\""));
    }
    if (errno != EINTR) return ErrnoStatus("poll", errno);
  }
}

absl::Status HttpClient::Send(absl::string_view bytes, absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  const absl::Time deadline = absl::Now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      absl::Status ready = WaitFor(POLLOUT, deadline);
      if (!ready.ok()) return ready;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return ErrnoStatus("send", errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> HttpClient::FillBuffer(absl::Time deadline) {
  if (eof_) return size_t{0};
  while (true) {
    char chunk[16384];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (n == 0) {
      eof_ = true;
      eof_reason_ = "the server closed the connection";
      return size_t{0};
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      absl::Status ready = WaitFor(POLLIN, deadline);
      if (!ready.ok()) return ready;
      continue;
    }
    if (errno == EINTR) continue;
    eof_ = true;
    eof_reason_ = absl::StrCat("the connection failed: ", strerror(errno));
    return size_t{0};
  }
}

absl::StatusOr<std::string> HttpClient::ReadCrlfLine(absl::Time deadline) {
  while (true) {
    const size_t end = buffer_.find("\r\n");
    if (end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      return line;
    }
    if (buffer_.size() > kMaxHeadBytes) {
      return absl::OutOfRangeError("response head too long");
    }
    absl::StatusOr<size_t> n = FillBuffer(deadline);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::UnavailableError(
          absl::StrCat(eof_reason_, " before a full line; unread bytes: \"",
                       absl::CEscape(buffer_.substr(0, 200)), "\""));
    }
  }
}

absl::StatusOr<HttpReply> HttpClient::ReadResponse(bool head,
                                                   absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  const absl::Time deadline = absl::Now() + timeout;
  HttpReply reply;
  absl::StatusOr<std::string> status_line = ReadCrlfLine(deadline);
  if (!status_line.ok()) return status_line.status();
  reply.status_line = *status_line;
  // "HTTP/1.1 200 OK"
  const std::vector<std::string> parts =
      absl::StrSplit(reply.status_line, absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
      !absl::SimpleAtoi(parts[1], &reply.status)) {
    return absl::DataLossError(absl::StrCat(
        "not an HTTP status line: \"", absl::CEscape(reply.status_line), "\""));
  }
  while (true) {
    absl::StatusOr<std::string> line = ReadCrlfLine(deadline);
    if (!line.ok()) return line.status();
    if (line->empty()) break;
    const size_t colon = line->find(':');
    if (colon == std::string::npos) {
      return absl::DataLossError(
          absl::StrCat("bad header line: \"", absl::CEscape(*line), "\""));
    }
    reply.headers.emplace_back(
        absl::AsciiStrToLower(line->substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(
            absl::string_view(*line).substr(colon + 1))));
  }
  size_t length = 0;
  const bool no_body = head || reply.status == 101 || reply.status == 204 ||
                       reply.status == 304 || reply.status < 200;
  if (!no_body && reply.HasHeader("content-length")) {
    if (!absl::SimpleAtoi(reply.Header("content-length"), &length)) {
      return absl::DataLossError(absl::StrCat(
          "bad Content-Length: \"", reply.Header("content-length"), "\""));
    }
  }
  absl::StatusOr<std::string> body = ReadBytes(length, deadline - absl::Now());
  if (!body.ok()) return body.status();
  reply.body = *std::move(body);
  return reply;
}

absl::StatusOr<std::string> HttpClient::ReadBytes(size_t n,
                                                  absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (buffer_.size() < n) {
    absl::StatusOr<size_t> got = FillBuffer(deadline);
    if (!got.ok()) return got.status();
    if (*got == 0) {
      return absl::UnavailableError(absl::StrCat(
          eof_reason_, " after ", buffer_.size(), " of ", n, " bytes"));
    }
  }
  std::string bytes = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return bytes;
}

absl::StatusOr<HttpReply> HttpClient::Request(absl::string_view method,
                                              absl::string_view target,
                                              absl::string_view extra_headers,
                                              absl::Duration timeout) {
  absl::Status sent = Send(
      absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1:", port_,
                   "\r\n", extra_headers, "\r\n"),
      timeout);
  if (!sent.ok()) return sent;
  return ReadResponse(method == "HEAD", timeout);
}

absl::Status HttpClient::ExpectClosed(absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  const absl::Time deadline = absl::Now() + timeout;
  while (!eof_) {
    absl::StatusOr<size_t> n = FillBuffer(deadline);
    if (!n.ok()) {
      return absl::DeadlineExceededError(
          absl::StrCat("the connection stayed open: ", n.status().message()));
    }
  }
  if (!buffer_.empty()) {
    return absl::DataLossError(
        absl::StrCat("unexpected bytes before the close: \"",
                     absl::CEscape(buffer_.substr(0, 200)), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<HttpReply> HttpGet(int port, absl::string_view target,
                                  absl::Duration timeout) {
  HttpClient client;
  absl::Status connected = client.Connect(port, timeout);
  if (!connected.ok()) return connected;
  return client.Request("GET", target, "Connection: close\r\n", timeout);
}

}  // namespace chatd_test
