#include "tests/connection_swarm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace chatd_test {
namespace {

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(err)));
}

}  // namespace

ConnectionSwarm::ConnectionSwarm(LineHandler on_line)
    : on_line_(std::move(on_line)), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {}

ConnectionSwarm::~ConnectionSwarm() {
  for (size_t id = 0; id < conns_.size(); ++id) {
    if (conns_[id].fd >= 0) close(conns_[id].fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

absl::StatusOr<int> ConnectionSwarm::Connect(int port,
                                             const std::string& source_ip,
                                             std::string first_bytes) {
  if (epoll_fd_ < 0) return ErrnoStatus("epoll_create1", errno);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  // The port is chosen at connect() from the whole 4-tuple: 10,000 clients
  // then need no more than the ephemeral range, even with TIME_WAIT leftovers
  // of earlier runs.
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  sockaddr_in local = {};
  local.sin_family = AF_INET;
  if (inet_pton(AF_INET, source_ip.c_str(), &local.sin_addr) != 1) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat("bad address ", source_ip));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus(absl::StrCat("bind ", source_ip), err);
  }
  sockaddr_in server = {};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(port));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0 &&
      errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return ErrnoStatus("connect", err);
  }
  int id = static_cast<int>(conns_.size());
  Conn& conn = conns_.emplace_back();
  conn.fd = fd;
  conn.out = std::move(first_bytes);
  // EPOLLOUT reports the end of the non-blocking connect.
  epoll_event event = {};
  event.events = EPOLLIN | EPOLLOUT;
  event.data.u32 = static_cast<uint32_t>(id);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return ErrnoStatus("epoll_ctl", errno);
  }
  conn.want_out = true;
  return id;
}

void ConnectionSwarm::Send(int id, absl::string_view bytes) {
  Conn& conn = conns_[id];
  if (conn.fd < 0) return;
  conn.out.append(bytes.data(), bytes.size());
  if (!conn.connecting) UpdateInterest(id);
}

void ConnectionSwarm::UpdateInterest(int id) {
  Conn& conn = conns_[id];
  bool want_out = conn.connecting || !conn.out.empty();
  if (want_out == conn.want_out) return;
  epoll_event event = {};
  event.events = EPOLLIN | (want_out ? uint32_t{EPOLLOUT} : 0u);
  event.data.u32 = static_cast<uint32_t>(id);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn.fd, &event);
  conn.want_out = want_out;
}

absl::Status ConnectionSwarm::PumpUntil(absl::FunctionRef<bool()> done,
                                        absl::Time deadline) {
  epoll_event events[1024];
  while (!done()) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("the server did not answer in time");
    }
    int wait_ms = static_cast<int>(
        absl::ToInt64Milliseconds(std::min(left, absl::Milliseconds(100))));
    int n = epoll_wait(epoll_fd_, events, 1024, wait_ms);
    if (n < 0 && errno != EINTR) return ErrnoStatus("epoll_wait", errno);
    for (int i = 0; i < n; ++i) {
      absl::Status status =
          HandleEvent(static_cast<int>(events[i].data.u32), events[i].events);
      if (!status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

absl::Status ConnectionSwarm::HandleEvent(int id, uint32_t events) {
  Conn& conn = conns_[id];
  if (conn.fd < 0) return absl::OkStatus();  // Closed earlier in this batch.
  if (conn.connecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return Drain(id);
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ErrnoStatus(absl::StrCat("connect #", id), err);
    conn.connecting = false;
  }
  if (events & EPOLLOUT) {
    absl::Status status = Flush(id);
    if (!status.ok()) return status;
  }
  if (conn.fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
    return Drain(id);
  }
  if (conn.fd >= 0) UpdateInterest(id);
  return absl::OkStatus();
}

absl::Status ConnectionSwarm::Flush(int id) {
  Conn& conn = conns_[id];
  while (!conn.out.empty()) {
    ssize_t n = send(conn.fd, conn.out.data(), conn.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      conn.out.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      // The server closed; Drain() will see the EOF and the lines before it.
      conn.out.clear();
      break;
    } else {
      return ErrnoStatus(absl::StrCat("send #", id), errno);
    }
  }
  UpdateInterest(id);
  return absl::OkStatus();
}

absl::Status ConnectionSwarm::Drain(int id) {
  char buffer[65536];
  while (conns_[id].fd >= 0) {
    ssize_t n = recv(conns_[id].fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      CloseConn(id);  // Unterminated bytes at the end are dropped.
      break;
    }
    if (n < 0) return ErrnoStatus(absl::StrCat("recv #", id), errno);
    // on_line_ may Send() on this or other connections; conns_ never
    // reallocates during pumping, so references stay valid.
    std::string& in = conns_[id].in;
    in.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t newline; (newline = in.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      on_line_(id, absl::string_view(in).substr(start, newline - start));
    }
    in.erase(0, start);
  }
  return absl::OkStatus();
}

void ConnectionSwarm::CloseConn(int id) {
  Conn& conn = conns_[id];
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fd, nullptr);
  close(conn.fd);
  conn.fd = -1;
  conn.in.clear();
  conn.out.clear();
  ++closed_count_;
}

}  // namespace chatd_test
