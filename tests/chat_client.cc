#include "tests/chat_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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

// How long one wait in TLS mode lasts at most before the stream is asked
// again (see WaitForTls).
constexpr absl::Duration kTlsWaitSlice = absl::Milliseconds(50);

using TlsResult = chatd::TlsStream::Result;

}  // namespace

std::string HostPort(absl::string_view host, int port) {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<std::shared_ptr<const chatd::TlsContext>> TlsClientContext(
    const std::string& ca_file, absl::string_view alpn, int min_version,
    int max_version) {
  chatd::TlsContext::ClientOptions options;
  options.ca_file = ca_file;
  options.verify = true;
  options.alpn = std::string(alpn);
  options.min_version = min_version;
  options.max_version = max_version;
  return chatd::TlsContext::LoadClient(options);
}

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
    reset_ = other.reset_;
    eof_reason_ = std::move(other.eof_reason_);
    tls_ = std::move(other.tls_);
    tls_mu_ = std::move(other.tls_mu_);
  }
  return *this;
}

absl::Status ChatClient::Connect(int port, absl::string_view source_ip,
                                 absl::Duration timeout) {
  Endpoint endpoint;
  endpoint.port = port;
  endpoint.source_ip = std::string(source_ip);
  return Connect(endpoint, timeout);
}

absl::Status ChatClient::Connect(const Endpoint& endpoint,
                                 absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status status = ConnectTcp(endpoint, deadline);
  if (!status.ok() || endpoint.tls == nullptr) return status;
  return StartTls(endpoint, deadline);
}

absl::Status ChatClient::ConnectTcp(const Endpoint& endpoint,
                                    absl::Time deadline) {
  Close();
  buffer_.clear();
  start_ = 0;
  eof_ = false;
  reset_ = false;
  eof_reason_.clear();
  sockaddr_storage server = {};
  socklen_t server_len = 0;
  const std::string host = endpoint.host;
  auto* server4 = reinterpret_cast<sockaddr_in*>(&server);
  auto* server6 = reinterpret_cast<sockaddr_in6*>(&server);
  if (inet_pton(AF_INET, host.c_str(), &server4->sin_addr) == 1) {
    server4->sin_family = AF_INET;
    server4->sin_port = htons(static_cast<uint16_t>(endpoint.port));
    server_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &server6->sin6_addr) == 1) {
    server6->sin6_family = AF_INET6;
    server6->sin6_port = htons(static_cast<uint16_t>(endpoint.port));
    server_len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("bad address ", host));
  }
  // Non-blocking so that connect and every later wait can be bounded by poll.
  fd_ = socket(server.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return ErrnoStatus("socket", errno);
  // Tests that send a line byte by byte want each byte in its own segment.
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  if (!endpoint.source_ip.empty()) {
    // Pick the port at connect() time, from the full 4-tuple, so many clients
    // per source address don't exhaust the ephemeral range on bind().
    setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_storage local = {};
    socklen_t local_len = 0;
    const std::string ip = endpoint.source_ip;
    if (server.ss_family == AF_INET) {
      auto* local4 = reinterpret_cast<sockaddr_in*>(&local);
      local4->sin_family = AF_INET;
      if (inet_pton(AF_INET, ip.c_str(), &local4->sin_addr) != 1) {
        return absl::InvalidArgumentError(absl::StrCat("bad source ip ", ip));
      }
      local_len = sizeof(sockaddr_in);
    } else {
      auto* local6 = reinterpret_cast<sockaddr_in6*>(&local);
      local6->sin6_family = AF_INET6;
      if (inet_pton(AF_INET6, ip.c_str(), &local6->sin6_addr) != 1) {
        return absl::InvalidArgumentError(absl::StrCat("bad source ip ", ip));
      }
      local_len = sizeof(sockaddr_in6);
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), local_len) != 0) {
      return ErrnoStatus(absl::StrCat("bind ", ip), errno);
    }
  }

  if (connect(fd_, reinterpret_cast<sockaddr*>(&server), server_len) != 0) {
    if (errno != EINPROGRESS) return ErrnoStatus("connect", errno);
    absl::Status ready = WaitFor(POLLOUT, deadline);
    if (!ready.ok()) return ready;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ErrnoStatus("connect", err);
  }
  return absl::OkStatus();
}

