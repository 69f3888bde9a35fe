#include "tests/chat_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace chatd_test {
namespace {

// Older libc headers may lack it; the value is fixed by the kernel ABI.
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(err)));
}

int MillisUntil(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  // Round up so a sub-millisecond remainder still waits instead of spinning.
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

}  // namespace

ChatClient::~ChatClient() { Close(); }

ChatClient::ChatClient(ChatClient&& other) noexcept {
  *this = std::move(other);
}

ChatClient& ChatClient::operator=(ChatClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    start_ = std::exchange(other.start_, 0);
    eof_ = other.eof_;
    eof_reason_ = std::move(other.eof_reason_);
  }
  return *this;
}

absl::Status ChatClient::Connect(int port, absl::string_view source_ip,
                                 absl::Duration timeout) {
  Close();
  buffer_.clear();
  start_ = 0;
  eof_ = false;
  eof_reason_.clear();
  // Non-blocking so that connect and every later wait can be bounded by poll.
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return ErrnoStatus("socket", errno);
  // Tests that send a line byte by byte want each byte in its own segment.
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  if (!source_ip.empty()) {
    // Pick the port at connect() time, from the full 4-tuple, so many clients
    // per source address don't exhaust the ephemeral range on bind().
    setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in local = {};
    local.sin_family = AF_INET;
    std::string ip(source_ip);
    if (inet_pton(AF_INET, ip.c_str(), &local.sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad source ip ", ip));
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      return ErrnoStatus(absl::StrCat("bind ", ip), errno);
    }
  }

  sockaddr_in server = {};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(port));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) {
    if (errno != EINPROGRESS) return ErrnoStatus("connect", errno);
    absl::Status ready = WaitFor(POLLOUT, absl::Now() + timeout);
    if (!ready.ok()) return ready;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ErrnoStatus("connect", err);
  }
  return absl::OkStatus();
}

absl::StatusOr<ChatClient> ChatClient::Join(int port, absl::string_view group,
                                            absl::string_view name, int online,
                                            absl::string_view source_ip) {
  ChatClient client;
  absl::Status status = client.Connect(port, source_ip);
  if (!status.ok()) return status;
  // A server that rejects at once (server full) may have closed before the
  // JOIN arrives; its reply is still worth more than the send error.
  absl::Status sent = client.SendLine(absl::StrCat("JOIN ", group, " ", name));
  absl::StatusOr<std::string> reply = client.ReadLine();
  if (!reply.ok()) return sent.ok() ? reply.status() : sent;
  std::string welcome = absl::StrCat("* you joined ", group, " as ", name, " (",
                                     online, " online)");
  if (online < 0) {
    absl::string_view count = *reply;
    int n = 0;
    if (absl::ConsumePrefix(
            &count, absl::StrCat("* you joined ", group, " as ", name, " (")) &&
        absl::ConsumeSuffix(&count, " online)") &&
        absl::SimpleAtoi(count, &n) && n >= 1) {
      return client;
    }
    welcome =
        absl::StrCat("* you joined ", group, " as ", name, " (<n> online)");
  }
  if (*reply != welcome) {
    return absl::FailedPreconditionError(absl::StrCat(
        "expected \"", welcome, "\", got \"", absl::CHexEscape(*reply), "\""));
  }
  return client;
}

absl::Status ChatClient::WaitFor(short events, absl::Time deadline) {
  while (true) {
    pollfd pfd = {fd_, events, 0};
    int n = poll(&pfd, 1, MillisUntil(deadline));
    if (n > 0) return absl::OkStatus();  // Ready, or an error to report.
    if (n < 0 && errno != EINTR) return ErrnoStatus("poll", errno);
    if (n == 0 && absl::Now() >= deadline) {
      return absl::DeadlineExceededError("timed out waiting for the server");
    }
  }
}

absl::Status ChatClient::SendRaw(absl::string_view bytes,
                                 absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  absl::Time deadline = absl::Now() + timeout;
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a peer that already closed must fail the call, not kill
    // the test process with SIGPIPE.
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      absl::Status ready = WaitFor(POLLOUT, deadline);
      if (!ready.ok()) return ready;
    } else {
      return ErrnoStatus("send", errno);
    }
  }
  return absl::OkStatus();
}

absl::Status ChatClient::SendLine(absl::string_view text,
                                  absl::Duration timeout) {
  return SendRaw(absl::StrCat(text, "\n"), timeout);
}

absl::StatusOr<size_t> ChatClient::FillBuffer(absl::Time deadline) {
  while (true) {
    char chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (n == 0) {
      eof_ = true;
      eof_reason_ = "connection closed by the server";
      return 0;
    }
    if (errno == ECONNRESET) {
      eof_ = true;
      eof_reason_ = "connection reset by the server";
      return 0;
    }
    if (errno != EAGAIN && errno != EINTR) return ErrnoStatus("recv", errno);
    absl::Status ready = WaitFor(POLLIN, deadline);
    if (!ready.ok()) return ready;
  }
}

absl::StatusOr<std::string> ChatClient::ReadLine(absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  absl::Time deadline = absl::Now() + timeout;
  size_t scanned = start_;  // Bytes before this hold no "\n".
  while (true) {
    size_t newline = buffer_.find('\n', scanned);
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(start_, newline - start_);
      start_ = newline + 1;
      // Drop consumed bytes only now and then: erasing the front on every
      // line would make reading a burst of lines quadratic.
      if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
      } else if (start_ > 65536 && start_ > buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
      }
      return line;
    }
    scanned = buffer_.size();
    if (eof_) {
      std::string message = eof_reason_;
      if (start_ < buffer_.size()) {
        absl::StrAppend(&message, " after unterminated \"",
                        absl::CHexEscape(buffer_.substr(start_)), "\"");
      }
      return absl::UnavailableError(message);
    }
    absl::StatusOr<size_t> got = FillBuffer(deadline);
    if (!got.ok()) return got.status();
  }
}

std::string ChatClient::NextLine(absl::Duration timeout) {
  absl::StatusOr<std::string> line = ReadLine(timeout);
  if (line.ok()) return *std::move(line);
  return absl::StrCat("<no line: ", line.status().ToString(), ">");
}

absl::Status ChatClient::ExpectClosed(absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  absl::Time deadline = absl::Now() + timeout;
  while (start_ == buffer_.size() && !eof_) {
    absl::StatusOr<size_t> got = FillBuffer(deadline);
    if (!got.ok()) return got.status();
  }
  if (start_ < buffer_.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected the connection to close, got \"",
                     absl::CHexEscape(buffer_.substr(start_)), "\""));
  }
  return absl::OkStatus();
}

absl::Status ChatClient::SetReceiveBuffer(int bytes) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0) {
    return ErrnoStatus("setsockopt SO_RCVBUF", errno);
  }
  return absl::OkStatus();
}

absl::Status ChatClient::SetLingerZero() {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  linger lin = {1, 0};
  if (setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)) != 0) {
    return ErrnoStatus("setsockopt SO_LINGER", errno);
  }
  return absl::OkStatus();
}

absl::Status ChatClient::ShutdownWrite() {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  if (shutdown(fd_, SHUT_WR) != 0) return ErrnoStatus("shutdown", errno);
  return absl::OkStatus();
}

void ChatClient::Close() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

}  // namespace chatd_test
