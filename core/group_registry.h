// GroupRegistry is the one piece of chat state shared by all workers: who is
// online (one namespace of names for the whole server, whatever group or
// transport), which groups exist with their members, topics and modes, and
// which workers and wire classes have members of each group. Every worker
// holds a pointer to the single registry owned by the server.
//
// Names and group names compare ASCII-case-insensitively (IRC's
// CASEMAPPING=ascii, which the IRC front end advertises): "Tim" takes "tim",
// and "Cooking" is the group "cooking", shown as it was first written.
//
// Membership changes and queries take the registry mutex; they are rare next
// to messages. Messages never lock: a broadcaster reads the group's epoch,
// then its worker and class masks, with atomic loads.
#ifndef CHATD_CORE_GROUP_REGISTRY_H_
#define CHATD_CORE_GROUP_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/backplane.h"
#include "core/cluster_wire.h"
#include "core/wire_class.h"
#include "third_party/mutex.h"

namespace chatd {

// Workers are named by bits of a 64-bit mask.
inline constexpr int kMaxWorkers = 64;

// A group as every worker sees it. Its id and name never change; the masks
// change under the registry mutex and are read without it. A Group lives
// from its first join to its last leave, so a member may hold a pointer to
// it.
class Group {
 public:
  Group(uint64_t id, std::string name) : id_(id), name_(std::move(name)) {}

  // Unique for the registry's lifetime, never reused: a broadcast still in
  // flight for a forgotten group cannot reach a new group of the same name.
  uint64_t id() const { return id_; }
  const std::string& name() const { return name_; }

  // Bit w is set while worker w has members. Relaxed: the mask only routes
  // posts and publishes no data; the mailbox orders what is posted, and
  // epoch() orders the mask against joins.
  uint64_t worker_mask() const {
    return worker_mask_.load(std::memory_order_relaxed);
  }
  // The wire classes of the members, as worker_mask() is for workers.
  ClassMask class_mask() const {
    return class_mask_.load(std::memory_order_relaxed);
  }

  // Counts the group's joins and leaves. A broadcast is stamped with the
  // epoch it was sent at and reaches only members who joined at or before
  // it, so nobody hears of events from before they joined, wherever the
  // broadcast was still in flight. Acquire: pairs with the release in
  // Join(), so a broadcaster that sees a join's epoch also sees the worker
  // and class bits that join set, and posts to that worker the form that
  // class reads.
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

  // Members on other hosts of a cluster. Relaxed, as the masks: read after
  // epoch(), it says whether a message must also cross the backplane.
  uint32_t remote_members() const {
    return remote_members_.load(std::memory_order_relaxed);
  }

 private:
  friend class GroupRegistry;

  const uint64_t id_;
  const std::string name_;
  std::atomic<uint64_t> worker_mask_{0};
  std::atomic<ClassMask> class_mask_{0};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint32_t> remote_members_{0};
};

// A group's id and an epoch: one group of an event that reaches several.
struct GroupEpoch {
  uint64_t group_id;
  uint64_t epoch;
};

// A member's standing in one group.
enum MemberFlag : uint8_t {
  kFlagOp = 1,     // "@": the creator, or given +o.
  kFlagVoice = 2,  // "+"
};

// Channel modes that can be set (n is always on).
enum GroupMode : uint8_t {
  kModeTopicLocked = 1,  // +t: only ops set the topic.
};

class GroupRegistry {
 public:
  // Called with the registry mutex held, so that announcements are ordered
  // with the changes they announce: `other_workers` is the mask of workers,
  // other than the caller's, that have members after the change, and
  // `epoch` the group's epoch after it.
  using Announce = absl::FunctionRef<void(
      const Group& group, uint64_t other_workers, uint64_t epoch)>;
  // The same for a change to several groups at once (a member quitting or
  // renaming): each group with its epoch, and the workers other than the
  // caller's with members in any of them.
  using AnnounceMany = absl::FunctionRef<void(
      absl::Span<const GroupEpoch> groups, uint64_t other_workers)>;

  // Who holds a name.
  struct Person {
    uint64_t member_id = 0;
    int worker = 0;
    WireClass wire_class = WireClass::kLine;
    // IRC members only; a line member's user is its name.
    std::string user;
    std::string realname;
  };

