#include "server/connection_limits.h"

#include "core/protocol.h"

namespace chatd {

ConnectionLimits::Verdict ConnectionLimits::Admit(uint32_t ip) {
  MutexLock lock(&mu_);
  if (open_ >= max_connections_) return Verdict::kServerFull;
  if (max_per_ip_ > 0) {
    size_t& count = per_ip_[ip];
    if (count >= max_per_ip_) return Verdict::kTooManyFromAddress;
    ++count;
  }
  ++open_;
  return Verdict::kAdmit;
}

void ConnectionLimits::Release(uint32_t ip) {
  MutexLock lock(&mu_);
  --open_;
  if (max_per_ip_ == 0) return;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
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
