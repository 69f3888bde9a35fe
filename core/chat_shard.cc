#include "core/chat_shard.h"

#include <glog/logging.h>

#include "absl/numeric/bits.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace chatd {
namespace {

// The top byte of a member id is its worker.
constexpr int kMemberWorkerShift = 56;

bool CarriesTime(ClassMask classes) {
  return classes &
         (ClassBit(WireClass::kIrcTime) | ClassBit(WireClass::kIrcTags));
}

}  // namespace

EventSource SourceOf(const Member& member) {
  return EventSource{member.name(), member.user(), member.host()};
}

ChatShard::ChatShard(int worker, GroupRegistry* registry, Transport* transport,
                     Backplane* backplane)
    : worker_(worker),
      registry_(registry),
      transport_(transport),
      backplane_(backplane),
      msgid_prefix_(absl::StrCat(absl::Hex(absl::ToUnixMillis(absl::Now())),
                                 "-", worker, "-")) {
  CHECK(worker >= 0 && worker < kMaxWorkers) << worker;
}

EventStamp ChatShard::Stamp(ClassMask classes, bool everywhere,
                            std::string* msgid) {
  EventStamp stamp;
  if (everywhere || CarriesTime(classes)) {
    stamp.time = absl::Now();
    if (everywhere || (classes & ClassBit(WireClass::kIrcTags))) {
      *msgid = absl::StrCat(msgid_prefix_, ++next_msgid_);
      stamp.msgid = *msgid;
    }
  }
  return stamp;
}

Rendition ChatShard::Render(const ChatEvent& event, ClassMask classes) {
  std::string msgid;
  return RenderEvent(event, classes, Stamp(classes, false, &msgid));
}

void ChatShard::TellLeft(const ChatEvent& event,
                         const std::vector<absl::string_view>& groups) {
  if (backplane_ != nullptr) backplane_->Left(event, groups);
}

absl::Status ChatShard::Claim(Member* member, absl::string_view name,
                              absl::string_view user,
                              absl::string_view realname) {
  CHECK(!member->named()) << "claims twice";
  const uint64_t id =
      (uint64_t(worker_) << kMemberWorkerShift) | ++next_member_;
  absl::Status status = registry_->ClaimName(
      name, GroupRegistry::Person{id, worker_, member->wire_class_,
                                  std::string(user), std::string(realname)});
  if (!status.ok()) return status;
  member->id_ = id;
  member->name_ = std::string(name);
  if (!user.empty()) member->user_ = std::make_unique<std::string>(user);
  members_.emplace(id, member);
  return absl::OkStatus();
}

void ChatShard::Release(Member* member) {
  if (!member->named()) return;
  CHECK_EQ(member->group_count(), 0u) << member->name() << " still joined";
  registry_->ReleaseName(member->name());
  members_.erase(member->id_);
  member->id_ = 0;
}

absl::Status ChatShard::Rename(Member* member, absl::string_view to,
                               const ChatEvent& event) {
  const Rendition rendition = Render(event, kAllClasses);
  absl::Status status = registry_->Rename(
      member->name(), to, worker_,
      [&](absl::Span<const GroupEpoch> groups, uint64_t others) {
        if (backplane_ != nullptr) backplane_->Renamed(event);
        AnnounceMany(groups, others, member, rendition);
      });
  if (status.ok()) member->name_ = std::string(to);
  return status;
}

void ChatShard::SetDelivery(Member* member, WireClass wire_class,
                            uint8_t caps) {
  member->caps_ = caps;
  if (member->wire_class_ == wire_class) return;
  member->wire_class_ = wire_class;
  if (member->named()) registry_->SetWireClass(member->name(), wire_class);
}

absl::StatusOr<GroupRegistry::Joined> ChatShard::Join(Member* member,
                                                      absl::string_view group,
                                                      const ChatEvent& event) {
  CHECK(member->named()) << "joins without a name";
  absl::StatusOr<GroupRegistry::Joined> joined = registry_->Join(
      group, member->name(), worker_,
      [&](const Group& g, uint64_t others, uint64_t epoch) {
        // Rendered here, under the lock, because only now are the group's
        // shown name (as its first member wrote it) and its members'
        // classes known, exactly. Joins are rare next to messages.
        ChatEvent shown = event;
        shown.group = g.name();
        Announce(g.id(), others, epoch, Render(shown, g.class_mask()));
        if (backplane_ != nullptr) backplane_->Joined(shown, 0, 0);
      });
  if (!joined.ok()) return joined;
  Membership* membership = member->AddMembership(joined->group);
  std::vector<Membership*>& members = local_[joined->group->id()];
  membership->joined_epoch = joined->epoch;
  membership->slot = static_cast<uint32_t>(members.size());
  members.push_back(membership);
  SingleWriterAdd(stats_.members, int64_t{1});
  return joined;
}

