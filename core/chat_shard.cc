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
  absl::StatusOr<GroupRegistry::Joined> joined =
      registry_->Join(group, name, worker_,
                      [&](const Group& g, uint64_t others, uint64_t epoch) {
                        Announce(g.id(), others, epoch, announcement);
                      });
  if (!joined.ok()) return joined;
  std::vector<Session*>& members = local_[joined->group->id()];
  session->joined_epoch_ = joined->epoch;
  session->shard_slot_ = static_cast<uint32_t>(members.size());
  members.push_back(session);
  SingleWriterAdd(stats_.members, int64_t{1});
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
  members[slot]->shard_slot_ = static_cast<uint32_t>(slot);
  members.pop_back();
  SingleWriterAdd(stats_.members, int64_t{-1});

  if (members.empty()) local_.erase(it);

  PayloadRef announcement;
  if (!quiet_) announcement = FormatLeft(name);
  // `group` may be freed by this call.
  registry_->Leave(group, name, worker_,
                   [&](const Group& g, uint64_t others, uint64_t epoch) {
                     if (announcement)
                       Announce(id, others, epoch, announcement);
                   });
}

void ChatShard::Broadcast(const Group& group, const Session* from,
                          const PayloadRef& line) {
  // The epoch first: its acquire makes the mask include every worker whose
  // members joined by then.
  SingleWriterAdd(stats_.messages, uint64_t{1});
  GroupLine post{group.id(), group.epoch(), worker_, nullptr, line};
  PostToWorkers(group.worker_mask() & ~self_bit(), post);
  auto it = local_.find(group.id());
  if (it == local_.end()) return;
  if (own_posts_in_flight_.contains(group.id())) {
    // Queue behind our own announcement instead of overtaking it.
    post.except = from;
    PostToWorkers(self_bit(), post);
  } else {
    DeliverTo(it->second, from, post.epoch, line);
  }
}

void ChatShard::Deliver(const GroupLine& line) {
  if (line.origin == worker_) {
    auto in_flight = own_posts_in_flight_.find(line.group_id);
    CHECK(in_flight != own_posts_in_flight_.end());
    if (--in_flight->second == 0) own_posts_in_flight_.erase(in_flight);
  }
  // The group may have lost its last local member since the post was made.
  auto it = local_.find(line.group_id);
  if (it != local_.end()) {
    DeliverTo(it->second, line.except, line.epoch, line.line);
  }
}

size_t ChatShard::local_member_count(uint64_t group_id) const {
  auto it = local_.find(group_id);
  return it == local_.end() ? 0 : it->second.size();
}

void ChatShard::PostToWorkers(uint64_t workers, const GroupLine& line) {
  while (workers != 0) {
    const int w = absl::countr_zero(workers);
    workers &= workers - 1;
    if (w == worker_) ++own_posts_in_flight_[line.group_id];
    transport_->Post(w, line);
  }
}

void ChatShard::Announce(uint64_t group_id, uint64_t other_workers,
                         uint64_t epoch, const PayloadRef& line) {
  // Stamped one epoch back: an announcement is for the members there were
  // before the change, never for the joiner itself.
  const GroupLine post{group_id, epoch - 1, worker_, nullptr, line};
  const bool local_members = local_.contains(group_id);
  PostToWorkers(other_workers | (local_members ? self_bit() : 0), post);
}

void ChatShard::DeliverTo(const std::vector<Session*>& members,
                          const Session* except, uint64_t epoch,
                          const PayloadRef& line) {
  uint64_t delivered = 0;
  for (Session* member : members) {
    if (member != except && member->joined_epoch_ <= epoch) {
      member->Deliver(line);
      ++delivered;
    }
  }
  SingleWriterAdd(stats_.deliveries, delivered);
}

}  // namespace chatd
