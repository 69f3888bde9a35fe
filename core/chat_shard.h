// ChatShard is one worker's share of the chat: the memberships of the
// members that live on this worker, the routing of broadcasts, and the
// rendering of events at their origin. It is owned by its worker and touched
// only on that worker's thread; the registry it shares with the other shards
// does its own locking.
//
// A broadcast is one Rendition: the event formatted once per wire class that
// has members in the group. The shard queues its class's payload on each
// local member other than the sender and hands the rendition once to the
// Transport for each other worker that has members of the group: never once
// per remote recipient. An event for several groups at once (QUIT, NICK,
// AWAY) is posted once per worker, and each member in more than one of the
// groups gets it once.
//
// Order: joins and leaves are posted under the registry mutex, so they enter
// every mailbox in epoch order. They go through the mailbox even to the
// posting worker's own members; otherwise a join announced here at once
// could overtake an earlier leave from another worker still queued here.
// While such a post to itself is in flight for a group, the shard's messages
// to that group follow the same path, so they cannot overtake it either.
// Private messages between two members keep their sender's order: they go
// straight to a member on this worker, and through the one mailbox of the
// recipient's worker otherwise.
#ifndef CHATD_CORE_CHAT_SHARD_H_
#define CHATD_CORE_CHAT_SHARD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/backplane.h"
#include "core/chat_event.h"
#include "core/group_registry.h"
#include "core/member.h"
#include "core/wire_class.h"
#include "net/single_writer_counter.h"

namespace chatd {

// What one worker's shard hands another (or itself) through the mailbox.
struct ShardPost {
  enum class Kind : uint8_t {
    kGroup,     // `rendition` for the members of `group_id`.
    kGroups,    // `rendition` once for the members of any of `groups`.
    kDirect,    // `rendition` for the member `member_id`.
    kKick,      // The member `member_id` is kicked from `group_id`:
                // `rendition` announces it, `notice` is for a member whose
                // session ends with it.
    kEvict,     // The member `member_id` ends with `notice`: another host
                // gave its name out first.
    kEveryone,  // `rendition` for every named member of the worker.
  };
  Kind kind = Kind::kGroup;
  int origin = -1;  // The posting worker; -1 from another host.
  uint64_t group_id = 0;
  // Reaches members who joined at or before this epoch of the group.
  uint64_t epoch = 0;
  uint64_t member_id = 0;
  // The sender, on posts to its own worker; compared, never dereferenced.
  const Member* except = nullptr;
  Rendition rendition;
  PayloadRef notice;
  std::shared_ptr<const std::vector<GroupEpoch>> groups;
};

class ChatShard {
 public:
  // Carries a ShardPost to a worker's shard (possibly this one), which must
  // then call Deliver on its own thread, in the order posted. Called from
  // this shard's thread, sometimes with the registry mutex held, so it must
  // not block.
  class Transport {
   public:
    virtual void Post(int worker, ShardPost post) = 0;

   protected:
    ~Transport() = default;
  };

  // The shard's counters, for /metrics. Written only on the shard's thread
  // (SingleWriterAdd), read by any.
  struct Stats {
    std::atomic<uint64_t> lines_received{0};  // From joined members.
    // Chat lines broadcast; topic and mode changes are not counted.
    std::atomic<uint64_t> messages{0};
    // Lines queued on members; a member whose client gets no form of a
    // line (TAGMSG to a plain client) is not counted.
    std::atomic<uint64_t> deliveries{0};
    std::atomic<uint64_t> private_messages{0};
    std::atomic<int64_t> members{0};  // Memberships here.
  };

  // `backplane` is null unless this host is part of a cluster.
  ChatShard(int worker, GroupRegistry* registry, Transport* transport,
            Backplane* backplane = nullptr);
  ChatShard(const ChatShard&) = delete;
  ChatShard& operator=(const ChatShard&) = delete;

  int worker() const { return worker_; }
  GroupRegistry& registry() { return *registry_; }

  // Gives `member` the server-wide `name`, with its IRC user and real name
  // (empty for a line member). AlreadyExists when taken.
  absl::Status Claim(Member* member, absl::string_view name,
                     absl::string_view user, absl::string_view realname);
  // Frees the name of a member that has left every group. Idempotent.
  void Release(Member* member);
  // Renames a named member and tells everyone sharing a group with it,
  // once each, with `event` (whose source is the old name).
  absl::Status Rename(Member* member, absl::string_view to,
                      const ChatEvent& event);
  // How lines reach `member` from now on (IRC caps changed).
  void SetDelivery(Member* member, WireClass wire_class, uint8_t caps);