void ChatShard::Unlist(Membership* membership) {
  auto it = local_.find(membership->group->id());
  CHECK(it != local_.end()) << "leave from a group with no local members";
  std::vector<Membership*>& members = it->second;
  const size_t slot = membership->slot;
  CHECK(slot < members.size() && members[slot] == membership);
  members[slot] = members.back();
  members[slot]->slot = static_cast<uint32_t>(slot);
  members.pop_back();
  SingleWriterAdd(stats_.members, int64_t{-1});
  if (members.empty()) local_.erase(it);
}

void ChatShard::Leave(Membership* membership, const ChatEvent& event) {
  Member* member = membership->member;
  Group* group = membership->group;
  const uint64_t id = group->id();
  Unlist(membership);
  member->RemoveMembership(membership);
  // `group` may be freed by this call. The announcement is rendered under
  // the lock, for the classes of the members that stay.
  registry_->Leave(group, member->name(), worker_,
                   [&](const Group& g, uint64_t others, uint64_t epoch) {
                     TellLeft(event, {g.name()});
                     if (quiet_ || g.class_mask() == 0) return;
                     Announce(id, others, epoch, Render(event, g.class_mask()));
                   });
}

void ChatShard::LeaveAll(Member* member, const ChatEvent& event) {
  const size_t n = member->group_count();
  if (n == 0) return;
  if (n == 1) {
    Membership* only = nullptr;
    member->ForEachMembership([&](Membership& m) { only = &m; });
    Leave(only, event);
    return;
  }
  std::vector<Group*> groups;
  member->ForEachMembership([&](Membership& m) {
    Unlist(&m);
    groups.push_back(m.group);
  });
  for (Group* group : groups) member->RemoveMembership(member->Find(group));
  Rendition announcement;
  if (!quiet_) announcement = Render(event, kAllClasses);
  registry_->LeaveMany(
      groups, member->name(), worker_,
      [&](absl::Span<const GroupEpoch> epochs, uint64_t others) {
        std::vector<absl::string_view> names;
        for (const Group* group : groups) names.push_back(group->name());
        TellLeft(event, names);
        if (quiet_) return;
        // Stamped one epoch back, as Announce() does: for the members
        // there were before the leave.
        std::vector<GroupEpoch> before(epochs.begin(), epochs.end());
        for (GroupEpoch& e : before) --e.epoch;
        AnnounceMany(before, others, member, announcement);
      });
}

void ChatShard::Broadcast(const Membership& from, const ChatEvent& event,
                          bool to_sender) {
  const Group& group = *from.group;
  // Topics and modes are the group's state, not messages: not counted, and
  // they stay on their host.
  const bool state_change = event.kind == ChatEvent::Kind::kTopic ||
                            event.kind == ChatEvent::Kind::kMode;
  if (!state_change) SingleWriterAdd(stats_.messages, uint64_t{1});
  // The epoch first: its acquire makes the masks include every worker and
  // class whose members joined by then.
  const uint64_t epoch = group.epoch();
  ShardPost post;
  post.kind = ShardPost::Kind::kGroup;
  post.origin = worker_;
  post.group_id = group.id();
  post.epoch = epoch;
  const bool crosses =
      backplane_ != nullptr && group.remote_members() > 0 && !state_change;
  std::string msgid;
  const EventStamp stamp = Stamp(group.class_mask(), crosses, &msgid);
  post.rendition = RenderEvent(event, group.class_mask(), stamp);
  if (crosses) {
    ChatEvent said = event;
    said.group = group.name();
    backplane_->Said(said, stamp);
  }
  PostToWorkers(group.worker_mask() & ~self_bit(), post);
  auto it = local_.find(group.id());
  if (it == local_.end()) return;
  // A sender that hears itself does so in its place in the group's order.
  const Member* except = to_sender ? nullptr : from.member;
  if (own_posts_in_flight_.contains(group.id())) {
    // Queue behind our own announcement instead of overtaking it.
    post.except = except;
    PostToWorkers(self_bit(), post);
  } else {
    DeliverTo(it->second, except, epoch, post.rendition);
  }
}

