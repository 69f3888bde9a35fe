// Small helpers over the BSD socket calls chatd uses, returning absl::Status
// so callers at the edge (the server's startup) can report errors cleanly.
// Stateless; any thread.
#ifndef CHATD_NET_SOCKET_H_
#define CHATD_NET_SOCKET_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chatd {

// A non-blocking, close-on-exec TCP socket listening on ip:port, with
// SO_REUSEADDR; port 0 picks a free one. `ip` is an IPv4 or IPv6 address.
// An IPv6 socket takes IPv4 clients too (as ::ffff:a.b.c.d) only when
// `dual_stack`; "::" with it is the usual "every address, both families".
absl::StatusOr<int> ListenTcp(absl::string_view ip, uint16_t port, int backlog,
                              bool dual_stack = false);

// Splits a --bind list ("127.0.0.1,::1") into addresses, checking each and
// refusing repeats. The result keeps the order given.
absl::StatusOr<std::vector<std::string>> ParseBindList(absl::string_view list);

// The port a bound socket ended up on.
absl::StatusOr<uint16_t> LocalPort(int fd);

// What counts as one client for --max_connections_per_ip: an IPv4 address,
// or the /64 prefix of an IPv6 address, because one host usually owns a
// whole /64 and picks addresses in it at will. An IPv4-mapped IPv6 address
// (a dual-stack socket's IPv4 client) counts as its IPv4 address. IPv4 keys
// are 0xffffffff'00000000 | address: that prefix is IPv6 multicast, which
// is never a TCP peer, so the two families cannot collide.
uint64_t AddressKey(const sockaddr_storage& address);

// "192.0.2.1:5000" or "[2001:db8::1]:5000"; IPv4-mapped addresses are
// shown as IPv4.
std::string FormatAddress(const sockaddr_storage& address);
// The peer of a connected socket, formatted; "?" when unknown. A syscall:
// for log lines, not the message path.
std::string PeerAddress(int fd);

// Disables Nagle: chat lines are small and latency matters more than packets.
void SetNoDelay(int fd);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new limit.
absl::StatusOr<uint64_t> RaiseFileLimit();

}  // namespace chatd

#endif  // CHATD_NET_SOCKET_H_
