#include "server/connection_limits.h"

#include <glog/logging.h>

#include "core/protocol.h"

namespace chatd {

ConnectionLimits::Verdict ConnectionLimits::Admit(int fd,
                                                  uint64_t address_key) {
  MutexLock lock(&mu_);
  if (open_ >= max_connections_) return Verdict::kServerFull;
  if (max_per_ip_ > 0) {
    size_t& count = per_address_[address_key];
    if (count >= max_per_ip_) return Verdict::kTooManyFromAddress;
    ++count;
    address_of_fd_[fd] = address_key;
  }
  ++open_;
  return Verdict::kAdmit;
}

void ConnectionLimits::Release(int fd) {
  MutexLock lock(&mu_);
  DCHECK_GT(open_, 0u) << "release of fd " << fd << ", never admitted";
  --open_;
  if (max_per_ip_ == 0) return;
  auto address = address_of_fd_.find(fd);
  if (address == address_of_fd_.end()) return;
  auto it = per_address_.find(address->second);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  address_of_fd_.erase(address);
}

size_t ConnectionLimits::open() const {
  MutexLock lock(&mu_);
  return open_;
}

absl::string_view ConnectionLimits::Reason(Verdict verdict) {
  switch (verdict) {
    case Verdict::kServerFull:
      return kErrorServerFull;
    case Verdict::kTooManyFromAddress:
      return kErrorTooManyFromAddress;
    case Verdict::kAdmit:
      break;
  }
  return "";
}

}  // namespace chatd
