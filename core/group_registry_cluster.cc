// GroupRegistry's members on other hosts of a cluster (docs/CLUSTER.md):
// applied from the backplane by PeerHosts, under the same mutex and epochs
// as local changes, so a remote join or leave is ordered with local ones
// exactly as another worker's would be.
#include <glog/logging.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "core/group_registry.h"

namespace chatd {

void GroupRegistry::SetHostRank(uint16_t host, uint64_t rank) {
  MutexLock lock(&mu_);
  if (host_rank_.size() <= host) host_rank_.resize(host + 1, 0);
  host_rank_[host] = rank;
}

bool GroupRegistry::Older(int64_t a_us, uint16_t a_host, int64_t b_us,
                          uint16_t b_host) const {
  if (a_us != b_us) return a_us < b_us;
  const uint64_t a = a_host < host_rank_.size() ? host_rank_[a_host] : 0;
  const uint64_t b = b_host < host_rank_.size() ? host_rank_[b_host] : 0;
  return a < b;
}

GroupRegistry::Holder* GroupRegistry::FindRemote(uint16_t host,
                                                 absl::string_view folded) {
  auto it = people_.find(folded);
  if (it == people_.end() || it->second.host != host) return nullptr;
  return &it->second;
}

uint64_t GroupRegistry::Unjoin(Group* group, Holder& holder, int worker) {
  auto g = std::find(holder.groups.begin(), holder.groups.end(), group);
  CHECK(g != holder.groups.end()) << holder.name << " not in " << group->name();
  holder.groups.erase(g);
  bool emptied = false;
  const uint64_t epoch = RemoveFrom(group, holder, worker, &emptied);
  if (emptied) {
    groups_.erase(Fold(group->name()));
    group_count_.store(groups_.size(), std::memory_order_relaxed);
  }
  return epoch;
}

void GroupRegistry::DropRemote(
    absl::node_hash_map<std::string, Holder>::iterator it,
    RemoteAnnouncer& announcer) {
  Holder& holder = it->second;
  if (!holder.groups.empty()) {
    const MemberInfo info = InfoOf(holder, 0);
    std::vector<GroupEpoch> epochs;
    uint64_t workers = 0;
    std::vector<Group*> emptied;
    for (Group* group : holder.groups) {
      bool empty = false;
      epochs.push_back({group->id(), RemoveFrom(group, holder, -1, &empty)});
      workers |= group->worker_mask();
      if (empty) emptied.push_back(group);
    }
    holder.groups.clear();
    // Stamped one epoch back, for the members there were before.
    for (GroupEpoch& e : epochs) --e.epoch;
    announcer.Left(info, epochs, workers);
    for (Group* group : emptied) groups_.erase(Fold(group->name()));
    group_count_.store(groups_.size(), std::memory_order_relaxed);
  }
  people_.erase(it);
  CountPeople();
}

void GroupRegistry::ClaimRemote(uint16_t host, const ClusterPerson& person,
                                RemoteAnnouncer& announcer) {
  CHECK_NE(host, 0);
  std::string folded = Fold(person.name);
  MutexLock lock(&mu_);
  auto it = people_.find(folded);
  if (it != people_.end()) {
    Holder& holder = it->second;
    if (holder.host == host) {
      // Known already (a snapshot repeats claims), or claimed again there
      // after a release we missed.
      holder.claimed_us = person.claimed_us;
      holder.name = std::string(person.name);
      if (holder.irc != nullptr) {
        holder.irc->user = std::string(person.user);
        holder.irc->realname = std::string(person.realname);
      }
      return;
    }
    if (!Older(person.claimed_us, host, holder.claimed_us, holder.host)) {
      return;  // The holder's claim is older: it keeps the name.
    }
    if (holder.host == 0) {
      // Evicted on its own worker; the name is `host`'s once released. A
      // claim repeated (by a snapshot) while the eviction is on its way
      // only says whose it will be.
      auto [lost, first] = lost_names_.try_emplace(folded, host);
      lost->second = host;
      if (first) {
        announcer.Evict(Evicted{holder.name, holder.member_id, holder.worker,
                                holder.irc != nullptr});
      }
      return;
    }
    DropRemote(it, announcer);
  }
  Holder& holder = people_[folded];
  holder.name = std::string(person.name);
  holder.worker = -1;
  holder.host = host;
  holder.claimed_us = person.claimed_us;
  holder.wire_class = person.irc ? WireClass::kIrcPlain : WireClass::kLine;
  if (person.irc) {
    holder.irc = std::make_unique<IrcDetails>();
    holder.irc->user = std::string(person.user);
    holder.irc->realname = std::string(person.realname);
  }
  CountPeople();
}

void GroupRegistry::ReleaseRemote(uint16_t host, absl::string_view name,
                                  RemoteAnnouncer& announcer) {
  const std::string folded = Fold(name);
  MutexLock lock(&mu_);
  auto it = people_.find(folded);
  if (it == people_.end() || it->second.host != host) return;
  DropRemote(it, announcer);
}

bool GroupRegistry::JoinRemote(uint16_t host, absl::string_view group,
                               absl::string_view name, uint8_t flags,
                               Announce announce) {
  const std::string folded_name = Fold(name);
  std::string folded_group = Fold(group);
  MutexLock lock(&mu_);
  Holder* holder = FindRemote(host, folded_name);
  if (holder == nullptr) return false;
  auto [it, created] = groups_.try_emplace(std::move(folded_group));
  Entry& entry = it->second;
  if (created) {
    entry.group = std::make_unique<Group>(next_id_++, std::string(group));
    entry.created = absl::Now();
    group_count_.store(groups_.size(), std::memory_order_relaxed);
  } else if (entry.members.contains(holder)) {
    return true;
  }
  entry.members.emplace(holder, flags);
  Group& g = *entry.group;
  holder->groups.push_back(&g);
  // Relaxed: published with the epoch's release below.
  g.remote_members_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t epoch = BumpEpoch(g);
  announce(g, g.worker_mask(), epoch);
  return true;
}

void GroupRegistry::LeaveRemote(uint16_t host,
                                absl::Span<const absl::string_view> groups,
                                absl::string_view name, AnnounceMany announce) {
  const std::string folded_name = Fold(name);
  MutexLock lock(&mu_);
  Holder* holder = FindRemote(host, folded_name);
  if (holder == nullptr) return;
  std::vector<GroupEpoch> epochs;
  std::vector<Group*> emptied;
  uint64_t workers = 0;
  for (absl::string_view name_of_group : groups) {
    auto it = groups_.find(Fold(name_of_group));
    if (it == groups_.end() || !it->second.members.contains(holder)) continue;
    Group* group = it->second.group.get();
    holder->groups.erase(
        std::find(holder->groups.begin(), holder->groups.end(), group));
    bool empty = false;
    epochs.push_back({group->id(), RemoveFrom(group, *holder, -1, &empty) - 1});
    workers |= group->worker_mask();
    if (empty) emptied.push_back(group);
  }
  if (!epochs.empty()) announce(epochs, workers);
  for (Group* group : emptied) groups_.erase(Fold(group->name()));
  group_count_.store(groups_.size(), std::memory_order_relaxed);
}

bool GroupRegistry::RenameRemote(uint16_t host, absl::string_view from,
                                 absl::string_view to, AnnounceMany announce) {
  const std::string folded_from = Fold(from);
  std::string folded_to = Fold(to);
  MutexLock lock(&mu_);
  auto it = people_.find(folded_from);
  if (it == people_.end() || it->second.host != host) return false;
  Holder* holder = Rekey(it, std::move(folded_to), to);
  if (holder == nullptr) return false;
  std::vector<GroupEpoch> epochs;
  const uint64_t workers = CurrentEpochs(*holder, &epochs);
  if (!epochs.empty()) announce(epochs, workers);
  return true;
}

void GroupRegistry::ReplaceHost(uint16_t host,
                                const std::vector<ClusterPerson>& people,
                                RemoteAnnouncer& announcer) {
  // Claims first, each under the lock as ClaimRemote takes it; then the
  // groups. Whoever the snapshot no longer has is gone.
  absl::flat_hash_set<std::string> present;
  for (const ClusterPerson& person : people) {
    present.insert(Fold(person.name));
  }
  {
    MutexLock lock(&mu_);
    std::vector<std::string> gone;
    for (const auto& [folded, holder] : people_) {
      if (holder.host == host && !present.contains(folded)) {
        gone.push_back(folded);
      }
    }
    for (const std::string& folded : gone) {
      DropRemote(people_.find(folded), announcer);
    }
  }
  for (const ClusterPerson& person : people) {
    ClaimRemote(host, person, announcer);
    const std::string folded = Fold(person.name);
    MutexLock lock(&mu_);
    Holder* holder = FindRemote(host, folded);
    if (holder == nullptr) continue;  // An older claim holds the name here.
    const MemberInfo info = InfoOf(*holder, 0);
    absl::flat_hash_set<std::string> wanted;
    for (const ClusterPerson::GroupFlags& g : person.groups) {
      wanted.insert(Fold(g.group));
    }
    // Left meanwhile.
    std::vector<Group*> stale;
    for (Group* group : holder->groups) {
      if (!wanted.contains(Fold(group->name()))) stale.push_back(group);
    }
    for (Group* group : stale) {
      const uint64_t workers = group->worker_mask();
      const GroupEpoch epoch{group->id(), Unjoin(group, *holder, -1) - 1};
      announcer.Left(info, absl::MakeConstSpan(&epoch, 1), workers);
    }
    // Joined meanwhile.
    for (const ClusterPerson::GroupFlags& g : person.groups) {
      auto [it, created] = groups_.try_emplace(Fold(g.group));
      Entry& entry = it->second;
      if (created) {
        entry.group = std::make_unique<Group>(next_id_++, std::string(g.group));
        entry.created = absl::Now();
        group_count_.store(groups_.size(), std::memory_order_relaxed);
      } else if (auto known = entry.members.find(holder);
                 known != entry.members.end()) {
        known->second = g.flags;  // Given +o or +v there meanwhile.
        continue;
      }
      entry.members.emplace(holder, g.flags);
      Group& group = *entry.group;
      holder->groups.push_back(&group);
      group.remote_members_.fetch_add(1, std::memory_order_relaxed);
      const uint64_t epoch = BumpEpoch(group);
      announcer.Joined(info, group, group.worker_mask(), epoch);
    }
  }
}

std::optional<GroupRegistry::Route> GroupRegistry::RouteFromRemote(
    uint16_t host, absl::string_view group, absl::string_view name) const {
  const std::string folded_name = Fold(name);
  const std::string folded_group = Fold(group);
  MutexLock lock(&mu_);
  auto person = people_.find(folded_name);
  if (person == people_.end() || person->second.host != host) {
    return std::nullopt;
  }
  auto it = groups_.find(folded_group);
  if (it == groups_.end() || !it->second.members.contains(&person->second)) {
    return std::nullopt;
  }
  const Group& g = *it->second.group;
  return Route{g.id(), g.epoch_.load(std::memory_order_relaxed),
               g.worker_mask(), g.class_mask()};
}

void GroupRegistry::LocalSnapshot(
    absl::FunctionRef<void(const std::vector<ClusterPerson>&)> sink) const {
  MutexLock lock(&mu_);
  std::vector<ClusterPerson> people;
  people.reserve(people_.size());
  for (const auto& [folded, holder] : people_) {
    if (holder.host != 0) continue;
    ClusterPerson& p = people.emplace_back();
    p.name = holder.name;
    p.irc = holder.irc != nullptr;
    if (p.irc) {
      p.user = holder.irc->user;
      p.realname = holder.irc->realname;
    }
    p.claimed_us = holder.claimed_us;
    for (Group* group : holder.groups) {
      const Entry* entry = FindEntry(*group);
      p.groups.push_back({group->name(), entry->members.at(&holder)});
    }
  }
  sink(people);
}

}  // namespace chatd
