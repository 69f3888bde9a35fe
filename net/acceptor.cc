#include "net/acceptor.h"

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include <glog/logging.h>

#include "absl/time/clock.h"

namespace chatd {
namespace {

// How long to stop watching the listen socket when not even the spare fd
// could be reopened; fds come back as connections close.
constexpr int kPauseMs = 100;

}  // namespace

Acceptor::Acceptor(int listen_fd, OnAccept on_accept, OnRefuse on_refuse)
    : listen_fd_(listen_fd),
      on_accept_(std::move(on_accept)),
      on_refuse_(std::move(on_refuse)) {
  OpenSpare();
  loop_.Add(stop_.fd(), EPOLLIN, &stop_handler_);
  loop_.Add(listen_fd_, EPOLLIN, this);
}

Acceptor::~Acceptor() {
  Stop();
  if (spare_fd_ >= 0) close(spare_fd_);
}

void Acceptor::Start() {
  CHECK(!thread_.joinable());
  thread_ = std::thread([this] { Run(); });
}

void Acceptor::Stop() {
  if (thread_.joinable()) {
    stop_.Signal();
    thread_.join();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
}

void Acceptor::OpenSpare() {
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Acceptor::Run() {
  while (!stopping_) {
    int timeout = -1;
    if (paused_) {
      timeout = static_cast<int>(absl::ToInt64Milliseconds(
          absl::Ceil(resume_at_ - absl::Now(), absl::Milliseconds(1))));
      if (timeout < 0) timeout = 0;
    }
    loop_.Poll(timeout);
    if (paused_ && !stopping_ && loop_.poll_time() >= resume_at_) {
      // Try again: either fds came back, or we pause once more.
      paused_ = false;
      loop_.Add(listen_fd_, EPOLLIN, this);
    }
  }
}

void Acceptor::OnEvents(uint32_t events) {
  while (!stopping_) {
    sockaddr_in peer{};
    socklen_t peer_len = sizeof(peer);
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer),
                           &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(fd, peer.sin_family == AF_INET ? ntohl(peer.sin_addr.s_addr)
                                                : 0);
      continue;
    }
    switch (errno) {
      case EAGAIN:
        return;
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
        continue;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        if (!RefuseOne()) {
          paused_ = true;
          resume_at_ = absl::Now() + absl::Milliseconds(kPauseMs);
          loop_.Remove(listen_fd_);
          return;
        }
        continue;
      default:
        PLOG(ERROR) << "accept4";
        return;
    }
  }
}

bool Acceptor::RefuseOne() {
  if (spare_fd_ < 0) {
    OpenSpare();
    if (spare_fd_ < 0) {
      LOG_EVERY_N(WARNING, 100) << "out of file descriptors; pausing accepts";
      return false;
    }
  }
  close(spare_fd_);
  spare_fd_ = -1;
  const int fd =
      accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    refused_for_fds_.fetch_add(1, std::memory_order_relaxed);
    LOG_EVERY_N(WARNING, 100)
        << "out of file descriptors; refused a connection";
    if (on_refuse_) on_refuse_(fd);
    close(fd);
  }
  OpenSpare();
  return spare_fd_ >= 0;
}

}  // namespace chatd
