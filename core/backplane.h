// Backplane is how this host's chat reaches the other hosts of a cluster
// (docs/CLUSTER.md): the shard and the registry hand it every local
// presence change and every group message that has members elsewhere, and
// it carries them to the other chatd processes. What comes back from them
// enters the fan-out as posts from another worker would (PeerHosts). A
// single-host server has none, and nothing here is called.
//
// Every method is called on a worker thread and must not block: it queues
// and returns. The presence methods are called with the registry mutex
// held, so they are queued in exactly the order the registry made the
// changes; a member's messages are queued after its join and before its
// leave because the same thread makes both.
#ifndef CHATD_CORE_BACKPLANE_H_
#define CHATD_CORE_BACKPLANE_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/chat_event.h"
#include "core/cluster_wire.h"

namespace chatd {

class Backplane {
 public:
  // A local member took a name (person.groups is empty).
  virtual void Claimed(const ClusterPerson& person) = 0;
  // A local member that is in no group gave its name up.
  virtual void Released(absl::string_view name) = 0;
  // A local member joined `event.group` with `flags` (MemberFlag bits).
  virtual void Joined(const ChatEvent& event, uint8_t flags,
                      int64_t claimed_us) = 0;
  // A local member left `groups` with `event` (a part, quit or kick).
  virtual void Left(const ChatEvent& event,
                    const std::vector<absl::string_view>& groups) = 0;
  // A local member changed its name (event.source the old name).
  virtual void Renamed(const ChatEvent& event) = 0;
  // A local member said `event` in `event.group`, which has members on
  // other hosts.
  virtual void Said(const ChatEvent& event, const EventStamp& stamp) = 0;
  // A local member said `event` privately to `event.target`, held by a
  // member of the remote host `host` (a PeerHosts index).
  virtual void SaidPrivately(uint16_t host, const ChatEvent& event,
                             const EventStamp& stamp) = 0;

 protected:
  ~Backplane() = default;
};

}  // namespace chatd

#endif  // CHATD_CORE_BACKPLANE_H_
