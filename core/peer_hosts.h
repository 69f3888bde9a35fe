// PeerHosts is this host's view of the other hosts of a cluster
// (docs/CLUSTER.md): which are alive, how far their sequence numbers have
// come, and what of theirs reaches the local members. It takes what the
// backplane receives from them, checks each stream's sequence numbers
// (dropping duplicates, counting gaps, never reordering), applies their
// presence to the GroupRegistry, and hands their messages to the fan-out
// as posts to the workers, rendered once per message for the wire classes
// the group has here. Socket-free: the backplane carries the bytes.
//
// Each host publishes its presence (claims, joins, leaves, snapshots,
// heartbeats) as one numbered stream, and its messages as one numbered
// stream per group. Presence is applied only in order: a host is "synced"
// from its snapshot on, and a gap in its stream makes it unsynced until a
// new snapshot arrives, which this side then asks for. A message reaches
// the members here only if its sender is, as far as this host knows, a
// member of the group on its host, which keeps "joined" before the first
// message and "left" after the last even across a lost link.
//
// Thread-safe: the receive thread, the heartbeat thread and link events
// call in; one mutex orders them, taken before the registry's.
#ifndef CHATD_CORE_PEER_HOSTS_H_
#define CHATD_CORE_PEER_HOSTS_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_shard.h"
#include "core/cluster_wire.h"
#include "core/group_registry.h"
#include "third_party/mutex.h"

namespace chatd {

class PeerHosts : private GroupRegistry::RemoteAnnouncer {
 public:
  // What PeerHosts needs sent back over the backplane.
  class Replies {
   public:
    // Publish a kSyncAsk for the host `origin`.
    virtual void AskSnapshot(absl::string_view origin) = 0;
    // Publish this host's snapshot.
    virtual void SendSnapshot() = 0;

   protected:
    ~Replies() = default;
  };

  struct Options {
    std::string origin;  // This host's origin id.
    int workers = 1;     // Worker count, for posts to every worker.
    absl::Duration host_timeout = absl::Seconds(3);
    // Asks for one host's snapshot at most this often.
    absl::Duration ask_interval = absl::Milliseconds(500);
    std::string irc_server_name = "chatd";  // The source of IRC notices.
  };

  // Counters for /metrics. Relaxed: statistics that publish nothing.
  struct Stats {
    std::atomic<uint64_t> received{0};    // Messages taken in.
    std::atomic<uint64_t> gaps{0};        // Sequence numbers missed.
    std::atomic<uint64_t> duplicates{0};  // Dropped as seen before.
    std::atomic<uint64_t> dropped{0};     // Undeliverable (bad, unknown).
    std::atomic<int64_t> hosts{0};        // Synced hosts.
  };

  PeerHosts(const Options& options, GroupRegistry* registry,
            ChatShard::Transport* transport, Replies* replies);
  PeerHosts(const PeerHosts&) = delete;
  PeerHosts& operator=(const PeerHosts&) = delete;

  // A message of `origin`'s presence stream, numbered `seq`.
  void OnPresence(absl::string_view origin, uint64_t seq,
                  absl::string_view body, absl::Time now);
  // What `origin` said in a group, one message or a batch of them (one
  // NATS message, numbered `seq` in that group's stream), or a message
  // said privately to a member here (`seq` 0: not numbered).
  void OnEvent(absl::string_view origin, uint64_t seq, absl::string_view body);

  // Drops hosts not heard from for the host timeout: their members are
  // announced as gone. A sweep that comes late (this process was stopped)
  // drops nobody: the silence was ours.
  void Sweep(absl::Time now);

  // This host's link to the others went down or came back: every member
  // here is told once. While down, nobody is dropped for silence.
  void LinkLost();
  void LinkRestored(absl::Time now);

  // This host no longer listens to `group`: its streams start afresh.
  void ForgetGroup(absl::string_view group);

  // The origin id of the host with PeerHosts index `host`; empty if none.
  std::string OriginOf(uint16_t host) const;

  const Stats& stats() const { return stats_; }

  // "<node>.<16 hex digits>": the origin id of an incarnation.
  static std::string MakeOrigin(absl::string_view node, uint64_t incarnation);

 private:
  struct Host {
    uint16_t index = 0;
    std::string node;
    absl::Time last_heard;
    absl::Time last_ask = absl::InfinitePast();
    bool synced = false;
    uint64_t next_seq = 0;  // Of the presence stream, once synced.
  };

  Host& HostFor(absl::string_view origin, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Ask(Host& host, absl::string_view origin, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Apply(Host& host, const ClusterMessage& message, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets everything of `host`, announcing its members gone.
  void Drop(Host& host) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unsync(Host& host, absl::string_view origin, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DeliverToGroup(uint16_t host, const ClusterEvent& event);
  void DeliverPrivately(uint16_t host, const ClusterMessage& message);
  // Posts `rendition` for `group_id` at `epoch` to each worker in `workers`.
  void PostToGroup(uint64_t workers, uint64_t group_id, uint64_t epoch,
                   Rendition rendition);
  void PostToGroups(uint64_t workers, absl::Span<const GroupEpoch> groups,
                    Rendition rendition);
  void TellEveryone(absl::string_view text);
  // GroupRegistry::RemoteAnnouncer, under the registry mutex.
  void Joined(const GroupRegistry::MemberInfo& person, const Group& group,
              uint64_t workers, uint64_t epoch) override;
  void Left(const GroupRegistry::MemberInfo& person,
            absl::Span<const GroupEpoch> groups, uint64_t workers) override;
  void Evict(const GroupRegistry::Evicted& evicted) override;

  const Options options_;
  GroupRegistry* const registry_;
  ChatShard::Transport* const transport_;
  Replies* const replies_;
  Stats stats_;

  mutable Mutex mu_;
  absl::flat_hash_map<std::string, Host> hosts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> origin_of_ ABSL_GUARDED_BY(mu_);  // By index.
  // The last sequence number seen per (host, folded group).
  absl::flat_hash_map<std::pair<uint16_t, std::string>, uint64_t> group_seq_
      ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool link_up_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace chatd

#endif  // CHATD_CORE_PEER_HOSTS_H_
