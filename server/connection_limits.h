// ConnectionLimits admits or refuses new connections: at most
// `max_connections` open in all, and at most `max_per_ip` from one address
// (an IPv6 /64; see AddressKey). The acceptor thread admits; the worker
// that frees a connection releases it by fd, before closing the fd, so a
// connection carries no address of its own and the fd cannot have been
// reused yet. Both are rare next to messages, so one mutex guards it all.
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

  // On kAdmit the connection `fd` from `address_key` is counted until
  // Release(fd).
  Verdict Admit(int fd, uint64_t address_key);
  void Release(int fd);

  size_t open() const;

  // The reason sent to a refused client, without "ERROR ".
  static absl::string_view Reason(Verdict verdict);

 private:
  const size_t max_connections_;
  const size_t max_per_ip_;
  mutable Mutex mu_;
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
  // Both only kept when max_per_ip_ > 0.
  absl::flat_hash_map<uint64_t, size_t> per_address_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int, uint64_t> address_of_fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chatd

#endif  // CHATD_SERVER_CONNECTION_LIMITS_H_
