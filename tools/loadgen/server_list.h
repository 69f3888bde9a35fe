// Parsers for loadgen's list flags: --servers=host:port,host:port,... (the
// chatd processes of a cluster, connection i going to servers[i % n]) and
// --server_pids=pid,pid,... (the processes whose CPU and memory are summed).
// Pure functions on strings; any thread.
#ifndef CHATD_TOOLS_LOADGEN_SERVER_LIST_H_
#define CHATD_TOOLS_LOADGEN_SERVER_LIST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chatd::loadgen {

struct ServerAddress {
  std::string host;  // Dotted IPv4 (or "localhost"), as given.
  uint16_t port = 0;

  bool operator==(const ServerAddress& other) const {
    return host == other.host && port == other.port;
  }
};

// "host:port".
std::string FormatServerAddress(const ServerAddress& server);

// Parses a comma-separated list of IPv4 "host:port" entries (spaces around
// an entry are ignored). Fails, saying which entry and why, on an empty
// list or entry, a host that is not a dotted IPv4 address or "localhost",
// a port that is not 1..65535, or the same host:port twice.
absl::StatusOr<std::vector<ServerAddress>> ParseServerList(
    absl::string_view text);

// Parses a comma-separated list of process ids (positive integers, no
// repeats: a repeated pid would count its CPU twice).
absl::StatusOr<std::vector<int>> ParsePidList(absl::string_view text);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_SERVER_LIST_H_
