// WorkloadShape is the static layout of a run: connection i joins group
// i mod G under the name "c<i>", connections 0..senders-1 talk, and a
// receiver tracks the senders of its group in dense slots (sender / G).
// Everything here is arithmetic on ids, so every thread and the final
// accounting agree on it without sharing tables. Immutable; any thread.
#ifndef CHATD_TOOLS_LOADGEN_WORKLOAD_SHAPE_H_
#define CHATD_TOOLS_LOADGEN_WORKLOAD_SHAPE_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace chatd::loadgen {

struct WorkloadShape {
  uint32_t connections = 0;
  uint32_t groups = 1;
  uint32_t senders = 0;  // <= connections

  uint32_t GroupOf(uint32_t id) const { return id % groups; }
  bool IsSender(uint32_t id) const { return id < senders; }

  // Ids below `limit` in group g: g, g+G, g+2G, ...
  uint32_t CountInGroup(uint32_t g, uint32_t limit) const {
    return limit > g ? (limit - g + groups - 1) / groups : 0;
  }
  uint32_t MembersOf(uint32_t g) const { return CountInGroup(g, connections); }
  uint32_t SendersOf(uint32_t g) const { return CountInGroup(g, senders); }

  // The slot of `sender` in the ledger of a receiver in its group.
  uint32_t SlotOf(uint32_t sender) const { return sender / groups; }
  uint32_t SenderAt(uint32_t g, uint32_t slot) const {
    return slot * groups + g;
  }
  // Whether `receiver` should hear `sender` at all.
  bool Hears(uint32_t receiver, uint32_t sender) const {
    return sender < senders && sender != receiver &&
           GroupOf(sender) == GroupOf(receiver);
  }

  static std::string GroupName(uint32_t g) { return absl::StrCat("g", g); }
  static std::string MemberName(uint32_t id) { return absl::StrCat("c", id); }
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_WORKLOAD_SHAPE_H_
