// Client-side socket helpers for loadgen: a non-blocking connect, optionally
// from a chosen loopback source address so one run can use more than one
// address's ephemeral ports. Stateless; any thread. (The server-side helpers
// live in net/socket.h.)
#ifndef CHATD_TOOLS_LOADGEN_CLIENT_SOCKET_H_
#define CHATD_TOOLS_LOADGEN_CLIENT_SOCKET_H_

#include <netinet/in.h>

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chatd::loadgen {

absl::StatusOr<sockaddr_in> ResolveIpv4(absl::string_view host, uint16_t port);

// 127.0.0.(2 + index % count): the source address of connection `index`
// with --source_ips=count (> 0).
in_addr LoopbackSource(uint32_t index, int count);

struct ConnectStart {
  int fd = -1;
  bool connected = false;  // True if it completed at once (else in progress).
};

// A non-blocking, close-on-exec TCP socket with Nagle off, connecting to
// `server`. With `source`, it binds that address first with
// IP_BIND_ADDRESS_NO_PORT, so the kernel picks the port at connect() time
// per (source, destination) and each source address has a full range.
absl::StatusOr<ConnectStart> StartConnect(const sockaddr_in& server,
                                          std::optional<in_addr> source);

// The pending error of a socket whose connect finished (0 on success).
int TakeSocketError(int fd);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_CLIENT_SOCKET_H_
