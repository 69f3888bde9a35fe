// ChatShard is one worker's share of the chat: the members of each group that
// live on this worker, and the routing of broadcasts. It is owned by its
// worker and touched only on that worker's thread; the registry it shares
// with the other shards does its own locking.
//
// A broadcast is one Payload. The shard queues it on each local member other
// than the sender and hands it once to the Transport for each other worker
// that has members of the group: never once per remote recipient.
//
// Order: joins and leaves are posted under the registry mutex, so they enter
// every mailbox in epoch order. They go through the mailbox even to the
// posting worker's own members; otherwise a join announced here at once
// could overtake an earlier leave from another worker still queued here.
// While such a post to itself is in flight for a group, the shard's messages
// to that group follow the same path, so they cannot overtake it either.
#ifndef CHATD_CORE_CHAT_SHARD_H_
#define CHATD_CORE_CHAT_SHARD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/group_registry.h"
#include "net/payload.h"
#include "net/single_writer_counter.h"

namespace chatd {

class Session;

// A line for a group's members on one worker.
struct GroupLine {
  uint64_t group_id = 0;
  // Reaches members who joined at or before this epoch of the group.
  uint64_t epoch = 0;
  int origin = -1;  // The posting worker.
  // The sender, on posts to its own worker; compared, never dereferenced.
  const Session* except = nullptr;
  PayloadRef line;
};

class ChatShard {
 public:
  // Carries a GroupLine to a worker's shard (possibly this one), which must
  // then call Deliver on its own thread, in the order posted. Called from
  // this shard's thread, sometimes with the registry mutex held, so it must
  // not block.
  class Transport {
   public:
    virtual void Post(int worker, GroupLine line) = 0;

   protected:
    ~Transport() = default;
  };

  // The shard's counters, for /metrics. Written only on the shard's thread
  // (SingleWriterAdd), read by any.
  struct Stats {
    std::atomic<uint64_t> lines_received{0};  // From joined members.
    std::atomic<uint64_t> messages{0};        // Chat lines broadcast.
    std::atomic<uint64_t> deliveries{0};      // Lines queued on members.
    std::atomic<int64_t> members{0};          // Joined sessions here.
  };

  ChatShard(int worker, GroupRegistry* registry, Transport* transport);
  ChatShard(const ChatShard&) = delete;
  ChatShard& operator=(const ChatShard&) = delete;

  int worker() const { return worker_; }
  GroupRegistry& registry() { return *registry_; }

  // Adds `session` to `group` as `name` and announces it to the others.
  absl::StatusOr<GroupRegistry::Joined> Join(absl::string_view group,
                                             absl::string_view name,
                                             Session* session);
  // Removes a joined session and, unless the shard is quiet, announces it.
  void Leave(Group* group, absl::string_view name, Session* session);

  // Sends `line` to every member of `group` except `from`.
  void Broadcast(const Group& group, const Session* from,
                 const PayloadRef& line);

  // Delivers a posted GroupLine to the local members it is for.
  void Deliver(const GroupLine& line);

  // From now on leaves are not announced: the server is shutting down and
  // everyone has been told so.
  void Quiet() { quiet_ = true; }

  size_t local_member_count(uint64_t group_id) const;

  Stats& stats() { return stats_; }
  const Stats& stats() const { return stats_; }

 private:
  // Posts to each worker in the mask, this one included if set.
  void PostToWorkers(uint64_t workers, const GroupLine& line);
  // An announcement for `group_id` made at `epoch`: to the other workers
  // with members, and through the mailbox to our own members, if any.
  void Announce(uint64_t group_id, uint64_t other_workers, uint64_t epoch,
                const PayloadRef& line);
  // To each of `members` but `except` that joined at or before `epoch`.
  void DeliverTo(const std::vector<Session*>& members, const Session* except,
                 uint64_t epoch, const PayloadRef& line);
  uint64_t self_bit() const { return uint64_t{1} << worker_; }

  const int worker_;
  GroupRegistry* const registry_;
  Transport* const transport_;
  bool quiet_ = false;
  Stats stats_;
  // Group id -> this worker's members of it. A session's index in its vector
  // is Session::shard_slot_, for O(1) removal.
  absl::flat_hash_map<uint64_t, std::vector<Session*>> local_;
  // Group id -> our posts to ourselves not yet delivered.
  absl::flat_hash_map<uint64_t, uint32_t> own_posts_in_flight_;
};

}  // namespace chatd

#endif  // CHATD_CORE_CHAT_SHARD_H_