absl::Status ChatClient::StartTls(const Endpoint& endpoint,
                                  absl::Time deadline) {
  // OpenSSL writes the socket with write(), which raises SIGPIPE when the
  // server has gone; a test must see an error instead of dying.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  absl::StatusOr<std::unique_ptr<chatd::TlsStream>> stream =
      chatd::TlsStream::Create(
          endpoint.tls, fd_, chatd::TlsStream::Role::kClient,
          endpoint.server_name.empty() ? endpoint.host : endpoint.server_name);
  if (!stream.ok()) return stream.status();
  tls_ = *std::move(stream);
  tls_mu_ = std::make_unique<std::mutex>();
  // Only this thread knows the client yet: no lock needed.
  while (true) {
    char chunk[chatd::TlsStream::kMaxRecord];
    size_t n = 0;
    const TlsResult result = tls_->Read(chunk, sizeof(chunk), &n);
    if (result == TlsResult::kDone) buffer_.append(chunk, n);
    if (tls_->established() &&
        (result == TlsResult::kDone || result == TlsResult::kWantRead)) {
      return absl::OkStatus();
    }
    switch (result) {
      case TlsResult::kDone:
        continue;
      case TlsResult::kWantRead:
      case TlsResult::kWantWrite: {
        absl::Status ready = WaitForTls(result, deadline);
        if (!ready.ok()) {
          return absl::Status(
              ready.code(),
              absl::StrCat(ready.message(), " during the TLS handshake"));
        }
        continue;
      }
      case TlsResult::kClosed:
        return absl::UnavailableError(
            "connection closed by the server during the TLS handshake");
      case TlsResult::kError:
        return absl::UnavailableError(
            absl::StrCat("TLS handshake failed: ", tls_->TakeError()));
    }
  }
}

absl::Status ChatClient::WaitForTls(TlsResult want, absl::Time deadline) {
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError("timed out waiting for the server");
  }
  const absl::Time slice = std::min(deadline, absl::Now() + kTlsWaitSlice);
  absl::Status ready =
      WaitFor(want == TlsResult::kWantWrite ? POLLOUT : POLLIN, slice);
  if (absl::IsDeadlineExceeded(ready) && slice < deadline) {
    return absl::OkStatus();  // Ask the stream again.
  }
  return ready;
}

std::string ChatClient::tls_version() const {
  if (tls_ == nullptr) return "";
  std::lock_guard<std::mutex> lock(*tls_mu_);
  return tls_->version();
}

std::string ChatClient::tls_cipher() const {
  if (tls_ == nullptr) return "";
  std::lock_guard<std::mutex> lock(*tls_mu_);
  return tls_->cipher();
}

std::string ChatClient::tls_alpn() const {
  if (tls_ == nullptr) return "";
  std::lock_guard<std::mutex> lock(*tls_mu_);
  return tls_->alpn();
}

absl::StatusOr<ChatClient> ChatClient::Join(int port, absl::string_view group,
                                            absl::string_view name, int online,
                                            absl::string_view source_ip) {
  Endpoint endpoint;
  endpoint.port = port;
  endpoint.source_ip = std::string(source_ip);
  return Join(endpoint, group, name, online);
}