void ChatShard::AnnounceToGroups(Member* member, const ChatEvent& event,
                                 uint8_t required_caps) {
  Rendition rendition = Render(event, kIrcClasses);
  rendition.required_caps = required_caps;
  registry_->AnnounceToGroups(
      member->name(), worker_,
      [&](absl::Span<const GroupEpoch> groups, uint64_t others) {
        AnnounceMany(groups, others, member, rendition);
      });
}

absl::StatusOr<GroupRegistry::Recipient> ChatShard::SendPrivate(
    Member* from, absl::string_view to, ChatEvent event) {
  std::optional<GroupRegistry::Recipient> recipient =
      registry_->FindRecipient(to);
  if (!recipient.has_value()) return absl::NotFoundError("no such name");
  SingleWriterAdd(stats_.private_messages, uint64_t{1});
  event.target = recipient->name;
  const bool echo = (from->caps() & kCapEchoMessage) != 0;
  if (recipient->worker < 0) {
    if (backplane_ == nullptr) return absl::NotFoundError("no such name");
    std::string msgid;
    const EventStamp stamp = Stamp(0, true, &msgid);
    backplane_->SaidPrivately(recipient->host, event, stamp);
    if (echo) {
      from->Deliver(RenderEvent(event, ClassBit(from->wire_class()), stamp));
    }
    return *std::move(recipient);
  }
  ShardPost post;
  post.kind = ShardPost::Kind::kDirect;
  post.origin = worker_;
  post.member_id = recipient->member_id;
  post.rendition = Render(event, ClassBit(recipient->wire_class) |
                                     (echo ? ClassBit(from->wire_class()) : 0));
  if (recipient->worker == worker_) {
    Deliver(post);
  } else {
    transport_->Post(recipient->worker, post);
  }
  if (echo && recipient->member_id != from->id()) from->Deliver(post.rendition);
  return *std::move(recipient);
}

absl::Status ChatShard::Kick(const Membership& by, absl::string_view target,
                             const ChatEvent& event, PayloadRef notice) {
  std::optional<GroupRegistry::Recipient> recipient =
      registry_->FindRecipient(target);
  // A member on another host is kicked by its own host, not from here.
  if (!recipient.has_value() || recipient->worker < 0 ||
      !registry_->Flags(*by.group, target).has_value()) {
    return absl::NotFoundError("not a member");
  }
  ShardPost post;
  post.kind = ShardPost::Kind::kKick;
  post.origin = worker_;
  post.group_id = by.group->id();
  post.member_id = recipient->member_id;
  post.rendition = Render(event, kAllClasses);
  post.notice = std::move(notice);
  // Carried out by the target's own worker, which alone may touch its
  // memberships; the kick is announced there, as the target's leave.
  if (recipient->worker == worker_) {
    Deliver(post);
  } else {
    transport_->Post(recipient->worker, post);
  }
  return absl::OkStatus();
}

void ChatShard::Deliver(const ShardPost& post) {
  switch (post.kind) {
    case ShardPost::Kind::kGroup: {
      if (post.origin == worker_) {
        auto in_flight = own_posts_in_flight_.find(post.group_id);
        CHECK(in_flight != own_posts_in_flight_.end());
        if (--in_flight->second == 0) own_posts_in_flight_.erase(in_flight);
      }
      // The group may have lost its last local member since the post.
      auto it = local_.find(post.group_id);
      if (it != local_.end()) {
        DeliverTo(it->second, post.except, post.epoch, post.rendition);
      }
      return;
    }
    case ShardPost::Kind::kGroups: {
      const uint64_t mark = ++next_mark_;
      uint64_t delivered = 0;
      for (const GroupEpoch& g : *post.groups) {
        if (post.origin == worker_) {
          auto in_flight = own_posts_in_flight_.find(g.group_id);
          CHECK(in_flight != own_posts_in_flight_.end());
          if (--in_flight->second == 0) own_posts_in_flight_.erase(in_flight);
        }
        auto it = local_.find(g.group_id);
        if (it == local_.end()) continue;
        for (Membership* m : it->second) {
          Member* member = m->member;
          if (member == post.except || m->joined_epoch > g.epoch ||
              member->delivery_mark_ == mark) {
            continue;
          }
          member->delivery_mark_ = mark;
          delivered += member->Deliver(post.rendition) ? 1 : 0;
        }
      }
      SingleWriterAdd(stats_.deliveries, delivered);
      return;
    }
    case ShardPost::Kind::kDirect:
      if (Member* member = LocalMember(post.member_id);
          member != nullptr && member->Deliver(post.rendition)) {
        SingleWriterAdd(stats_.deliveries, uint64_t{1});
      }
      return;
    case ShardPost::Kind::kKick:
      DeliverKick(post);
      return;
    case ShardPost::Kind::kEvict:
      if (Member* member = LocalMember(post.member_id)) {
        member->output().EndSession(post.notice);
      }
      return;
    case ShardPost::Kind::kEveryone: {
      uint64_t delivered = 0;
      for (const auto& [id, member] : members_) {
        delivered += member->Deliver(post.rendition) ? 1 : 0;
      }
      SingleWriterAdd(stats_.deliveries, delivered);
      return;
    }
  }
}

