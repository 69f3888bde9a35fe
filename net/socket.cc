#include "net/socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chatd {
namespace {

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::ErrnoToStatus(errno, what);
}

}  // namespace

absl::StatusOr<int> ListenTcp(absl::string_view ip, uint16_t port, int backlog,
                              bool dual_stack) {
  const std::string text(ip);
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof(*v4);
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof(*v6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IPv4 or IPv6 address: ", ip));
  }
  const int fd =
      socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (storage.ss_family == AF_INET6) {
    // Explicit either way: the system default (bindv6only) varies.
    const int v6_only = dual_stack ? 0 : 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6_only, sizeof(v6_only));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    absl::Status status = ErrnoStatus(absl::StrCat(
        "bind ",
        storage.ss_family == AF_INET6 ? absl::StrCat("[", ip, "]") : text, ":",
        port));
    close(fd);
    return status;
  }
  if (listen(fd, backlog) != 0) {
    absl::Status status = ErrnoStatus("listen");
    close(fd);
    return status;
  }
  return fd;
}

absl::StatusOr<std::vector<std::string>> ParseBindList(absl::string_view list) {
  std::vector<std::string> addresses;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    const std::string address(absl::StripAsciiWhitespace(part));
    unsigned char bytes[16];
    if (inet_pton(AF_INET, address.c_str(), bytes) != 1 &&
        inet_pton(AF_INET6, address.c_str(), bytes) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--bind: not an IPv4 or IPv6 address: \"", address, "\""));
    }
    if (std::find(addresses.begin(), addresses.end(), address) !=
        addresses.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--bind: ", address, " given twice"));
    }
    addresses.push_back(address);
  }
  return addresses;
}

absl::StatusOr<uint16_t> LocalPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoStatus("getsockname");
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
}

uint64_t AddressKey(const sockaddr_storage& address) {
  constexpr uint64_t kIpv4Prefix = uint64_t{0xffffffff} << 32;
  if (address.ss_family == AF_INET) {
    return kIpv4Prefix |
           ntohl(
               reinterpret_cast<const sockaddr_in*>(&address)->sin_addr.s_addr);
  }
  if (address.ss_family != AF_INET6) return 0;
  const in6_addr& ip =
      reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&ip)) {
    uint32_t v4;
    std::memcpy(&v4, ip.s6_addr + 12, sizeof(v4));
    return kIpv4Prefix | ntohl(v4);
  }
  uint64_t prefix = 0;
  for (int i = 0; i < 8; ++i) prefix = (prefix << 8) | ip.s6_addr[i];
  return prefix;
}

std::string FormatAddress(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
    return absl::StrCat(text, ":", ntohs(v4.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      inet_ntop(AF_INET, v6.sin6_addr.s6_addr + 12, text, sizeof(text));
      return absl::StrCat(text, ":", ntohs(v6.sin6_port));
    }
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    return absl::StrCat("[", text, "]:", ntohs(v6.sin6_port));
  }
  return "?";
}

std::string PeerAddress(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return "?";
  }
  return FormatAddress(address);
}

void SetNoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

absl::StatusOr<uint64_t> RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return ErrnoStatus("getrlimit");
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      return ErrnoStatus("setrlimit");
    }
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

}  // namespace chatd
