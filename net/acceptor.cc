#include "net/acceptor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/time/clock.h"

namespace chatd {
namespace {

// How long to stop watching the listen socket when not even the spare fd
// could be reopened; fds come back as connections close.
constexpr int kPauseMs = 100;

}  // namespace

Acceptor::Acceptor(const std::vector<Listener>& listeners, OnAccept on_accept,
                   OnRefuse on_refuse)
    : on_accept_(std::move(on_accept)), on_refuse_(std::move(on_refuse)) {
  OpenSpare();
  loop_.Add(stop_.fd(), EPOLLIN, &stop_handler_);
  for (const Listener& listener : listeners) {
    sockets_.push_back(std::make_unique<ListenSocket>(this, listener));
    loop_.Add(listener.fd, EPOLLIN, sockets_.back().get());
  }
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
  for (auto& socket : sockets_) socket->Close();
}

void Acceptor::ListenSocket::Close() {
  if (listener_.fd >= 0) {
    close(listener_.fd);
    listener_.fd = -1;
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
    // Try again: either fds came back, or we pause once more.
    if (paused_ && !stopping_ && loop_.poll_time() >= resume_at_) Resume();
  }
}

void Acceptor::Pause() {
  paused_ = true;
  resume_at_ = absl::Now() + absl::Milliseconds(kPauseMs);
  for (auto& socket : sockets_) loop_.Remove(socket->listener().fd);
}

void Acceptor::Resume() {
  paused_ = false;
  for (auto& socket : sockets_) {
    loop_.Add(socket->listener().fd, EPOLLIN, socket.get());
  }
}

void Acceptor::AcceptAll(const Listener& listener) {
  while (!stopping_ && !paused_) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    const int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer),
                           &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(fd, peer, listener.tag);
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
        if (!RefuseOne(listener)) {
          Pause();
          return;
        }
        continue;
      default:
        PLOG(ERROR) << "accept4";
        return;
    }
  }
}

bool Acceptor::RefuseOne(const Listener& listener) {
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
      accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    refused_for_fds_.fetch_add(1, std::memory_order_relaxed);
    LOG_EVERY_N(WARNING, 100)
        << "out of file descriptors; refused a connection";
    if (on_refuse_) on_refuse_(fd, listener.tag);
    close(fd);
  }
  OpenSpare();
  return spare_fd_ >= 0;
}

}  // namespace chatd
