#include "core/group_registry.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chatd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint64_t Bit(int worker) { return uint64_t{1} << worker; }

// Records every announcement a registry call makes.
struct Announcement {
  const Group* group;
  uint64_t other_workers;
  uint64_t epoch;
};

class Recorder {
 public:
  // Valid as long as the recorder.
  GroupRegistry::Announce announce() { return fn_; }
  const std::vector<Announcement>& calls() const { return calls_; }
  // The single announcement made since the last Take, or fails.
  Announcement TakeOne() {
    EXPECT_EQ(calls_.size(), 1u);
    Announcement a =
        calls_.empty() ? Announcement{nullptr, ~uint64_t{0}, 0} : calls_.back();
    calls_.clear();
    return a;
  }

 private:
  std::vector<Announcement> calls_;
  std::function<void(const Group&, uint64_t, uint64_t)> fn_ =
      [this](const Group& group, uint64_t others, uint64_t epoch) {
        calls_.push_back({&group, others, epoch});
      };
};

void NoAnnounce(const Group&, uint64_t, uint64_t) {}

// Joins and asserts success.
GroupRegistry::Joined MustJoin(GroupRegistry& registry, absl::string_view group,
                               absl::string_view name, int worker) {
  absl::StatusOr<GroupRegistry::Joined> joined =
      registry.Join(group, name, worker, NoAnnounce);
  EXPECT_TRUE(joined.ok()) << joined.status();
  return joined.ok() ? *joined : GroupRegistry::Joined{nullptr, 0, 0};
}

TEST(GroupRegistryTest, StartsEmpty) {
  GroupRegistry registry;
  EXPECT_EQ(registry.group_count(), 0u);
}

TEST(GroupRegistryTest, JoinCreatesGroup) {
  GroupRegistry registry;
  const GroupRegistry::Joined joined =
      MustJoin(registry, "cooking", "alice", 3);
  ASSERT_NE(joined.group, nullptr);
  EXPECT_EQ(joined.group->name(), "cooking");
  EXPECT_EQ(joined.online, 1u);
  EXPECT_EQ(joined.group->worker_mask(), Bit(3));
  EXPECT_EQ(registry.group_count(), 1u);
  EXPECT_THAT(registry.Members(*joined.group), ElementsAre("alice"));
  registry.Leave(joined.group, "alice", 3, NoAnnounce);
}

TEST(GroupRegistryTest, OnlineCountsMembersOfTheGroup) {
  GroupRegistry registry;
  const GroupRegistry::Joined a = MustJoin(registry, "g", "a", 0);
  const GroupRegistry::Joined b = MustJoin(registry, "g", "b", 1);
  const GroupRegistry::Joined c = MustJoin(registry, "g", "c", 0);
  EXPECT_EQ(a.online, 1u);
  EXPECT_EQ(b.online, 2u);
  EXPECT_EQ(c.online, 3u);
  // One group object for all of them.
  EXPECT_EQ(b.group, a.group);
  EXPECT_EQ(c.group, a.group);
  EXPECT_EQ(registry.group_count(), 1u);

  registry.Leave(b.group, "b", 1, NoAnnounce);
  EXPECT_EQ(MustJoin(registry, "g", "d", 2).online, 3u);
  // Another group does not count.
  EXPECT_EQ(MustJoin(registry, "h", "e", 0).online, 1u);
  EXPECT_EQ(registry.group_count(), 2u);
}

TEST(GroupRegistryTest, NameTakenInSameGroup) {
  GroupRegistry registry;
  const GroupRegistry::Joined a = MustJoin(registry, "g", "alice", 0);
  Recorder recorder;
  const absl::StatusOr<GroupRegistry::Joined> again =
      registry.Join("g", "alice", 5, recorder.announce());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "name taken");
  // The failed join changed nothing and announced nothing.
  EXPECT_THAT(recorder.calls(), IsEmpty());
  EXPECT_EQ(a.group->worker_mask(), Bit(0));
  EXPECT_THAT(registry.Members(*a.group), ElementsAre("alice"));
  EXPECT_EQ(MustJoin(registry, "g", "bob", 0).online, 2u);
}

TEST(GroupRegistryTest, NameTakenInAnotherGroup) {
  GroupRegistry registry;
  const GroupRegistry::Joined a = MustJoin(registry, "g", "alice", 0);
  const absl::StatusOr<GroupRegistry::Joined> elsewhere =
      registry.Join("h", "alice", 1, NoAnnounce);
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.status().message(), "name taken");
  // The refused join created no group.
  EXPECT_EQ(registry.group_count(), 1u);
  // Free again once alice leaves.
  registry.Leave(a.group, "alice", 0, NoAnnounce);
  EXPECT_EQ(MustJoin(registry, "h", "alice", 1).online, 1u);
}

