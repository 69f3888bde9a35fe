#include "tools/loadgen/server_list.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chatd::loadgen {
namespace {

// The entries of a comma-separated list, trimmed; fails on an empty one.
absl::StatusOr<std::vector<absl::string_view>> SplitList(
    absl::string_view text, absl::string_view what) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("empty list of ", what));
  }
  std::vector<absl::string_view> entries;
  int position = 0;
  for (absl::string_view entry : absl::StrSplit(text, ',')) {
    ++position;
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("entry ", position, " is empty (stray comma?)"));
    }
    entries.push_back(entry);
  }
  return entries;
}

bool IsIpv4(absl::string_view host) {
  if (host == "localhost") return true;
  in_addr addr;
  return inet_pton(AF_INET, std::string(host).c_str(), &addr) == 1;
}

}  // namespace

std::string FormatServerAddress(const ServerAddress& server) {
  return absl::StrCat(server.host, ":", server.port);
}

absl::StatusOr<std::vector<ServerAddress>> ParseServerList(
    absl::string_view text) {
  absl::StatusOr<std::vector<absl::string_view>> entries =
      SplitList(text, "servers");
  if (!entries.ok()) return entries.status();
  std::vector<ServerAddress> servers;
  for (absl::string_view entry : *entries) {
    const size_t colon = entry.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", entry, "\" is not host:port"));
    }
    const absl::string_view host = entry.substr(0, colon);
    const absl::string_view port_text = entry.substr(colon + 1);
    if (!IsIpv4(host)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", entry, "\": \"", host, "\" is not an IPv4 address"));
    }
    int port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535 ||
        port_text.front() == '+' || port_text.front() == '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", entry, "\": port \"", port_text, "\" is not 1..65535"));
    }
    ServerAddress server{std::string(host), static_cast<uint16_t>(port)};
    if (std::find(servers.begin(), servers.end(), server) != servers.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", entry, "\" is listed twice"));
    }
    servers.push_back(std::move(server));
  }
  return servers;
}

absl::StatusOr<std::vector<int>> ParsePidList(absl::string_view text) {
  absl::StatusOr<std::vector<absl::string_view>> entries =
      SplitList(text, "pids");
  if (!entries.ok()) return entries.status();
  std::vector<int> pids;
  for (absl::string_view entry : *entries) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry, &pid) || pid <= 0 || entry.front() == '+') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", entry, "\" is not a process id"));
    }
    if (std::find(pids.begin(), pids.end(), pid) != pids.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pid ", pid, " is listed twice"));
    }
    pids.push_back(pid);
  }
  return pids;
}

}  // namespace chatd::loadgen
