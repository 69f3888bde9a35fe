#include "core/group_registry.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/protocol.h"

namespace chatd {
namespace {

bool IsIrc(WireClass c) { return c != WireClass::kLine; }

}  // namespace

std::string GroupRegistry::Fold(absl::string_view text) {
  return absl::AsciiStrToLower(text);
}

absl::Status GroupRegistry::ClaimName(absl::string_view name, Person person) {
  std::string folded = Fold(name);
  MutexLock lock(&mu_);
  auto [it, inserted] = people_.try_emplace(std::move(folded));
  if (!inserted) return absl::AlreadyExistsError(kErrorNameTaken);
  Holder& holder = it->second;
  holder.name = std::string(name);
  holder.member_id = person.member_id;
  holder.worker = person.worker;
  holder.wire_class = person.wire_class;
  holder.claimed_us = absl::ToUnixMicros(absl::Now());
  if (IsIrc(person.wire_class)) {
    holder.irc = std::make_unique<IrcDetails>();
    holder.irc->user = std::move(person.user);
    holder.irc->realname = std::move(person.realname);
  }
  CountPeople();
  if (backplane_ != nullptr) {
    ClusterPerson claim;
    claim.name = holder.name;
    claim.irc = holder.irc != nullptr;
    if (claim.irc) {
      claim.user = holder.irc->user;
      claim.realname = holder.irc->realname;
    }
    claim.claimed_us = holder.claimed_us;
    backplane_->Claimed(claim);
  }
  return absl::OkStatus();
}

void GroupRegistry::ReleaseName(absl::string_view name) {
  MutexLock lock(&mu_);
  auto it = people_.find(Fold(name));
  CHECK(it != people_.end()) << name << " not taken";
  CHECK(it->second.groups.empty()) << name << " released while in a group";
  CHECK_EQ(it->second.host, 0) << name << " is held by another host";
  if (backplane_ != nullptr) backplane_->Released(it->second.name);
  people_.erase(it);
  CountPeople();
  // A name this host lost to another: that host holds it now, and only
  // its snapshot says with which groups.
  auto lost = lost_names_.find(Fold(name));
  if (lost != lost_names_.end()) {
    const uint16_t host = lost->second;
    lost_names_.erase(lost);
    if (on_name_freed_) on_name_freed_(host);
  }
}

void GroupRegistry::CountPeople() {
  const size_t n = people_.size();
  person_count_.store(n, std::memory_order_relaxed);
  if (n > max_person_count_.load(std::memory_order_relaxed)) {
    max_person_count_.store(n, std::memory_order_relaxed);
  }
}

absl::Status GroupRegistry::Rename(absl::string_view from, absl::string_view to,
                                   int worker, AnnounceMany announce) {
  const std::string folded_from = Fold(from);
  std::string folded_to = Fold(to);
  MutexLock lock(&mu_);
  auto it = people_.find(folded_from);
  CHECK(it != people_.end()) << from << " not taken";
  Holder* holder = Rekey(it, std::move(folded_to), to);
  if (holder == nullptr) return absl::AlreadyExistsError(kErrorNameTaken);
  std::vector<GroupEpoch> epochs;
  const uint64_t workers = CurrentEpochs(*holder, &epochs);
  // Even with no groups: the other hosts must learn of the new name.
  announce(epochs, workers & ~(uint64_t{1} << worker));
  return absl::OkStatus();
}

void GroupRegistry::SetWireClass(absl::string_view name, WireClass wire_class) {
  MutexLock lock(&mu_);
  auto it = people_.find(Fold(name));
  CHECK(it != people_.end()) << name << " not taken";
  Holder& holder = it->second;
  if (holder.wire_class == wire_class) return;
  CHECK_EQ(IsIrc(holder.wire_class), IsIrc(wire_class));
  for (Group* group : holder.groups) {
    Entry* entry = FindEntry(*group);
    CountClass(*entry, holder.wire_class, -1);
    CountClass(*entry, wire_class, +1);
  }
  holder.wire_class = wire_class;
}

void GroupRegistry::SetAway(absl::string_view name, absl::string_view away) {
  MutexLock lock(&mu_);
  auto it = people_.find(Fold(name));
  CHECK(it != people_.end()) << name << " not taken";
  if (it->second.irc != nullptr) it->second.irc->away = std::string(away);
}

std::optional<GroupRegistry::Recipient> GroupRegistry::FindRecipient(
    absl::string_view name) const {
  const std::string folded = Fold(name);
  MutexLock lock(&mu_);
  auto it = people_.find(folded);
  if (it == people_.end()) return std::nullopt;
  const Holder& h = it->second;
  return Recipient{h.name,
                   h.member_id,
                   h.worker,
                   h.wire_class,
                   h.irc != nullptr ? h.irc->away : std::string(),
                   h.host};
}

std::optional<std::pair<GroupRegistry::MemberInfo, std::vector<std::string>>>
GroupRegistry::FindMember(absl::string_view name) const {
  const std::string folded = Fold(name);
  MutexLock lock(&mu_);
  auto it = people_.find(folded);
  if (it == people_.end()) return std::nullopt;
  const Holder& holder = it->second;
  std::vector<std::string> groups;
  for (Group* group : holder.groups) {
    const Entry* entry = FindEntry(*group);
    const uint8_t flags = entry->members.at(&holder);
    const char* prefix = (flags & kFlagOp)      ? "@"
                         : (flags & kFlagVoice) ? "+"
                                                : "";
    groups.push_back(absl::StrCat(prefix, "#", group->name()));
  }
  return std::make_pair(InfoOf(holder, 0), std::move(groups));
}

GroupRegistry::MemberInfo GroupRegistry::InfoOf(const Holder& holder,
                                                uint8_t flags) const {
  MemberInfo info;
  info.name = holder.name;
  info.flags = flags;
  info.irc = holder.irc != nullptr;
  if (holder.irc != nullptr) {
    info.user = holder.irc->user;
    info.realname = holder.irc->realname;
    info.away = holder.irc->away;
  } else {
    info.user = holder.name;
    info.realname = "chatd line user";
  }
  return info;
}

absl::StatusOr<GroupRegistry::Joined> GroupRegistry::Join(
    absl::string_view group, absl::string_view name, int worker,
    Announce announce) {
  CHECK(worker >= 0 && worker < kMaxWorkers) << worker;
  std::string folded_name = Fold(name);
  std::string folded_group = Fold(group);
  MutexLock lock(&mu_);
  auto person = people_.find(folded_name);
  CHECK(person != people_.end()) << name << " joins without a name";
  Holder& holder = person->second;
  auto [it, created] = groups_.try_emplace(std::move(folded_group));
  Entry& entry = it->second;
  if (created) {
    // Shown as first written, whoever joins it later and however.
    entry.group = std::make_unique<Group>(next_id_++, std::string(group));
    entry.created = absl::Now();
    group_count_.store(groups_.size(), std::memory_order_relaxed);
  } else if (entry.members.contains(&holder)) {
    return absl::AlreadyExistsError("already a member");
  }
  // The creator is the group's operator (Modern IRC, "Channels").
  entry.members.emplace(&holder, created ? kFlagOp : 0);
  Group& g = *entry.group;
  holder.groups.push_back(&g);
  const uint64_t bit = uint64_t{1} << worker;
  if (entry.members_on_worker[worker]++ == 0) {
    // Relaxed: see Group::worker_mask(); the mutex orders writers, and the
    // epoch's release below publishes the bit to broadcasters.
    g.worker_mask_.fetch_or(bit, std::memory_order_relaxed);
  }
  CountClass(entry, holder.wire_class, +1);
  const uint64_t epoch = BumpEpoch(g);
  announce(g, g.worker_mask() & ~bit, epoch);
  return Joined{&g, entry.members.size(), epoch, created};
}

void GroupRegistry::CountClass(Entry& entry, WireClass wire_class, int delta) {
  uint32_t& count = entry.members_of_class[int(wire_class)];
  const ClassMask bit = ClassBit(wire_class);
  // Relaxed, as the worker mask: published by the epoch's release.
  if (delta > 0 && count++ == 0) {
    entry.group->class_mask_.fetch_or(bit, std::memory_order_relaxed);
  } else if (delta < 0) {
    CHECK_GT(count, 0u);
    if (--count == 0) {
      entry.group->class_mask_.fetch_and(static_cast<ClassMask>(~bit),
                                         std::memory_order_relaxed);
    }
  }
}

uint64_t GroupRegistry::RemoveFrom(Group* group, const Holder& holder,
                                   int worker, bool* emptied) {
  auto it = groups_.find(Fold(group->name()));
  CHECK(it != groups_.end() && it->second.group.get() == group)
      << "leave from unknown group " << group->name();
  Entry& entry = it->second;
  CHECK_EQ(entry.members.erase(&holder), 1u)
      << holder.name << " not in " << group->name();
  if (holder.host != 0) {
    // Relaxed, as the masks: the epoch's release publishes it.
    group->remote_members_.fetch_sub(1, std::memory_order_relaxed);
  } else {
    const uint64_t bit = uint64_t{1} << worker;
    CHECK_GT(entry.members_on_worker[worker], 0u);
    if (--entry.members_on_worker[worker] == 0) {
      group->worker_mask_.fetch_and(~bit, std::memory_order_relaxed);
    }
    CountClass(entry, holder.wire_class, -1);
  }
  const uint64_t epoch = BumpEpoch(*group);
  *emptied = entry.members.empty();
  return epoch;
}

void GroupRegistry::Leave(Group* group, absl::string_view name, int worker,
                          Announce announce) {
  const std::string folded_name = Fold(name);
  MutexLock lock(&mu_);
  auto person = people_.find(folded_name);
  CHECK(person != people_.end()) << name << " not taken";
  Holder& holder = person->second;
  auto g = std::find(holder.groups.begin(), holder.groups.end(), group);
  CHECK(g != holder.groups.end()) << name << " not in " << group->name();
  holder.groups.erase(g);
  bool emptied = false;
  const uint64_t epoch = RemoveFrom(group, holder, worker, &emptied);
  announce(*group, group->worker_mask() & ~(uint64_t{1} << worker), epoch);
  if (emptied) {
    groups_.erase(Fold(group->name()));
    group_count_.store(groups_.size(), std::memory_order_relaxed);
  }
}

void GroupRegistry::LeaveMany(absl::Span<Group* const> groups,
                              absl::string_view name, int worker,
                              AnnounceMany announce) {
  const std::string folded_name = Fold(name);
  MutexLock lock(&mu_);
  auto person = people_.find(folded_name);
  CHECK(person != people_.end()) << name << " not taken";
  Holder& holder = person->second;
  std::vector<GroupEpoch> epochs;
  std::vector<Group*> emptied_groups;
  uint64_t workers = 0;
  for (Group* group : groups) {
    auto g = std::find(holder.groups.begin(), holder.groups.end(), group);
    CHECK(g != holder.groups.end()) << name << " not in " << group->name();
    holder.groups.erase(g);
    bool emptied = false;
    epochs.push_back(
        {group->id(), RemoveFrom(group, holder, worker, &emptied)});
    workers |= group->worker_mask();
    if (emptied) emptied_groups.push_back(group);
  }
  announce(epochs, workers & ~(uint64_t{1} << worker));
  for (Group* group : emptied_groups) groups_.erase(Fold(group->name()));
  group_count_.store(groups_.size(), std::memory_order_relaxed);
}

void GroupRegistry::AnnounceToGroups(absl::string_view name, int worker,
                                     AnnounceMany announce) {
  MutexLock lock(&mu_);
  auto person = people_.find(Fold(name));
  CHECK(person != people_.end()) << name << " not taken";
  std::vector<GroupEpoch> epochs;
  const uint64_t workers = CurrentEpochs(person->second, &epochs);
  if (!epochs.empty()) announce(epochs, workers & ~(uint64_t{1} << worker));
}

GroupRegistry::Holder* GroupRegistry::Rekey(
    absl::node_hash_map<std::string, Holder>::iterator it,
    std::string folded_to, absl::string_view to) {
  if (folded_to != it->first) {
    if (people_.contains(folded_to)) return nullptr;
    auto node = people_.extract(it);
    node.key() = std::move(folded_to);
    it = people_.insert(std::move(node)).position;
  }
  it->second.name = std::string(to);
  return &it->second;
}

uint64_t GroupRegistry::CurrentEpochs(const Holder& holder,
                                      std::vector<GroupEpoch>* epochs) const {
  uint64_t workers = 0;
  for (Group* group : holder.groups) {
    epochs->push_back(
        {group->id(), group->epoch_.load(std::memory_order_relaxed)});
    workers |= group->worker_mask();
  }
  return workers;
}

uint64_t GroupRegistry::BumpEpoch(Group& group) {
  // Only writers under mu_ change the epoch, so the relaxed load is exact;
  // the release store pairs with Group::epoch().
  const uint64_t epoch = group.epoch_.load(std::memory_order_relaxed) + 1;
  group.epoch_.store(epoch, std::memory_order_release);
  return epoch;
}

GroupRegistry::Entry* GroupRegistry::FindEntry(const Group& group) {
  auto it = groups_.find(Fold(group.name()));
  if (it == groups_.end() || it->second.group.get() != &group) return nullptr;
  return &it->second;
}

const GroupRegistry::Entry* GroupRegistry::FindEntry(const Group& group) const {
  auto it = groups_.find(Fold(group.name()));
  if (it == groups_.end() || it->second.group.get() != &group) return nullptr;
  return &it->second;
}

std::vector<GroupRegistry::MemberInfo> GroupRegistry::Members(
    absl::string_view group) const {
  const std::string folded_group = Fold(group);
  std::vector<MemberInfo> members;
  {
    MutexLock lock(&mu_);
    auto it = groups_.find(folded_group);
    const Entry* entry = it == groups_.end() ? nullptr : &it->second;
    if (entry != nullptr) {
      members.reserve(entry->members.size());
      for (const auto& [holder, flags] : entry->members) {
        members.push_back(InfoOf(*holder, flags));
      }
    }
  }
  std::sort(
      members.begin(), members.end(),
      [](const MemberInfo& a, const MemberInfo& b) { return a.name < b.name; });
  return members;
}

std::optional<uint8_t> GroupRegistry::Flags(const Group& group,
                                            absl::string_view name) const {
  MutexLock lock(&mu_);
  const Entry* entry = FindEntry(group);
  if (entry == nullptr) return std::nullopt;
  auto it = entry->members.find(FindHolder(name));
  if (it == entry->members.end()) return std::nullopt;
  return it->second;
}

const GroupRegistry::Holder* GroupRegistry::FindHolder(
    absl::string_view name) const {
  auto it = people_.find(Fold(name));
  return it == people_.end() ? nullptr : &it->second;
}

bool GroupRegistry::IsOp(const Entry& entry, absl::string_view name) const {
  auto it = entry.members.find(FindHolder(name));
  return it != entry.members.end() && (it->second & kFlagOp);
}

absl::Status GroupRegistry::SetFlag(const Group& group, absl::string_view by,
                                    absl::string_view target, MemberFlag flag,
                                    bool on) {
  MutexLock lock(&mu_);
  Entry* entry = FindEntry(group);
  if (entry == nullptr) return absl::NotFoundError("no such group");
  if (!IsOp(*entry, by)) return absl::PermissionDeniedError("not an op");
  auto it = entry->members.find(FindHolder(target));
  if (it == entry->members.end()) return absl::NotFoundError("not a member");
  it->second = on ? (it->second | flag) : (it->second & ~flag);
  return absl::OkStatus();
}

absl::Status GroupRegistry::SetMode(const Group& group, absl::string_view by,
                                    GroupMode mode, bool on) {
  MutexLock lock(&mu_);
  Entry* entry = FindEntry(group);
  if (entry == nullptr) return absl::NotFoundError("no such group");
  if (!IsOp(*entry, by)) return absl::PermissionDeniedError("not an op");
  entry->modes = on ? (entry->modes | mode) : (entry->modes & ~mode);
  return absl::OkStatus();
}

GroupRegistry::Topic GroupRegistry::GetTopic(const Group& group) const {
  MutexLock lock(&mu_);
  const Entry* entry = FindEntry(group);
  return entry == nullptr ? Topic() : entry->topic;
}

absl::Status GroupRegistry::SetTopic(const Group& group, absl::string_view by,
                                     absl::string_view text, absl::Time now) {
  MutexLock lock(&mu_);
  Entry* entry = FindEntry(group);
  if (entry == nullptr) return absl::NotFoundError("no such group");
  if ((entry->modes & kModeTopicLocked) && !IsOp(*entry, by)) {
    return absl::PermissionDeniedError("not an op");
  }
  entry->topic = Topic{std::string(text), std::string(by), now};
  return absl::OkStatus();
}

std::optional<GroupRegistry::GroupInfo> GroupRegistry::FindGroup(
    absl::string_view name) const {
  const std::string folded = Fold(name);
  MutexLock lock(&mu_);
  auto it = groups_.find(folded);
  if (it == groups_.end()) return std::nullopt;
  const Entry& e = it->second;
  return GroupInfo{e.group->name(), e.members.size(), e.topic.text, e.created,
                   e.modes};
}

std::vector<GroupRegistry::GroupInfo> GroupRegistry::ListGroups() const {
  std::vector<GroupInfo> list;
  {
    MutexLock lock(&mu_);
    list.reserve(groups_.size());
    for (const auto& [folded, e] : groups_) {
      list.push_back(GroupInfo{e.group->name(), e.members.size(), e.topic.text,
                               e.created, e.modes});
    }
  }
  std::sort(
      list.begin(), list.end(),
      [](const GroupInfo& a, const GroupInfo& b) { return a.name < b.name; });
  return list;
}

}  // namespace chatd
