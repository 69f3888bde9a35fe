#include "server/worker_stats.h"

namespace chatd {

absl::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kSlow:
      return "slow";
    case DropReason::kLineTooLong:
      return "line_too_long";
    case DropReason::kJoinTimeout:
      return "join_timeout";
    case DropReason::kServerFull:
      return "server_full";
    case DropReason::kProtocolError:
      return "protocol_error";
    case DropReason::kPingTimeout:
      return "ping_timeout";
    case DropReason::kTlsHandshake:
      return "tls_handshake";
  }
  return "unknown";
}

absl::string_view TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kHandshake:
      return "handshake";
    case TlsMode::kUser:
      return "user";
    case TlsMode::kKernel:
      return "kernel";
  }
  return "unknown";
}

}  // namespace chatd
