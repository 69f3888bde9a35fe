#include "server/cluster_flags.h"

#include <gflags/gflags.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

DEFINE_string(nats_url, "",
              "Comma list of NATS servers (nats://host:port, tls://...), tried "
              "in order. Set, this chatd is one host of a cluster that shares "
              "groups and names with the others; unset, it stands alone.");
DEFINE_string(node_name, "",
              "This host's name in the cluster (letters, digits, '-', '_'); "
              "default: the host name and the process id. Each start also "
              "picks a new incarnation id.");
DEFINE_string(nats_user, "", "NATS user name.");
DEFINE_string(nats_password, "", "NATS password, with --nats_user.");
DEFINE_string(nats_token, "", "NATS authentication token.");
DEFINE_string(nats_creds_file, "",
              "NATS credentials file (user JWT and NKey seed).");
DEFINE_bool(nats_tls, false, "Require TLS to the NATS servers.");
DEFINE_string(nats_tls_ca, "", "PEM file of the CAs that sign NATS servers.");
DEFINE_string(nats_tls_cert, "", "PEM client certificate for NATS.");
DEFINE_string(nats_tls_key, "", "PEM key of --nats_tls_cert.");
DEFINE_string(nats_tls_hostname, "",
              "The name expected in the NATS servers' certificates.");
DEFINE_int32(cluster_heartbeat_ms, 1000,
             "How often this host tells the others it is alive.");
DEFINE_int32(cluster_host_timeout_ms, 3000,
             "A host not heard from for this long is gone: its members are "
             "announced as left.");
DEFINE_int32(nats_reconnect_wait_ms, 250,
             "Wait between attempts to reach NATS again.");

namespace chatd {

absl::StatusOr<NatsBackplane::Options> ClusterOptionsFromFlags(
    const std::string& irc_server_name) {
  NatsBackplane::Options options;
  options.urls = FLAGS_nats_url;
  std::string node = FLAGS_node_name;
  if (node.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == 0) {
      snprintf(host, sizeof(host), "chatd");
    }
    node = absl::StrCat(host, "-", getpid());
    for (char& c : node) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_') c = '-';
    }
  }
  for (char c : node) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_') {
      return absl::InvalidArgumentError(
          "--node_name may hold only letters, digits, '-' and '_'");
    }
  }
  if (node.size() > 64) {
    return absl::InvalidArgumentError("--node_name is longer than 64");
  }
  options.node_name = node;
  options.user = FLAGS_nats_user;
  options.password = FLAGS_nats_password;
  options.token = FLAGS_nats_token;
  options.creds_file = FLAGS_nats_creds_file;
  options.tls = FLAGS_nats_tls;
  options.tls_ca_file = FLAGS_nats_tls_ca;
  options.tls_cert_file = FLAGS_nats_tls_cert;
  options.tls_key_file = FLAGS_nats_tls_key;
  options.tls_hostname = FLAGS_nats_tls_hostname;
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--nats_tls_cert and --nats_tls_key go together");
  }
  if (FLAGS_cluster_heartbeat_ms < 10 || FLAGS_nats_reconnect_wait_ms < 1 ||
      FLAGS_cluster_host_timeout_ms < 2 * FLAGS_cluster_heartbeat_ms) {
    return absl::InvalidArgumentError(
        "--cluster_heartbeat_ms must be at least 10, --nats_reconnect_wait_ms "
        "positive, and --cluster_host_timeout_ms at least two heartbeats");
  }
  options.heartbeat = absl::Milliseconds(FLAGS_cluster_heartbeat_ms);
  options.host_timeout = absl::Milliseconds(FLAGS_cluster_host_timeout_ms);
  options.reconnect_wait = absl::Milliseconds(FLAGS_nats_reconnect_wait_ms);
  options.irc_server_name = irc_server_name;
  return options;
}

}  // namespace chatd
