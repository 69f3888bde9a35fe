#include "core/chat_shard.h"

#include <glog/logging.h>

#include "absl/numeric/bits.h"
#include "core/protocol.h"
#include "core/session.h"

namespace chatd {

ChatShard::ChatShard(int worker, GroupRegistry* registry, Transport* transport)
    : worker_(worker), registry_(registry), transport_(transport) {
  CHECK(worker >= 0 && worker < kMaxWorkers) << worker;
}

absl::StatusOr<GroupRegistry::Joined> ChatShard::Join(absl::string_view group,
                                                      absl::string_view name,
                                                      Session* session) {
  const PayloadRef announcement = FormatJoined(name);
  absl::StatusOr<GroupRegistry::Joined> joined = registry_->Join(
      group, name, worker_,
      [&](const Group& g, uint64_t others, uint64_t epoch) {
        PostToWorkers(others, g.id(), epoch, announcement);
      });
  if (!joined.ok()) return joined;
  std::vector<Session*>& members = local_[joined->group->id()];
  DeliverTo(members, nullptr, joined->epoch, announcement);
  session->joined_epoch_ = joined->epoch;
  session->shard_slot_ = members.size();
  members.push_back(session);
  return joined;
}

void ChatShard::Leave(Group* group, absl::string_view name, Session* session) {
  const uint64_t id = group->id();
  auto it = local_.find(id);
  CHECK(it != local_.end()) << "leave from a group with no local members";
  std::vector<Session*>& members = it->second;
  const size_t slot = session->shard_slot_;
  CHECK(slot < members.size() && members[slot] == session);
  members[slot] = members.back();
  members[slot]->shard_slot_ = slot;
  members.pop_back();

  PayloadRef announcement;
  if (!quiet_) announcement = FormatLeft(name);
  uint64_t left_at = 0;
  // `group` may be freed by this call.
  registry_->Leave(group, name, worker_,
                   [&](const Group& g, uint64_t others, uint64_t epoch) {
                     left_at = epoch;
                     if (announcement) {
                       PostToWorkers(others, id, epoch, announcement);
                     }
                   });
  if (announcement) DeliverTo(members, nullptr, left_at, announcement);
  if (members.empty()) local_.erase(it);
}

void ChatShard::Broadcast(const Group& group, const Session* from,
                          const PayloadRef& line) {
  // The epoch first: its acquire makes the mask include every worker whose
  // members joined by then.
  const uint64_t epoch = group.epoch();
  PostToWorkers(group.worker_mask() & ~(uint64_t{1} << worker_), group.id(),
                epoch, line);
  auto it = local_.find(group.id());
  if (it != local_.end()) DeliverTo(it->second, from, epoch, line);
}

void ChatShard::DeliverFromPeer(uint64_t group_id, uint64_t epoch,
                                const PayloadRef& line) {
  // The group may have lost its last local member since the post was made.
  auto it = local_.find(group_id);
  if (it != local_.end()) DeliverTo(it->second, nullptr, epoch, line);
}

size_t ChatShard::local_member_count(uint64_t group_id) const {
  auto it = local_.find(group_id);
  return it == local_.end() ? 0 : it->second.size();
}

void ChatShard::PostToWorkers(uint64_t workers, uint64_t group_id,
                              uint64_t epoch, const PayloadRef& line) {
  while (workers != 0) {
    const int w = absl::countr_zero(workers);
    workers &= workers - 1;
    transport_->Post(w, group_id, epoch, line);
  }
}

void ChatShard::DeliverTo(const std::vector<Session*>& members,
                          const Session* except, uint64_t epoch,
                          const PayloadRef& line) {
  for (Session* member : members) {
    if (member != except && member->joined_epoch_ <= epoch) {
      member->Deliver(line);
    }
  }
}

}  // namespace chatd
