// GroupRegistry is the one piece of chat state shared by all workers: which
// groups exist, which names are taken (one namespace for the whole server,
// whatever group or transport), and which workers have members of each
// group. Every worker holds a pointer to the single registry owned by the
// server.
//
// Names and group names compare ASCII-case-insensitively (IRC's
// CASEMAPPING=ascii, which the IRC front end advertises): "Tim" takes "tim",
// and "Cooking" is the group "cooking", shown as it was first written.
//
// Joins and leaves take the registry mutex; they are rare next to messages.
// Messages never lock: a broadcaster reads the group's worker mask with one
// atomic load to learn which other workers to post to.
#ifndef CHATD_CORE_GROUP_REGISTRY_H_
#define CHATD_CORE_GROUP_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "third_party/mutex.h"

namespace chatd {

// Workers are named by bits of a 64-bit mask.
inline constexpr int kMaxWorkers = 64;

// A group as every worker sees it. Its id and name never change; the mask
// changes under the registry mutex and is read without it. A Group lives from
// its first join to its last leave, so a member may hold a pointer to it.
class Group {
 public:
  Group(uint64_t id, std::string name) : id_(id), name_(std::move(name)) {}

  // Unique for the registry's lifetime, never reused: a broadcast still in
  // flight for a forgotten group cannot reach a new group of the same name.
  uint64_t id() const { return id_; }
  const std::string& name() const { return name_; }

  // Bit w is set while worker w has members. Relaxed: the mask only routes
  // posts and publishes no data; the mailbox orders what is posted, and
  // epoch() orders the mask against joins.
  uint64_t worker_mask() const {
    return worker_mask_.load(std::memory_order_relaxed);
  }

  // Counts the group's joins and leaves. A broadcast is stamped with the
  // epoch it was sent at and reaches only members who joined at or before
  // it, so nobody hears of events from before they joined, wherever the
  // broadcast was still in flight. Acquire: pairs with the release in
  // Join(), so a broadcaster that sees a join's epoch also sees the worker
  // bit that join set, and posts to that worker.
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

 private:
  friend class GroupRegistry;

  const uint64_t id_;
  const std::string name_;
  std::atomic<uint64_t> worker_mask_{0};
  std::atomic<uint64_t> epoch_{0};
};

class GroupRegistry {
 public:
  // Called with the registry mutex held, so that announcements are ordered
  // with the membership changes they announce: `other_workers` is the mask
  // of workers, other than the caller's, that have members after the change,
  // and `epoch` the group's epoch after it.
  using Announce = absl::FunctionRef<void(
      const Group& group, uint64_t other_workers, uint64_t epoch)>;

  struct Joined {
    Group* group;
    size_t online;   // Members after the join, the joiner included.
    uint64_t epoch;  // The group's epoch at the join.
  };

  GroupRegistry() = default;
  GroupRegistry(const GroupRegistry&) = delete;
  GroupRegistry& operator=(const GroupRegistry&) = delete;

  // Adds `name` to `group` (creating it) as a member living on `worker`.
  // Fails with AlreadyExists when the name is taken anywhere on the server.
  absl::StatusOr<Joined> Join(absl::string_view group, absl::string_view name,
                              int worker, Announce announce);

  // Removes a member added by Join. The group is forgotten, and `group`
  // dangles, once its last member has left.
  void Leave(Group* group, absl::string_view name, int worker,
             Announce announce);

  // The group's member names, as each member wrote it, in byte order.
  std::vector<std::string> Members(const Group& group) const;

  // Any thread, without the mutex (a scrape must not wait on joins):
  // relaxed, a statistic that publishes nothing else.
  size_t group_count() const {
    return group_count_.load(std::memory_order_relaxed);
  }

 private:
  struct Entry {
    std::unique_ptr<Group> group;
    absl::flat_hash_set<std::string> names;  // As written.
    std::array<uint32_t, kMaxWorkers> members_on_worker{};
  };

  // The key a name or group name is compared by.
  static std::string Fold(absl::string_view text);
  // Returns the group's next epoch, published to broadcasters.
  uint64_t BumpEpoch(Group& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  // By folded name.
  absl::flat_hash_map<std::string, Entry> groups_ ABSL_GUARDED_BY(mu_);
  // Every member's folded name, whatever its group.
  absl::flat_hash_set<std::string> names_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // groups_.size(), stored under mu_ whenever it changes.
  std::atomic<size_t> group_count_{0};
};

}  // namespace chatd

#endif  // CHATD_CORE_GROUP_REGISTRY_H_