  // A member of a group, as NAMES, WHO and WHOIS show it.
  struct MemberInfo {
    std::string name;  // As written.
    std::string user;
    std::string realname;
    std::string away;   // Empty unless away.
    uint8_t flags = 0;  // MemberFlag bits.
    bool irc = false;
  };

  // What a private message needs to know about its recipient.
  struct Recipient {
    std::string name;
    uint64_t member_id;
    int worker;  // -1 on another host.
    WireClass wire_class;
    std::string away;
    uint16_t host = 0;  // The PeerHosts index of its host; 0 is this one.
  };

  struct Joined {
    Group* group;
    size_t online;   // Members after the join, the joiner included.
    uint64_t epoch;  // The group's epoch at the join.
    bool op;         // The joiner created the group.
  };

  struct Topic {
    std::string text;  // Empty: none set.
    std::string set_by;
    absl::Time set_at;
  };

  struct GroupInfo {
    std::string name;
    size_t members;
    std::string topic;
    absl::Time created;
    uint8_t modes;  // GroupMode bits.
  };

  GroupRegistry() = default;
  GroupRegistry(const GroupRegistry&) = delete;
  GroupRegistry& operator=(const GroupRegistry&) = delete;

  // In a cluster: where local presence changes go, told under the mutex.
  // Set once, before any worker runs.
  void set_backplane(Backplane* backplane) { backplane_ = backplane; }

  // Takes `name` for a member. AlreadyExists (kErrorNameTaken) when taken
  // anywhere on the server, in any case.
  absl::Status ClaimName(absl::string_view name, Person person);
  // Frees a name claimed by ClaimName; its member must have left every
  // group.
  void ReleaseName(absl::string_view name);
  // Moves a member's name to `to` (which may differ only in case) in every
  // group it is in, all under one lock, and announces it to those groups'
  // members at their current epochs. AlreadyExists when `to` is taken.
  absl::Status Rename(absl::string_view from, absl::string_view to, int worker,
                      AnnounceMany announce);
  // A member's wire class changed (IRC caps); the class masks follow.
  void SetWireClass(absl::string_view name, WireClass wire_class);
  // The away text, empty when back.
  void SetAway(absl::string_view name, absl::string_view away);

  // The holder of `name`, if online.
  std::optional<Recipient> FindRecipient(absl::string_view name) const;
  // A member's details and groups (shown with their prefixes, "@#a"), for
  // WHOIS; nullopt if not online.
  std::optional<std::pair<MemberInfo, std::vector<std::string>>> FindMember(
      absl::string_view name) const;

  // Adds the holder of `name` to `group` (creating it, with the member as
  // its op) on `worker`. AlreadyExists when it already is a member.
  absl::StatusOr<Joined> Join(absl::string_view group, absl::string_view name,
                              int worker, Announce announce);
  // Removes a member added by Join. The group is forgotten, and `group`
  // dangles, once its last member has left.
  void Leave(Group* group, absl::string_view name, int worker,
             Announce announce);
  // Removes `name` from all of `groups` at once (each was joined on
  // `worker`), announcing it once for all of them.
  void LeaveMany(absl::Span<Group* const> groups, absl::string_view name,
                 int worker, AnnounceMany announce);
  // The groups `name` has in common with anyone, at their current epochs:
  // for an announcement that changes no membership (AWAY).
  void AnnounceToGroups(absl::string_view name, int worker,
                        AnnounceMany announce);

  // The group's members, in byte order of their names; none if there is
  // no such group.
  std::vector<MemberInfo> Members(const Group& group) const {
    return Members(group.name());
  }
  std::vector<MemberInfo> Members(absl::string_view group) const;
  // MemberFlag bits of `name` in `group`; nullopt if not a member.
  std::optional<uint8_t> Flags(const Group& group,
                               absl::string_view name) const;
  // Sets or clears `flag` on `target` in `group` for `by`: NotFound when
  // the target is no member, PermissionDenied when `by` is no op.
  absl::Status SetFlag(const Group& group, absl::string_view by,
                       absl::string_view target, MemberFlag flag, bool on);
  // Sets or clears a GroupMode for `by`, who must be an op.
  absl::Status SetMode(const Group& group, absl::string_view by, GroupMode mode,
                       bool on);

