// DeliveryLedger is one receiving connection's account of what it got from
// each sender in its group: per (sender, receiver) pair it tracks the next
// expected sequence number and the gaps skipped so far, so it can tell a
// first delivery from a late one (reordered) or a repeated one (duplicate).
// Losses are only known at the end, when the senders' final counts are:
// lost = sent - distinct delivered, per pair.
//
// Owned by one connection and touched only on its reactor thread (and by the
// controller after the threads have stopped). Memory: 16 bytes per sender
// slot plus a small interval set only for pairs that ever saw a gap.
#ifndef CHATD_TOOLS_LOADGEN_DELIVERY_LEDGER_H_
#define CHATD_TOOLS_LOADGEN_DELIVERY_LEDGER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace chatd::loadgen {

class DeliveryLedger {
 public:
  enum class Outcome {
    kInOrder,    // The next expected sequence number.
    kAhead,      // New, but skipped over some not yet seen (a gap opened).
    kLate,       // New, filling an earlier gap: the stream was reordered.
    kDuplicate,  // Seen before.
  };

  // `slots` is how many senders this receiver hears from; the caller maps
  // sender ids to dense slots 0..slots-1.
  explicit DeliveryLedger(size_t slots);
  DeliveryLedger(const DeliveryLedger&) = delete;
  DeliveryLedger& operator=(const DeliveryLedger&) = delete;

  // Sequence numbers start at 0 for each sender.
  Outcome Record(size_t slot, uint32_t seq);

  size_t slots() const { return pairs_.size(); }
  // Distinct sequence numbers seen from `slot`.
  uint32_t distinct(size_t slot) const { return pairs_[slot].distinct; }
  // Distinct sequence numbers below `limit` seen from `slot`: what counts
  // against a sender that sent `limit` messages (anything at or above it was
  // never sent and is counted as corrupt instead).
  uint32_t DistinctBelow(size_t slot, uint32_t limit) const;
  uint64_t duplicates() const { return duplicates_; }
  uint64_t reordered() const { return reordered_; }

 private:
  // Skipped sequence numbers as half-open intervals [first, second).
  using GapSet = std::map<uint32_t, uint32_t>;

  struct Pair {
    uint32_t next = 0;             // One past the highest seen.
    uint32_t distinct = 0;         // Distinct sequence numbers seen.
    std::unique_ptr<GapSet> gaps;  // Null until the first gap.
  };

  // Removes `seq` from `gaps` if present; returns whether it was.
  static bool TakeFromGaps(GapSet& gaps, uint32_t seq);

  std::vector<Pair> pairs_;
  uint64_t duplicates_ = 0;
  uint64_t reordered_ = 0;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_DELIVERY_LEDGER_H_