TEST(GroupRegistryTest, NamesAndGroupsAreCaseInsensitive) {
  GroupRegistry registry;
  const GroupRegistry::Joined tim = MustJoin(registry, "Cooking", "Tim", 0);
  EXPECT_EQ(registry.Join("g", "tim", 0, NoAnnounce).status().message(),
            "name taken");
  EXPECT_EQ(registry.Join("g", "TIM", 1, NoAnnounce).status().message(),
            "name taken");
  // "cooking" is the same group, still shown as first written; each member
  // keeps the case they wrote.
  const GroupRegistry::Joined ann = MustJoin(registry, "cooking", "Ann", 1);
  EXPECT_EQ(ann.group, tim.group);
  EXPECT_EQ(ann.online, 2u);
  EXPECT_EQ(ann.group->name(), "Cooking");
  EXPECT_THAT(registry.Members(*ann.group), ElementsAre("Ann", "Tim"));
  EXPECT_EQ(registry.group_count(), 1u);
  // Leaving frees the name in every case.
  registry.Leave(tim.group, "Tim", 0, NoAnnounce);
  EXPECT_TRUE(registry.Join("COOKING", "tIm", 0, NoAnnounce).ok());
}

TEST(GroupRegistryTest, DifferentGroupsAreDistinctObjects) {
  GroupRegistry registry;
  const GroupRegistry::Joined a = MustJoin(registry, "cooking", "alice", 0);
  const GroupRegistry::Joined b = MustJoin(registry, "hiking", "bob", 0);
  ASSERT_NE(a.group, nullptr);
  ASSERT_NE(b.group, nullptr);
  EXPECT_NE(a.group, b.group);
  EXPECT_NE(a.group->id(), b.group->id());
  EXPECT_EQ(b.online, 1u);
  EXPECT_EQ(registry.group_count(), 2u);
}

TEST(GroupRegistryTest, WorkerMaskFollowsMembersOnWorkers) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "a", 0).group;
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->worker_mask(), Bit(0));
  MustJoin(registry, "g", "b", 2);
  EXPECT_EQ(g->worker_mask(), Bit(0) | Bit(2));
  MustJoin(registry, "g", "c", 2);
  EXPECT_EQ(g->worker_mask(), Bit(0) | Bit(2));
  MustJoin(registry, "g", "d", 63);
  EXPECT_EQ(g->worker_mask(), Bit(0) | Bit(2) | Bit(63));

  // Worker 2 keeps its bit while it has any member.
  registry.Leave(g, "b", 2, NoAnnounce);
  EXPECT_EQ(g->worker_mask(), Bit(0) | Bit(2) | Bit(63));
  registry.Leave(g, "c", 2, NoAnnounce);
  EXPECT_EQ(g->worker_mask(), Bit(0) | Bit(63));
  registry.Leave(g, "d", 63, NoAnnounce);
  EXPECT_EQ(g->worker_mask(), Bit(0));
  MustJoin(registry, "g", "e", 2);
  EXPECT_EQ(g->worker_mask(), Bit(0) | Bit(2));
}

TEST(GroupRegistryTest, MaskOfOneGroupDoesNotAffectAnother) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "a", 1).group;
  Group* h = MustJoin(registry, "h", "b", 4).group;
  EXPECT_EQ(g->worker_mask(), Bit(1));
  EXPECT_EQ(h->worker_mask(), Bit(4));
}

TEST(GroupRegistryTest, JoinAnnouncesOtherWorkersWithMembersAfterTheChange) {
  GroupRegistry registry;
  Recorder r;

  ASSERT_TRUE(registry.Join("g", "a", 0, r.announce()).ok());
  Announcement a = r.TakeOne();
  ASSERT_NE(a.group, nullptr);
  const Group* g = a.group;
  EXPECT_EQ(g->name(), "g");
  EXPECT_EQ(a.other_workers, 0u);  // Nobody else yet.

  ASSERT_TRUE(registry.Join("g", "b", 1, r.announce()).ok());
  a = r.TakeOne();
  EXPECT_EQ(a.group, g);
  EXPECT_EQ(a.other_workers, Bit(0));

  ASSERT_TRUE(registry.Join("g", "c", 1, r.announce()).ok());
  EXPECT_EQ(r.TakeOne().other_workers, Bit(0));  // Own worker excluded.

  ASSERT_TRUE(registry.Join("g", "d", 5, r.announce()).ok());
  EXPECT_EQ(r.TakeOne().other_workers, Bit(0) | Bit(1));

  ASSERT_TRUE(registry.Join("g", "e", 0, r.announce()).ok());
  EXPECT_EQ(r.TakeOne().other_workers, Bit(1) | Bit(5));
}