void ChatShard::DeliverKick(const ShardPost& post) {
  Member* member = LocalMember(post.member_id);
  if (member == nullptr) return;  // Gone meanwhile.
  Membership* membership = nullptr;
  member->ForEachMembership([&](Membership& m) {
    if (m.group->id() == post.group_id) membership = &m;
  });
  if (membership == nullptr) return;  // Left meanwhile.
  // An IRC member sees its KICK like everyone else; a line member, whose
  // session is its one group, is told why it ends.
  const bool ends_session = !member->irc();
  if (!ends_session) member->Deliver(post.rendition);
  Membership* m = membership;
  Group* group = m->group;
  const uint64_t id = group->id();
  Unlist(m);
  member->RemoveMembership(m);
  registry_->Leave(
      group, member->name(), worker_,
      [&](const Group& g, uint64_t others, uint64_t epoch) {
        // The other hosts see a part: the kick's own event is not here.
        ChatEvent part{ChatEvent::Kind::kPart, SourceOf(*member), g.name()};
        part.text = "kicked";
        TellLeft(part, {g.name()});
        if (!quiet_) Announce(id, others, epoch, post.rendition);
      });
  if (ends_session) member->output().EndSession(post.notice);
}

Member* ChatShard::LocalMember(uint64_t id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : it->second;
}

size_t ChatShard::local_member_count(uint64_t group_id) const {
  auto it = local_.find(group_id);
  return it == local_.end() ? 0 : it->second.size();
}

void ChatShard::PostToWorkers(uint64_t workers, const ShardPost& post) {
  while (workers != 0) {
    const int w = absl::countr_zero(workers);
    workers &= workers - 1;
    if (w == worker_) {
      if (post.kind == ShardPost::Kind::kGroups) {
        for (const GroupEpoch& g : *post.groups) {
          ++own_posts_in_flight_[g.group_id];
        }
      } else {
        ++own_posts_in_flight_[post.group_id];
      }
    }
    transport_->Post(w, post);
  }
}

void ChatShard::Announce(uint64_t group_id, uint64_t other_workers,
                         uint64_t epoch, const Rendition& rendition) {
  // Stamped one epoch back: an announcement is for the members there were
  // before the change, never for the joiner itself.
  ShardPost post;
  post.kind = ShardPost::Kind::kGroup;
  post.origin = worker_;
  post.group_id = group_id;
  post.epoch = epoch - 1;
  post.rendition = rendition;
  const bool local_members = local_.contains(group_id);
  PostToWorkers(other_workers | (local_members ? self_bit() : 0), post);
}

void ChatShard::AnnounceMany(absl::Span<const GroupEpoch> groups,
                             uint64_t other_workers, const Member* except,
                             const Rendition& rendition) {
  ShardPost post;
  post.kind = ShardPost::Kind::kGroups;
  post.origin = worker_;
  post.except = except;
  post.rendition = rendition;
  post.groups = std::make_shared<const std::vector<GroupEpoch>>(groups.begin(),
                                                                groups.end());
  bool local_members = false;
  for (const GroupEpoch& g : groups) {
    local_members = local_members || local_.contains(g.group_id);
  }
  PostToWorkers(other_workers | (local_members ? self_bit() : 0), post);
}

void ChatShard::DeliverTo(const std::vector<Membership*>& members,
                          const Member* except, uint64_t epoch,
                          const Rendition& rendition) {
  uint64_t delivered = 0;
  for (Membership* m : members) {
    if (m->member != except && m->joined_epoch <= epoch) {
      delivered += m->member->Deliver(rendition) ? 1 : 0;
    }
  }
  SingleWriterAdd(stats_.deliveries, delivered);
}

}  // namespace chatd