  // Adds a named `member` to `group` and announces `event` to the others.
  // AlreadyExists when it is a member already.
  absl::StatusOr<GroupRegistry::Joined> Join(Member* member,
                                             absl::string_view group,
                                             const ChatEvent& event);
  // Removes one membership and, unless the shard is quiet, announces
  // `event`.
  void Leave(Membership* membership, const ChatEvent& event);
  // Leaves every group at once, announcing `event` once to each member who
  // shared one.
  void LeaveAll(Member* member, const ChatEvent& event);
  // Sends `event` to every member of the membership's group; to the sender
  // too when `to_sender` (IRC's echo-message, or a TOPIC everyone sees).
  void Broadcast(const Membership& from, const ChatEvent& event,
                 bool to_sender = false);
  // Sends `event` once to every member sharing a group with `member`, to
  // those with `required_caps`.
  void AnnounceToGroups(Member* member, const ChatEvent& event,
                        uint8_t required_caps);
  // Sends a private `event` (its target the recipient) from `from` to the
  // holder of `to`, and back to `from` with echo-message. NotFound when
  // nobody holds the name. Returns the recipient, for its away text.
  absl::StatusOr<GroupRegistry::Recipient> SendPrivate(Member* from,
                                                       absl::string_view to,
                                                       ChatEvent event);
  // Kicks `target` from the group of `by` (an op, checked by the caller)
  // with `event`; `notice` is for a target whose session ends with it.
  // NotFound when the target is not a member of the group.
  absl::Status Kick(const Membership& by, absl::string_view target,
                    const ChatEvent& event, PayloadRef notice);

  // Delivers a post to the local members it is for.
  void Deliver(const ShardPost& post);

  // From now on leaves are not announced: the server is shutting down and
  // everyone has been told so.
  void Quiet() { quiet_ = true; }

  size_t local_member_count(uint64_t group_id) const;

  Stats& stats() { return stats_; }
  const Stats& stats() const { return stats_; }

 private:
  // Renders `event` for `classes`, stamping time and msgid as needed.
  Rendition Render(const ChatEvent& event, ClassMask classes);
  // The stamp for `event`: time and msgid when `classes` show them, or
  // always when `everywhere` (it crosses to other hosts). `msgid` holds
  // the stamp's msgid.
  EventStamp Stamp(ClassMask classes, bool everywhere, std::string* msgid);
  // Tells the other hosts that `member` left `groups` with `event`.
  void TellLeft(const ChatEvent& event,
                const std::vector<absl::string_view>& groups);
  // Posts to each worker in the mask, this one included if set.
  void PostToWorkers(uint64_t workers, const ShardPost& post);
  // An announcement for `group_id` made at `epoch`: to the other workers
  // with members, and through the mailbox to our own members, if any.
  void Announce(uint64_t group_id, uint64_t other_workers, uint64_t epoch,
                const Rendition& rendition);
  void AnnounceMany(absl::Span<const GroupEpoch> groups, uint64_t other_workers,
                    const Member* except, const Rendition& rendition);
  // Takes the membership out of this shard's list for its group.
  void Unlist(Membership* membership);
  // To each of `members` but `except` that joined at or before `epoch`.
  void DeliverTo(const std::vector<Membership*>& members, const Member* except,
                 uint64_t epoch, const Rendition& rendition);
  void DeliverKick(const ShardPost& post);
  Member* LocalMember(uint64_t id) const;
  uint64_t self_bit() const { return uint64_t{1} << worker_; }

  const int worker_;
  GroupRegistry* const registry_;
  Transport* const transport_;
  Backplane* const backplane_;
  bool quiet_ = false;
  Stats stats_;
  // Member ids: the worker in the top byte, a count below.
  uint64_t next_member_ = 0;
  // msgids: this shard's prefix (start time and worker) and a count.
  const std::string msgid_prefix_;
  uint64_t next_msgid_ = 0;
  // Bumped for each post for several groups (see Member::delivery_mark_).
  uint64_t next_mark_ = 0;
  // Group id -> this worker's memberships of it. A membership's index in
  // its vector is Membership::slot, for O(1) removal.
  absl::flat_hash_map<uint64_t, std::vector<Membership*>> local_;
  // Group id -> our posts to ourselves not yet delivered.
  absl::flat_hash_map<uint64_t, uint32_t> own_posts_in_flight_;
  // Named members on this worker, for private messages and kicks.
  absl::flat_hash_map<uint64_t, Member*> members_;
};

// An event's source as IRC shows `member`.
EventSource SourceOf(const Member& member);

}  // namespace chatd

#endif  // CHATD_CORE_CHAT_SHARD_H_