TEST(GroupRegistryTest, LeaveAnnouncesOtherWorkersWithMembersAfterTheChange) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "a0", 0).group;
  MustJoin(registry, "g", "b1", 1);
  MustJoin(registry, "g", "c1", 1);
  MustJoin(registry, "g", "d2", 2);
  Recorder r;

  registry.Leave(g, "b1", 1, r.announce());
  Announcement a = r.TakeOne();
  EXPECT_EQ(a.group, g);
  EXPECT_EQ(a.other_workers, Bit(0) | Bit(2));

  registry.Leave(g, "a0", 0, r.announce());
  EXPECT_EQ(r.TakeOne().other_workers, Bit(1) | Bit(2));

  registry.Leave(g, "c1", 1, r.announce());
  EXPECT_EQ(r.TakeOne().other_workers, Bit(2));

  // The last member: nobody else to tell, but the announcement still comes,
  // with the group still alive.
  registry.Leave(g, "d2", 2,
                 [&](const Group& group, uint64_t others, uint64_t epoch) {
                   EXPECT_EQ(&group, g);
                   EXPECT_EQ(group.name(), "g");
                   EXPECT_EQ(others, 0u);
                   r.announce()(group, others, epoch);
                 });
  EXPECT_EQ(r.calls().size(), 1u);
  EXPECT_EQ(registry.group_count(), 0u);
}

TEST(GroupRegistryTest, EveryJoinAndLeaveBumpsTheEpochOnce) {
  GroupRegistry registry;
  Recorder r;
  GroupRegistry::Joined a = *registry.Join("g", "a", 0, r.announce());
  EXPECT_EQ(a.epoch, 1u);
  EXPECT_EQ(a.group->epoch(), 1u);
  EXPECT_EQ(r.TakeOne().epoch, 1u);
  GroupRegistry::Joined b = *registry.Join("g", "b", 1, r.announce());
  EXPECT_EQ(b.epoch, 2u);
  EXPECT_EQ(r.TakeOne().epoch, 2u);
  // A refused join changes nothing.
  EXPECT_FALSE(registry.Join("g", "a", 1, r.announce()).ok());
  EXPECT_TRUE(r.calls().empty());
  EXPECT_EQ(a.group->epoch(), 2u);
  registry.Leave(a.group, "a", 0, r.announce());
  EXPECT_EQ(r.TakeOne().epoch, 3u);
  EXPECT_EQ(a.group->epoch(), 3u);
  // Another group counts on its own.
  EXPECT_EQ(registry.Join("h", "a", 0, r.announce())->epoch, 1u);
  registry.Leave(b.group, "b", 1, NoAnnounce);
}

TEST(GroupRegistryTest, GroupIsForgottenAfterLastLeave) {
  GroupRegistry registry;
  const GroupRegistry::Joined a = MustJoin(registry, "g", "a", 0);
  MustJoin(registry, "g", "b", 1);
  const uint64_t old_id = a.group->id();

  registry.Leave(a.group, "a", 0, NoAnnounce);
  EXPECT_EQ(registry.group_count(), 1u);
  registry.Leave(a.group, "b", 1, NoAnnounce);
  EXPECT_EQ(registry.group_count(), 0u);

  // Name "a" is free again, and the group is a new one with a new id.
  const GroupRegistry::Joined again = MustJoin(registry, "g", "a", 0);
  ASSERT_NE(again.group, nullptr);
  EXPECT_EQ(again.online, 1u);
  EXPECT_NE(again.group->id(), old_id);
  EXPECT_EQ(again.group->worker_mask(), Bit(0));
  EXPECT_THAT(registry.Members(*again.group), ElementsAre("a"));
  EXPECT_EQ(registry.group_count(), 1u);
}

TEST(GroupRegistryTest, IdsAreNeverReused) {
  GroupRegistry registry;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    Group* g = MustJoin(registry, "g", "a", 0).group;
    ids.push_back(g->id());
    Group* h =
        MustJoin(registry, absl::StrCat("h", i), absl::StrCat("b", i), 0).group;
    ids.push_back(h->id());
    registry.Leave(g, "a", 0, NoAnnounce);
  }
  std::vector<uint64_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
  EXPECT_EQ(registry.group_count(), 5u);
}

