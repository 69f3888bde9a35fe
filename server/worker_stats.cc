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
  }
  return "unknown";
}

}  // namespace chatd