absl::StatusOr<ChatClient> ChatClient::Join(const Endpoint& endpoint,
                                            absl::string_view group,
                                            absl::string_view name,
                                            int online) {
  ChatClient client;
  absl::Status status = client.Connect(endpoint);
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
  // With kernel TLS the kernel builds the records from plain bytes.
  if (tls_ != nullptr && !tls_->kernel_send()) return SendTls(bytes, deadline);
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

absl::StatusOr<TlsResult> ChatClient::StepTls(
    const std::function<TlsResult()>& step, absl::Time deadline,
    std::string* error) {
  while (true) {
    TlsResult result;
    {
      std::lock_guard<std::mutex> lock(*tls_mu_);
      result = step();
      if (result == TlsResult::kError) *error = tls_->TakeError();
    }
    if (result != TlsResult::kWantRead && result != TlsResult::kWantWrite) {
      return result;
    }
    absl::Status ready = WaitForTls(result, deadline);
    if (!ready.ok()) return ready;
  }
}

absl::Status ChatClient::SendTls(absl::string_view bytes, absl::Time deadline) {
  bool sent = false;
  auto step = [&]() -> TlsResult {
    if (tls_->write_blocked()) return tls_->ResumeWrite();
    if (bytes.empty()) {
      sent = true;
      return TlsResult::kDone;
    }
    size_t taken = 0;
    const TlsResult result = tls_->Write(
        bytes.substr(0, std::min(bytes.size(), chatd::TlsStream::kMaxRecord)),
        &taken);
    bytes.remove_prefix(taken);
    return result;
  };
  std::string error;
  while (!sent) {
    absl::StatusOr<TlsResult> result = StepTls(step, deadline, &error);
    if (!result.ok()) return result.status();
    if (*result == TlsResult::kClosed) {
      return absl::UnavailableError("send: the server ended the TLS session");
    }
    if (*result == TlsResult::kError) {
      return absl::UnavailableError(absl::StrCat("send over TLS: ", error));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ChatClient::FillBuffer(absl::Time deadline) {
  return ReadInto(&buffer_, deadline);
}

absl::StatusOr<size_t> ChatClient::ReadInto(std::string* out,
                                            absl::Time deadline) {
  if (tls_ != nullptr) {
    char chunk[65536];
    size_t n = 0;
    std::string error;
    absl::StatusOr<TlsResult> result = StepTls(
        [&] { return tls_->Read(chunk, sizeof(chunk), &n); }, deadline, &error);
    if (!result.ok()) return result.status();
    if (*result == TlsResult::kDone) {
      out->append(chunk, n);
      return n;
    }
    eof_ = true;
    if (*result == TlsResult::kClosed) {
      eof_reason_ = "connection closed by the server";
      return 0;
    }
    if (error == strerror(ECONNRESET)) {
      reset_ = true;
      eof_reason_ = "connection reset by the server";
      return 0;
    }
    // A bad record or alert is a failure of its own, not an end.
    eof_reason_ = absl::StrCat("TLS error: ", error);
    return absl::UnavailableError(eof_reason_);
  }
  while (true) {
    char chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      out->append(chunk, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (n == 0) {
      eof_ = true;
      eof_reason_ = "connection closed by the server";
      return 0;
    }
    if (errno == ECONNRESET) {
      eof_ = true;
      reset_ = true;
      eof_reason_ = "connection reset by the server";
      return 0;
    }
    if (errno != EAGAIN && errno != EINTR) return ErrnoStatus("recv", errno);
    absl::Status ready = WaitFor(POLLIN, deadline);
    if (!ready.ok()) return ready;
  }
}

absl::StatusOr<size_t> ChatClient::ReadSome(std::string* out,
                                            absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  if (start_ < buffer_.size()) {
    const size_t n = buffer_.size() - start_;
    out->append(buffer_, start_, n);
    buffer_.clear();
    start_ = 0;
    return n;
  }
  if (eof_) return 0;
  return ReadInto(out, absl::Now() + timeout);
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
  if (tls_ != nullptr) {
    // Finish what a write left, then close_notify, each bounded.
    absl::Status sent = SendTls("", absl::Now() + kDefaultTimeout);
    if (!sent.ok()) return sent;
    const absl::Time deadline = absl::Now() + kDefaultTimeout;
    while (true) {
      TlsResult result;
      std::string error;
      {
        std::lock_guard<std::mutex> lock(*tls_mu_);
        result = tls_->Shutdown();
        if (result == TlsResult::kError) error = tls_->TakeError();
      }
      if (result == TlsResult::kDone) break;
      if (result == TlsResult::kWantRead || result == TlsResult::kWantWrite) {
        absl::Status ready = WaitForTls(result, deadline);
        if (!ready.ok()) return ready;
        continue;
      }
      return absl::UnavailableError(
          absl::StrCat("TLS close_notify: ", error.empty() ? "closed" : error));
    }
  }
  if (shutdown(fd_, SHUT_WR) != 0) return ErrnoStatus("shutdown", errno);
  return absl::OkStatus();
}

void ChatClient::Close() {
  tls_.reset();  // Never touches the socket: a close, not a close_notify.
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

}  // namespace chatd_test