TEST(GroupRegistryTest, MembersAreSortedBytewise) {
  GroupRegistry registry;
  Group* g = nullptr;
  for (const char* name :
       {"bob", "carol", "Alice", "_x", "Dave", "0", "-", ".", "zed"}) {
    g = MustJoin(registry, "g", name, 0).group;
  }
  ASSERT_NE(g, nullptr);
  // Bytewise, as written: upper case before lower.
  EXPECT_THAT(registry.Members(*g),
              ElementsAre("-", ".", "0", "Alice", "Dave", "_x", "bob", "carol",
                          "zed"));
  registry.Leave(g, "Alice", 0, NoAnnounce);
  registry.Leave(g, "zed", 0, NoAnnounce);
  EXPECT_THAT(registry.Members(*g),
              ElementsAre("-", ".", "0", "Dave", "_x", "bob", "carol"));
}

TEST(GroupRegistryTest, MembersListOnlyThatGroup) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "a", 0).group;
  Group* h = MustJoin(registry, "h", "b", 0).group;
  MustJoin(registry, "g", "c", 1);
  EXPECT_THAT(registry.Members(*g), ElementsAre("a", "c"));
  EXPECT_THAT(registry.Members(*h), ElementsAre("b"));
}

// Several threads, each acting as its own worker, join and leave distinct
// names in a few shared groups. The announcements run under the registry
// mutex, so they can keep exact per-group counts to check the registry's.
TEST(GroupRegistryConcurrencyTest, ConcurrentJoinsAndLeaves) {
  constexpr int kThreads = 8;
  constexpr int kGroups = 3;
  constexpr int kRounds = 300;
  constexpr int kNamesPerRound = 4;

  GroupRegistry registry;
  // Guarded by the registry mutex: touched only inside announcements.
  std::array<int, kGroups> members{};
  std::array<std::array<int, kThreads>, kGroups> on_worker{};
  std::atomic<int> joins{0};
  std::atomic<int> leaves{0};
  std::atomic<int> failures{0};

  auto group_index = [](const Group& g) { return g.name()[1] - '0'; };

  auto run = [&](int worker) {
    for (int round = 0; round < kRounds; ++round) {
      const int gi = (worker + round) % kGroups;
      const std::string group_name = absl::StrCat("g", gi);
      std::vector<std::string> names;
      Group* group = nullptr;
      for (int n = 0; n < kNamesPerRound; ++n) {
        names.push_back(absl::StrCat("w", worker, "_", n));
        int seen_members = -1;
        const absl::StatusOr<GroupRegistry::Joined> joined = registry.Join(
            group_name, names.back(), worker,
            [&](const Group& g, uint64_t others, uint64_t) {
              const int i = group_index(g);
              seen_members = ++members[i];
              ++on_worker[i][worker];
              // Own bit is set, and excluded from `others`.
              if ((g.worker_mask() & Bit(worker)) == 0) ++failures;
              if (others != (g.worker_mask() & ~Bit(worker))) ++failures;
              for (int w = 0; w < kThreads; ++w) {
                const bool has = on_worker[i][w] > 0;
                if (((g.worker_mask() >> w) & 1) != static_cast<uint64_t>(has))
                  ++failures;
              }
            });
        if (!joined.ok()) {
          ++failures;
          continue;
        }
        ++joins;
        if (joined->online != static_cast<size_t>(seen_members)) ++failures;
        if (group != nullptr && joined->group != group) ++failures;
        group = joined->group;
      }
      if (group == nullptr) continue;
      // While we are members the group is alive and lists us.
      const std::vector<std::string> listed = registry.Members(*group);
      for (const std::string& name : names) {
        if (std::find(listed.begin(), listed.end(), name) == listed.end())
          ++failures;
      }
      if (!std::is_sorted(listed.begin(), listed.end())) ++failures;
      if ((group->worker_mask() & Bit(worker)) == 0) ++failures;

      for (const std::string& name : names) {
        registry.Leave(group, name, worker,
                       [&](const Group& g, uint64_t others, uint64_t) {
                         const int i = group_index(g);
                         --members[i];
                         const bool still_here = --on_worker[i][worker] > 0;
                         if (((g.worker_mask() >> worker) & 1) !=
                             static_cast<uint64_t>(still_here))
                           ++failures;
                         if (others != (g.worker_mask() & ~Bit(worker)))
                           ++failures;
                       });
        ++leaves;
      }
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(run, t);
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(joins.load(), kThreads * kRounds * kNamesPerRound);
  EXPECT_EQ(leaves.load(), joins.load());
  EXPECT_EQ(registry.group_count(), 0u);
  for (int i = 0; i < kGroups; ++i) {
    EXPECT_EQ(members[i], 0) << i;
    for (int w = 0; w < kThreads; ++w) EXPECT_EQ(on_worker[i][w], 0);
  }
}

}  // namespace
}  // namespace chatd
