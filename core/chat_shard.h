// ChatShard is one worker's share of the chat: the members of each group that
// live on this worker, and the routing of broadcasts. It is owned by its
// worker and touched only on that worker's thread; the registry it shares
// with the other shards does its own locking.
//
// A broadcast is one Payload. The shard queues it on each local member other
// than the sender and hands it once to the Transport for each other worker
// that has members of the group: never once per remote recipient.
#ifndef CHATD_CORE_CHAT_SHARD_H_
#define CHATD_CORE_CHAT_SHARD_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/group_registry.h"
#include "net/payload.h"

namespace chatd {

class Session;

class ChatShard {
 public:
  // Carries a broadcast to another worker's shard, which must then call
  // DeliverFromPeer on its own thread. Called from this shard's thread,
  // sometimes with the registry mutex held, so it must not block.
  class Transport {
   public:
    virtual void Post(int worker, uint64_t group_id, uint64_t epoch,
                      PayloadRef line) = 0;

   protected:
    ~Transport() = default;
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

  // Delivers a broadcast posted by another worker at group epoch `epoch` to
  // the local members who had joined by then.
  void DeliverFromPeer(uint64_t group_id, uint64_t epoch,
                       const PayloadRef& line);

  // From now on leaves are not announced: the server is shutting down and
  // everyone has been told so.
  void Quiet() { quiet_ = true; }

  size_t local_member_count(uint64_t group_id) const;

 private:
  void PostToWorkers(uint64_t workers, uint64_t group_id, uint64_t epoch,
                     const PayloadRef& line);
  // To each of `members` but `except` that joined at or before `epoch`.
  static void DeliverTo(const std::vector<Session*>& members,
                        const Session* except, uint64_t epoch,
                        const PayloadRef& line);

  const int worker_;
  GroupRegistry* const registry_;
  Transport* const transport_;
  bool quiet_ = false;
  // Group id -> this worker's members of it. A session's index in its vector
  // is Session::shard_slot_, for O(1) removal.
  absl::flat_hash_map<uint64_t, std::vector<Session*>> local_;
};

}  // namespace chatd

#endif  // CHATD_CORE_CHAT_SHARD_H_
