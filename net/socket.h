// Small helpers over the BSD socket calls chatd uses, returning absl::Status
// so callers at the edge (the server's startup) can report errors cleanly.
// Stateless; any thread.
#ifndef CHATD_NET_SOCKET_H_
#define CHATD_NET_SOCKET_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chatd {

// A non-blocking, close-on-exec TCP socket listening on ip:port (IPv4;
// port 0 picks a free one), with SO_REUSEADDR.
absl::StatusOr<int> ListenTcp(absl::string_view ip, uint16_t port,
                              int backlog);

// The port a bound socket ended up on.
absl::StatusOr<uint16_t> LocalPort(int fd);

// Disables Nagle: chat lines are small and latency matters more than packets.
void SetNoDelay(int fd);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new limit.
absl::StatusOr<uint64_t> RaiseFileLimit();

}  // namespace chatd

#endif  // CHATD_NET_SOCKET_H_
