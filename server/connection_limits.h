// ConnectionLimits admits or refuses new connections: at most
// `max_connections` open in all, and at most `max_per_ip` from one address.
// The acceptor thread admits; the worker that frees a connection releases.
// Both are rare next to messages, so one mutex guards the counts.
#ifndef CHATD_SERVER_CONNECTION_LIMITS_H_
#define CHATD_SERVER_CONNECTION_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "third_party/mutex.h"

namespace chatd {

class ConnectionLimits {
 public:
  enum class Verdict { kAdmit, kServerFull, kTooManyFromAddress };

  // `max_per_ip` 0 means no per-address limit.
  ConnectionLimits(size_t max_connections, size_t max_per_ip)
      : max_connections_(max_connections), max_per_ip_(max_per_ip) {}

  // On kAdmit the connection is counted until Release(ip).
  Verdict Admit(uint32_t ip);
  void Release(uint32_t ip);

  size_t open() const;

  // The reason sent to a refused client, without "ERROR ".
  static absl::string_view Reason(Verdict verdict);

 private:
  const size_t max_connections_;
  const size_t max_per_ip_;
  mutable Mutex mu_;
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
  // Only kept when max_per_ip_ > 0.
  absl::flat_hash_map<uint32_t, size_t> per_ip_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chatd

#endif  // CHATD_SERVER_CONNECTION_LIMITS_H_
