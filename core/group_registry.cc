#include "core/group_registry.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/status/status.h"
#include "core/protocol.h"

namespace chatd {

absl::StatusOr<GroupRegistry::Joined> GroupRegistry::Join(
    absl::string_view group, absl::string_view name, int worker,
    Announce announce) {
  CHECK(worker >= 0 && worker < kMaxWorkers) << worker;
  MutexLock lock(&mu_);
  auto [it, created] = groups_.try_emplace(group);
  Entry& entry = it->second;
  if (created) {
    entry.group = std::make_unique<Group>(next_id_++, std::string(group));
    group_count_.store(groups_.size(), std::memory_order_relaxed);
  }
  if (!entry.names.emplace(name).second) {
    return absl::AlreadyExistsError(kErrorNameTaken);
  }
  Group& g = *entry.group;
  const uint64_t bit = uint64_t{1} << worker;
  if (entry.members_on_worker[worker]++ == 0) {
    // Relaxed: see Group::worker_mask(); the mutex orders writers, and the
    // epoch's release below publishes the bit to broadcasters.
    g.worker_mask_.fetch_or(bit, std::memory_order_relaxed);
  }
  const uint64_t epoch = BumpEpoch(g);
  announce(g, g.worker_mask() & ~bit, epoch);
  return Joined{&g, entry.names.size(), epoch};
}

void GroupRegistry::Leave(Group* group, absl::string_view name, int worker,
                          Announce announce) {
  MutexLock lock(&mu_);
  auto it = groups_.find(group->name());
  CHECK(it != groups_.end() && it->second.group.get() == group)
      << "leave from unknown group " << group->name();
  Entry& entry = it->second;
  CHECK_EQ(entry.names.erase(name), 1u) << name << " not in " << group->name();
  const uint64_t bit = uint64_t{1} << worker;
  CHECK_GT(entry.members_on_worker[worker], 0u);
  if (--entry.members_on_worker[worker] == 0) {
    group->worker_mask_.fetch_and(~bit, std::memory_order_relaxed);
  }
  announce(*group, group->worker_mask() & ~bit, BumpEpoch(*group));
  if (entry.names.empty()) {
    groups_.erase(it);
    group_count_.store(groups_.size(), std::memory_order_relaxed);
  }
}

uint64_t GroupRegistry::BumpEpoch(Group& group) {
  // Only writers under mu_ change the epoch, so the relaxed load is exact;
  // the release store pairs with Group::epoch().
  const uint64_t epoch = group.epoch_.load(std::memory_order_relaxed) + 1;
  group.epoch_.store(epoch, std::memory_order_release);
  return epoch;
}

std::vector<std::string> GroupRegistry::Members(const Group& group) const {
  std::vector<std::string> names;
  {
    MutexLock lock(&mu_);
    auto it = groups_.find(group.name());
    if (it != groups_.end() && it->second.group.get() == &group) {
      names.assign(it->second.names.begin(), it->second.names.end());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace chatd
