#include "core/group_registry.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "core/protocol.h"

namespace chatd {

std::string GroupRegistry::Fold(absl::string_view text) {
  return absl::AsciiStrToLower(text);
}

absl::StatusOr<GroupRegistry::Joined> GroupRegistry::Join(
    absl::string_view group, absl::string_view name, int worker,
    Announce announce) {
  CHECK(worker >= 0 && worker < kMaxWorkers) << worker;
  std::string folded_name = Fold(name);
  std::string folded_group = Fold(group);
  MutexLock lock(&mu_);
  // Checked first, so a refused join creates no group.
  if (!names_.insert(std::move(folded_name)).second) {
    return absl::AlreadyExistsError(kErrorNameTaken);
  }
  auto [it, created] = groups_.try_emplace(std::move(folded_group));
  Entry& entry = it->second;
  if (created) {
    // Shown as first written, whoever joins it later and however.
    entry.group = std::make_unique<Group>(next_id_++, std::string(group));
    group_count_.store(groups_.size(), std::memory_order_relaxed);
  }
  entry.names.emplace(name);
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
  const std::string folded_group = Fold(group->name());
  const std::string folded_name = Fold(name);
  MutexLock lock(&mu_);
  auto it = groups_.find(folded_group);
  CHECK(it != groups_.end() && it->second.group.get() == group)
      << "leave from unknown group " << group->name();
  Entry& entry = it->second;
  CHECK_EQ(entry.names.erase(name), 1u) << name << " not in " << group->name();
  CHECK_EQ(names_.erase(folded_name), 1u) << name << " not taken";
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
    const std::string folded_group = Fold(group.name());
    MutexLock lock(&mu_);
    auto it = groups_.find(folded_group);
    if (it != groups_.end() && it->second.group.get() == &group) {
      names.assign(it->second.names.begin(), it->second.names.end());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace chatd
