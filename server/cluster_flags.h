// The flags of cluster mode (docs/CLUSTER.md): where NATS is, who this host
// is, and how fast silence counts as a crash. chatd's main reads them once.
#ifndef CHATD_SERVER_CLUSTER_FLAGS_H_
#define CHATD_SERVER_CLUSTER_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/nats_backplane.h"

namespace chatd {

// The backplane's options from the flags; urls empty without --nats_url.
// InvalidArgument for a bad value.
absl::StatusOr<NatsBackplane::Options> ClusterOptionsFromFlags(
    const std::string& irc_server_name);

}  // namespace chatd

#endif  // CHATD_SERVER_CLUSTER_FLAGS_H_