  Topic GetTopic(const Group& group) const;
  // PermissionDenied when the topic is locked and `by` is no op.
  absl::Status SetTopic(const Group& group, absl::string_view by,
                        absl::string_view text, absl::Time now);

  // A group by name, as LIST and MODE show it.
  std::optional<GroupInfo> FindGroup(absl::string_view name) const;
  std::vector<GroupInfo> ListGroups() const;

  // Any thread, without the mutex (a scrape must not wait on joins):
  // relaxed, statistics that publish nothing else.
  size_t group_count() const {
    return group_count_.load(std::memory_order_relaxed);
  }
  size_t person_count() const {
    return person_count_.load(std::memory_order_relaxed);
  }
  size_t max_person_count() const {
    return max_person_count_.load(std::memory_order_relaxed);
  }

  // The key a name or group name is compared by.
  static std::string Fold(absl::string_view text);

  // --- Members on other hosts (docs/CLUSTER.md), applied by PeerHosts.
  // A remote member holds its name here like a local one, counts in its
  // groups (NAMES, /who, "(n online)") and refuses its name to local
  // claims, but has no worker: nothing is delivered to it from here. `host`
  // is a PeerHosts index, never 0.

  // A local member that lost its name to an older claim from another host.
  struct Evicted {
    std::string name;
    uint64_t member_id;
    int worker;
    bool irc;
  };
  // How remote changes are told, under the mutex, as Announce is.
  class RemoteAnnouncer {
   public:
    // The remote `person` joined `group`.
    virtual void Joined(const MemberInfo& person, const Group& group,
                        uint64_t workers, uint64_t epoch) = 0;
    // The remote `person` left `groups` (its host is gone, or it lost its
    // name to an older claim).
    virtual void Left(const MemberInfo& person,
                      absl::Span<const GroupEpoch> groups,
                      uint64_t workers) = 0;
    // A local member must end: its name went to an older remote claim.
    virtual void Evict(const Evicted& evicted) = 0;

   protected:
    ~RemoteAnnouncer() = default;
  };
  // Where a remote member's message goes here.
  struct Route {
    uint64_t group_id;
    uint64_t epoch;
    uint64_t workers;
    ClassMask classes;
  };

  // The tie-break between two claims made in the same microsecond: the
  // hosts' incarnation ids; host 0 is this one.
  void SetHostRank(uint16_t host, uint64_t rank);
  // Called, under the mutex, when a local member that lost its name to
  // `host` has released it: that host must be asked for its snapshot,
  // which holds the winner. Set once, before any worker runs.
  void set_on_name_freed(std::function<void(uint16_t host)> fn) {
    on_name_freed_ = std::move(fn);
  }
  // `host` claims `person.name`. The older claim (claimed_us, then rank)
  // keeps it: an older local holder stays and the claim is ignored; a
  // newer one is evicted and the name goes to `host` once it is freed; a
  // newer remote holder is replaced.
  void ClaimRemote(uint16_t host, const ClusterPerson& person,
                   RemoteAnnouncer& announcer);
  void ReleaseRemote(uint16_t host, absl::string_view name,
                     RemoteAnnouncer& announcer);
  // False when `host` does not hold `name` (a claim it lost, or missed).
  bool JoinRemote(uint16_t host, absl::string_view group,
                  absl::string_view name, uint8_t flags, Announce announce);
  void LeaveRemote(uint16_t host, absl::Span<const absl::string_view> groups,
                   absl::string_view name, AnnounceMany announce);
  // False when `to` is taken here: the rename is ignored, and the member
  // keeps its old name here until `host` says otherwise.
  bool RenameRemote(uint16_t host, absl::string_view from, absl::string_view to,
                    AnnounceMany announce);
  // Makes `people` everything known of `host`, announcing the difference.
  // Empty: the host is gone.
  void ReplaceHost(uint16_t host, const std::vector<ClusterPerson>& people,
                   RemoteAnnouncer& announcer);
  // Where a message from `name` of `host` to `group` goes; nullopt when
  // that is not a member of the group as known here.
  std::optional<Route> RouteFromRemote(uint16_t host, absl::string_view group,
                                       absl::string_view name) const;
  // Everyone on this host, with their groups, for the other hosts:
  // `sink` runs under the mutex, so the snapshot is ordered with the
  // changes the backplane is told of.
  void LocalSnapshot(
      absl::FunctionRef<void(const std::vector<ClusterPerson>&)> sink) const;

