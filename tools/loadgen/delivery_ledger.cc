#include "tools/loadgen/delivery_ledger.h"

#include <algorithm>

namespace chatd::loadgen {

DeliveryLedger::DeliveryLedger(size_t slots) : pairs_(slots) {}

DeliveryLedger::Outcome DeliveryLedger::Record(size_t slot, uint32_t seq) {
  Pair& pair = pairs_[slot];
  if (seq == pair.next) {
    ++pair.next;
    ++pair.distinct;
    return Outcome::kInOrder;
  }
  if (seq > pair.next) {
    if (pair.gaps == nullptr) pair.gaps = std::make_unique<GapSet>();
    (*pair.gaps)[pair.next] = seq;
    pair.next = seq + 1;
    ++pair.distinct;
    return Outcome::kAhead;
  }
  if (pair.gaps != nullptr && TakeFromGaps(*pair.gaps, seq)) {
    ++pair.distinct;
    ++reordered_;
    if (pair.gaps->empty()) pair.gaps.reset();
    return Outcome::kLate;
  }
  ++duplicates_;
  return Outcome::kDuplicate;
}

bool DeliveryLedger::TakeFromGaps(GapSet& gaps, uint32_t seq) {
  // The interval starting at or before seq.
  auto it = gaps.upper_bound(seq);
  if (it == gaps.begin()) return false;
  --it;
  const uint32_t first = it->first;
  const uint32_t end = it->second;
  if (seq >= end) return false;
  gaps.erase(it);
  if (first < seq) gaps[first] = seq;
  if (seq + 1 < end) gaps[seq + 1] = end;
  return true;
}

uint32_t DeliveryLedger::DistinctBelow(size_t slot, uint32_t limit) const {
  const Pair& pair = pairs_[slot];
  if (pair.next <= limit) return pair.distinct;
  // Seen in [limit, next) = its length minus the gaps inside it.
  uint64_t missing_above = 0;
  if (pair.gaps != nullptr) {
    for (const auto& [first, end] : *pair.gaps) {
      if (end <= limit) continue;
      missing_above += end - std::max(first, limit);
    }
  }
  const uint64_t seen_above = (pair.next - limit) - missing_above;
  return pair.distinct - static_cast<uint32_t>(seen_above);
}

}  // namespace chatd::loadgen
