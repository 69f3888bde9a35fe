#include "tools/loadgen/client_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "net/socket.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace chatd::loadgen {

absl::StatusOr<sockaddr_in> ResolveIpv4(absl::string_view host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  const std::string h = host == "localhost" ? "127.0.0.1" : std::string(host);
  if (inet_pton(AF_INET, h.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IPv4 address: ", host));
  }
  return addr;
}

in_addr LoopbackSource(uint32_t index, int count) {
  in_addr a{};
  a.s_addr = htonl((127u << 24) | (2u + index % static_cast<uint32_t>(count)));
  return a;
}

absl::StatusOr<ConnectStart> StartConnect(const sockaddr_in& server,
                                          std::optional<in_addr> source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  if (source.has_value()) {
    const int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr = *source;
    if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) !=
        0) {
      const absl::Status status = absl::ErrnoToStatus(errno, "bind");
      close(fd);
      return status;
    }
  }
  SetNoDelay(fd);
  ConnectStart start;
  start.fd = fd;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) ==
      0) {
    start.connected = true;
    return start;
  }
  if (errno == EINPROGRESS) return start;
  const absl::Status status = absl::ErrnoToStatus(errno, "connect");
  close(fd);
  return status;
}

int TakeSocketError(int fd) {
  int error = 0;
  socklen_t len = sizeof(error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return errno;
  return error;
}

}  // namespace chatd::loadgen