 private:
  // What only an IRC member has; a line member has none, which keeps the
  // registry's share of an idle line connection small.
  struct IrcDetails {
    std::string user;
    std::string realname;
    std::string away;
  };
  struct Holder {
    std::string name;  // As written.
    uint64_t member_id = 0;
    int worker = 0;
    WireClass wire_class = WireClass::kLine;
    // 0 for a member of this host, else its host's PeerHosts index.
    uint16_t host = 0;
    // When the name was taken, at its host: the older claim keeps a name
    // two hosts gave out at once.
    int64_t claimed_us = 0;
    std::unique_ptr<IrcDetails> irc;
    // The groups it is in: one for a line member.
    absl::InlinedVector<Group*, 1> groups;
  };
  struct Entry {
    std::unique_ptr<Group> group;
    // Each member's MemberFlag bits, by its Holder in people_ (whose
    // nodes never move): a name is stored once, whatever its groups.
    absl::flat_hash_map<const Holder*, uint8_t> members;
    std::array<uint32_t, kMaxWorkers> members_on_worker{};
    std::array<uint32_t, kWireClasses> members_of_class{};
    Topic topic;
    absl::Time created;
    uint8_t modes = 0;
  };

  // The holder of `name`, or null.
  const Holder* FindHolder(absl::string_view name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Entry* FindEntry(const Group& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Entry* FindEntry(const Group& group) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes one member from `entry` (counts and masks); erases the entry
  // when it was the last. Returns the group's epoch after the change.
  uint64_t RemoveFrom(Group* group, const Holder& holder, int worker,
                      bool* emptied) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountClass(Entry& entry, WireClass wire_class, int delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsOp(const Entry& entry, absl::string_view name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  MemberInfo InfoOf(const Holder& holder, uint8_t flags) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives the holder at `it` the name `to` (folded: `folded_to`); null,
  // and no change, when someone else holds `folded_to`.
  Holder* Rekey(absl::node_hash_map<std::string, Holder>::iterator it,
                std::string folded_to, absl::string_view to)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends the holder's groups at their current epochs; returns the
  // workers with members in any of them.
  uint64_t CurrentEpochs(const Holder& holder,
                         std::vector<GroupEpoch>* epochs) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The remote holder of `folded` from `host`, or null.
  Holder* FindRemote(uint16_t host, absl::string_view folded)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes a remote holder from every group and forgets it.
  void DropRemote(absl::node_hash_map<std::string, Holder>::iterator it,
                  RemoteAnnouncer& announcer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `holder` from `group`, forgetting an emptied group; returns
  // the epoch after.
  uint64_t Unjoin(Group* group, Holder& holder, int worker)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a claim made at (a_us, rank of a_host) is older than one at
  // (b_us, rank of b_host).
  bool Older(int64_t a_us, uint16_t a_host, int64_t b_us, uint16_t b_host) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns the group's next epoch, published to broadcasters.
  uint64_t BumpEpoch(Group& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountPeople() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  // By folded name.
  absl::flat_hash_map<std::string, Entry> groups_ ABSL_GUARDED_BY(mu_);
  // Everyone online, by folded name, whatever their groups. Node-based: a
  // Holder is large next to a slot, and a flat map's empty slots would
  // cost every idle connection that much again.
  absl::node_hash_map<std::string, Holder> people_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  Backplane* backplane_ = nullptr;
  std::function<void(uint16_t)> on_name_freed_;
  // Incarnation ids by host index.
  std::vector<uint64_t> host_rank_ ABSL_GUARDED_BY(mu_);
  // Folded names whose local holder lost them to a host, by that host.
  absl::flat_hash_map<std::string, uint16_t> lost_names_ ABSL_GUARDED_BY(mu_);
  // Sizes of the maps, stored under mu_ whenever they change.
  std::atomic<size_t> group_count_{0};
  std::atomic<size_t> person_count_{0};
  std::atomic<size_t> max_person_count_{0};
};

}  // namespace chatd

#endif  // CHATD_CORE_GROUP_REGISTRY_H_
