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
void NoAnnounceMany(absl::Span<const GroupEpoch>, uint64_t) {}

// A line member's details, as ChatShard::Claim gives them.
GroupRegistry::Person LinePerson(int worker, uint64_t id = 0) {
  GroupRegistry::Person person;
  person.member_id = id;
  person.worker = worker;
  return person;
}

GroupRegistry::Person IrcPerson(int worker, absl::string_view user,
                                WireClass wire_class = WireClass::kIrcPlain,
                                uint64_t id = 0) {
  GroupRegistry::Person person;
  person.member_id = id;
  person.worker = worker;
  person.wire_class = wire_class;
  person.user = std::string(user);
  person.realname = absl::StrCat("real ", user);
  return person;
}

// Claims `name` (if nobody holds it yet) for a line member on `worker`,
// then joins and asserts success.
GroupRegistry::Joined MustJoin(GroupRegistry& registry, absl::string_view group,
                               absl::string_view name, int worker) {
  if (!registry.FindRecipient(name).has_value()) {
    EXPECT_TRUE(registry.ClaimName(name, LinePerson(worker)).ok()) << name;
  }
  absl::StatusOr<GroupRegistry::Joined> joined =
      registry.Join(group, name, worker, NoAnnounce);
  EXPECT_TRUE(joined.ok()) << joined.status();
  return joined.ok() ? *joined : GroupRegistry::Joined{nullptr, 0, 0, false};
}

// Leaves the member's last group and frees its name, as a session's end
// does.
void LeaveAndRelease(GroupRegistry& registry, Group* group,
                     absl::string_view name, int worker) {
  registry.Leave(group, name, worker, NoAnnounce);
  registry.ReleaseName(name);
}

// The members' names, in the order Members() gives them.
std::vector<std::string> Names(const GroupRegistry& registry,
                               const Group& group) {
  std::vector<std::string> names;
  for (const GroupRegistry::MemberInfo& m : registry.Members(group)) {
    names.push_back(m.name);
  }
  return names;
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
  EXPECT_THAT(Names(registry, *joined.group), ElementsAre("alice"));
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

TEST(GroupRegistryTest, JoiningTwiceIsRefused) {
  GroupRegistry registry;
  const GroupRegistry::Joined a = MustJoin(registry, "g", "alice", 0);
  Recorder recorder;
  const absl::StatusOr<GroupRegistry::Joined> again =
      registry.Join("G", "ALICE", 0, recorder.announce());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  // The failed join changed nothing and announced nothing.
  EXPECT_THAT(recorder.calls(), IsEmpty());
  EXPECT_EQ(a.group->worker_mask(), Bit(0));
  EXPECT_EQ(a.group->epoch(), 1u);
  EXPECT_THAT(Names(registry, *a.group), ElementsAre("alice"));
  EXPECT_EQ(MustJoin(registry, "g", "bob", 0).online, 2u);
}

TEST(GroupRegistryTest, ClaimNameTakesTheNameServerWide) {
  GroupRegistry registry;
  EXPECT_EQ(registry.person_count(), 0u);
  ASSERT_TRUE(registry.ClaimName("alice", LinePerson(0, 7)).ok());
  EXPECT_EQ(registry.person_count(), 1u);
  // Taken before any join, on any worker, over any transport.
  const absl::Status again = registry.ClaimName("alice", LinePerson(1, 8));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "name taken");
  EXPECT_EQ(registry.ClaimName("alice", IrcPerson(2, "u")).message(),
            "name taken");
  EXPECT_EQ(registry.person_count(), 1u);
  // The refused claims did not replace the holder.
  ASSERT_TRUE(registry.FindRecipient("alice").has_value());
  EXPECT_EQ(registry.FindRecipient("alice")->member_id, 7u);
  EXPECT_EQ(registry.FindRecipient("alice")->worker, 0);
  // Joining a group does not change that; a second group is allowed.
  MustJoin(registry, "g", "alice", 0);
  EXPECT_EQ(registry.ClaimName("alice", LinePerson(1)).message(), "name taken");
  EXPECT_TRUE(registry.Join("h", "alice", 0, NoAnnounce).ok());
  EXPECT_EQ(registry.group_count(), 2u);
}

TEST(GroupRegistryTest, ClaimClashesInAnyCase) {
  GroupRegistry registry;
  ASSERT_TRUE(registry.ClaimName("Tim", LinePerson(0)).ok());
  EXPECT_EQ(registry.ClaimName("tim", LinePerson(0)).message(), "name taken");
  EXPECT_EQ(registry.ClaimName("TIM", LinePerson(1)).message(), "name taken");
  EXPECT_EQ(registry.ClaimName("tIm", IrcPerson(1, "t")).code(),
            absl::StatusCode::kAlreadyExists);
  // Only ASCII folds: other names stay distinct.
  EXPECT_TRUE(registry.ClaimName("Tim_", LinePerson(0)).ok());
  EXPECT_TRUE(registry.ClaimName("[tim]", LinePerson(0)).ok());
  EXPECT_EQ(registry.person_count(), 3u);
  // Found in any case, shown as written.
  ASSERT_TRUE(registry.FindRecipient("TIM").has_value());
  EXPECT_EQ(registry.FindRecipient("TIM")->name, "Tim");
}

TEST(GroupRegistryTest, ReleaseNameFreesItInEveryCase) {
  GroupRegistry registry;
  ASSERT_TRUE(registry.ClaimName("Tim", LinePerson(0)).ok());
  ASSERT_TRUE(registry.ClaimName("ann", LinePerson(0)).ok());
  registry.ReleaseName("tIM");
  EXPECT_EQ(registry.person_count(), 1u);
  EXPECT_FALSE(registry.FindRecipient("Tim").has_value());
  EXPECT_TRUE(registry.ClaimName("TIM", LinePerson(1)).ok());
  EXPECT_EQ(registry.FindRecipient("tim")->name, "TIM");
  EXPECT_EQ(registry.FindRecipient("tim")->worker, 1);
}

TEST(GroupRegistryTest, NameTakenInAnotherGroupUntilReleased) {
  GroupRegistry registry;
  const GroupRegistry::Joined a = MustJoin(registry, "g", "alice", 0);
  EXPECT_EQ(registry.ClaimName("alice", LinePerson(1)).message(), "name taken");
  // The refused claim created no group.
  EXPECT_EQ(registry.group_count(), 1u);
  // Still taken after leaving: the name is held until released.
  registry.Leave(a.group, "alice", 0, NoAnnounce);
  EXPECT_EQ(registry.ClaimName("alice", LinePerson(1)).message(), "name taken");
  registry.ReleaseName("alice");
  EXPECT_EQ(MustJoin(registry, "h", "alice", 1).online, 1u);
  EXPECT_EQ(registry.FindRecipient("alice")->worker, 1);
}

TEST(GroupRegistryDeathTest, JoinRequiresAClaimedName) {
  GroupRegistry registry;
  EXPECT_DEATH(registry.Join("g", "nobody", 0, NoAnnounce).IgnoreError(),
               "without a name");
}

TEST(GroupRegistryDeathTest, ReleaseWhileInAGroupIsABug) {
  GroupRegistry registry;
  MustJoin(registry, "g", "alice", 0);
  EXPECT_DEATH(registry.ReleaseName("alice"), "while in a group");
}

TEST(GroupRegistryTest, NamesAndGroupsAreCaseInsensitive) {
  GroupRegistry registry;
  const GroupRegistry::Joined tim = MustJoin(registry, "Cooking", "Tim", 0);
  // "cooking" is the same group, still shown as first written; each member
  // keeps the case they wrote.
  const GroupRegistry::Joined ann = MustJoin(registry, "cooking", "Ann", 1);
  EXPECT_EQ(ann.group, tim.group);
  EXPECT_EQ(ann.online, 2u);
  EXPECT_FALSE(ann.op);
  EXPECT_EQ(ann.group->name(), "Cooking");
  EXPECT_THAT(Names(registry, *ann.group), ElementsAre("Ann", "Tim"));
  EXPECT_EQ(registry.group_count(), 1u);
  EXPECT_TRUE(registry.Flags(*ann.group, "tim").has_value());
  ASSERT_TRUE(registry.FindGroup("COOKING").has_value());
  EXPECT_EQ(registry.FindGroup("COOKING")->name, "Cooking");
  // Leaving frees the name in every case.
  LeaveAndRelease(registry, tim.group, "Tim", 0);
  EXPECT_TRUE(registry.ClaimName("tIm", LinePerson(0)).ok());
  EXPECT_TRUE(registry.Join("COOKING", "tIm", 0, NoAnnounce).ok());
  EXPECT_THAT(Names(registry, *ann.group), ElementsAre("Ann", "tIm"));
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
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(registry.ClaimName(name, LinePerson(0)).ok());
  }

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
  ASSERT_TRUE(registry.ClaimName("a", LinePerson(0)).ok());
  ASSERT_TRUE(registry.ClaimName("b", LinePerson(1)).ok());
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

  LeaveAndRelease(registry, a.group, "a", 0);
  EXPECT_EQ(registry.group_count(), 1u);
  LeaveAndRelease(registry, a.group, "b", 1);
  EXPECT_EQ(registry.group_count(), 0u);

  // Name "a" is free again, and the group is a new one with a new id.
  const GroupRegistry::Joined again = MustJoin(registry, "g", "a", 0);
  ASSERT_NE(again.group, nullptr);
  EXPECT_EQ(again.online, 1u);
  EXPECT_NE(again.group->id(), old_id);
  EXPECT_EQ(again.group->worker_mask(), Bit(0));
  EXPECT_THAT(Names(registry, *again.group), ElementsAre("a"));
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
  EXPECT_THAT(Names(registry, *g), ElementsAre("-", ".", "0", "Alice", "Dave",
                                               "_x", "bob", "carol", "zed"));
  registry.Leave(g, "Alice", 0, NoAnnounce);
  registry.Leave(g, "zed", 0, NoAnnounce);
  EXPECT_THAT(Names(registry, *g),
              ElementsAre("-", ".", "0", "Dave", "_x", "bob", "carol"));
}

TEST(GroupRegistryTest, MembersListOnlyThatGroup) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "a", 0).group;
  Group* h = MustJoin(registry, "h", "b", 0).group;
  MustJoin(registry, "g", "c", 1);
  EXPECT_THAT(Names(registry, *g), ElementsAre("a", "c"));
  EXPECT_THAT(Names(registry, *h), ElementsAre("b"));
}

// --- The people table, renames and the IRC state ----------------------------

// Records every AnnounceMany a registry call makes.
class ManyRecorder {
 public:
  struct Call {
    std::vector<GroupEpoch> groups;
    uint64_t other_workers;
  };
  GroupRegistry::AnnounceMany announce() { return fn_; }
  const std::vector<Call>& calls() const { return calls_; }

 private:
  std::vector<Call> calls_;
  std::function<void(absl::Span<const GroupEpoch>, uint64_t)> fn_ =
      [this](absl::Span<const GroupEpoch> groups, uint64_t others) {
        calls_.push_back(
            {std::vector<GroupEpoch>(groups.begin(), groups.end()), others});
      };
};

// (group id, epoch) pairs, for matching.
std::vector<std::pair<uint64_t, uint64_t>> Pairs(
    const std::vector<GroupEpoch>& groups) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const GroupEpoch& g : groups) out.emplace_back(g.group_id, g.epoch);
  return out;
}

TEST(GroupRegistryRenameTest, MovesTheNameInEveryGroupAndAnnouncesOnce) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "alice", 0).group;
  Group* h = MustJoin(registry, "h", "alice", 0).group;
  MustJoin(registry, "g", "bob", 1);
  MustJoin(registry, "h", "carol", 2);
  MustJoin(registry, "h", "dan", 0);
  MustJoin(registry, "other", "erin", 3);
  ASSERT_TRUE(registry.SetFlag(*g, "alice", "bob", kFlagVoice, true).ok());
  const uint64_t g_epoch = g->epoch();
  const uint64_t h_epoch = h->epoch();

  ManyRecorder r;
  ASSERT_TRUE(registry.Rename("alice", "al", 0, r.announce()).ok());
  ASSERT_EQ(r.calls().size(), 1u);
  // Both groups at their current epochs (a rename changes no membership),
  // and the workers other than the caller's with members in either.
  EXPECT_THAT(Pairs(r.calls()[0].groups),
              ElementsAre(std::make_pair(g->id(), g_epoch),
                          std::make_pair(h->id(), h_epoch)));
  EXPECT_EQ(r.calls()[0].other_workers, Bit(1) | Bit(2));
  EXPECT_EQ(g->epoch(), g_epoch);
  EXPECT_EQ(h->epoch(), h_epoch);

  EXPECT_THAT(Names(registry, *g), ElementsAre("al", "bob"));
  EXPECT_THAT(Names(registry, *h), ElementsAre("al", "carol", "dan"));
  // The flags moved with the name.
  EXPECT_EQ(registry.Flags(*g, "al"), std::optional<uint8_t>(kFlagOp));
  EXPECT_EQ(registry.Flags(*g, "alice"), std::nullopt);
  EXPECT_EQ(registry.Flags(*g, "bob"), std::optional<uint8_t>(kFlagVoice));
  EXPECT_FALSE(registry.FindRecipient("alice").has_value());
  ASSERT_TRUE(registry.FindRecipient("AL").has_value());
  EXPECT_EQ(registry.FindRecipient("AL")->name, "al");
  // The old name is free, the new one taken; the count is unchanged.
  EXPECT_EQ(registry.ClaimName("Al", LinePerson(1)).message(), "name taken");
  EXPECT_TRUE(registry.ClaimName("alice", LinePerson(1)).ok());
  EXPECT_EQ(registry.person_count(), 6u);
  // Leaving works under the new name.
  registry.Leave(g, "al", 0, NoAnnounce);
  EXPECT_THAT(Names(registry, *g), ElementsAre("bob"));
}

TEST(GroupRegistryRenameTest, CaseOnlyChangeIsAllowed) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "alice", 0).group;
  ManyRecorder r;
  ASSERT_TRUE(registry.Rename("alice", "Alice", 0, r.announce()).ok());
  ASSERT_EQ(r.calls().size(), 1u);
  EXPECT_THAT(Pairs(r.calls()[0].groups),
              ElementsAre(std::make_pair(g->id(), g->epoch())));
  EXPECT_EQ(r.calls()[0].other_workers, 0u);
  EXPECT_THAT(Names(registry, *g), ElementsAre("Alice"));
  EXPECT_EQ(registry.FindRecipient("alice")->name, "Alice");
  EXPECT_EQ(registry.Flags(*g, "ALICE"), std::optional<uint8_t>(kFlagOp));
  EXPECT_EQ(registry.person_count(), 1u);
}

TEST(GroupRegistryRenameTest, TakenNameIsRefusedAndNothingChanges) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "alice", 0).group;
  MustJoin(registry, "g", "bob", 1);
  ASSERT_TRUE(registry.ClaimName("carol", LinePerson(2)).ok());
  const uint64_t epoch = g->epoch();
  ManyRecorder r;
  for (absl::string_view to : {"bob", "BOB", "Carol"}) {
    const absl::Status status = registry.Rename("alice", to, 0, r.announce());
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << to;
    EXPECT_EQ(status.message(), "name taken");
  }
  EXPECT_THAT(r.calls(), IsEmpty());
  EXPECT_EQ(g->epoch(), epoch);
  EXPECT_THAT(Names(registry, *g), ElementsAre("alice", "bob"));
  EXPECT_EQ(registry.FindRecipient("bob")->worker, 1);
  EXPECT_EQ(registry.FindRecipient("alice")->name, "alice");
}

// Announced with no groups and no workers: only the other hosts of a
// cluster, told from the callback, need to hear of it.
TEST(GroupRegistryRenameTest, NoGroupsAnnouncesToNobody) {
  GroupRegistry registry;
  ASSERT_TRUE(registry.ClaimName("alice", LinePerson(0)).ok());
  ManyRecorder r;
  ASSERT_TRUE(registry.Rename("alice", "al", 0, r.announce()).ok());
  ASSERT_EQ(r.calls().size(), 1u);
  EXPECT_THAT(r.calls()[0].groups, IsEmpty());
  EXPECT_EQ(r.calls()[0].other_workers, 0u);
  EXPECT_TRUE(registry.FindRecipient("al").has_value());
  EXPECT_FALSE(registry.FindRecipient("alice").has_value());
}

TEST(GroupRegistryTest, AnnounceToGroupsUsesCurrentEpochs) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "alice", 0).group;
  MustJoin(registry, "g", "bob", 4);
  Group* h = MustJoin(registry, "h", "alice", 0).group;
  ManyRecorder r;
  registry.AnnounceToGroups("alice", 0, r.announce());
  ASSERT_EQ(r.calls().size(), 1u);
  EXPECT_THAT(Pairs(r.calls()[0].groups),
              ElementsAre(std::make_pair(g->id(), uint64_t{2}),
                          std::make_pair(h->id(), uint64_t{1})));
  EXPECT_EQ(r.calls()[0].other_workers, Bit(4));
  // Nobody to tell for a member in no group.
  ASSERT_TRUE(registry.ClaimName("zed", LinePerson(0)).ok());
  registry.AnnounceToGroups("zed", 0, r.announce());
  EXPECT_EQ(r.calls().size(), 1u);
}

TEST(GroupRegistryTest, CreatorIsTheOp) {
  GroupRegistry registry;
  const GroupRegistry::Joined a = MustJoin(registry, "g", "alice", 0);
  const GroupRegistry::Joined b = MustJoin(registry, "g", "bob", 1);
  EXPECT_TRUE(a.op);
  EXPECT_FALSE(b.op);
  EXPECT_EQ(registry.Flags(*a.group, "alice"), std::optional<uint8_t>(kFlagOp));
  EXPECT_EQ(registry.Flags(*a.group, "bob"), std::optional<uint8_t>(0));
  EXPECT_EQ(registry.Flags(*a.group, "nobody"), std::nullopt);
  const std::vector<GroupRegistry::MemberInfo> members =
      registry.Members(*a.group);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].flags, kFlagOp);
  EXPECT_EQ(members[1].flags, 0);
  // A group made again after its last member left has a new creator.
  LeaveAndRelease(registry, a.group, "alice", 0);
  LeaveAndRelease(registry, b.group, "bob", 1);
  const GroupRegistry::Joined again = MustJoin(registry, "g", "bob", 1);
  EXPECT_TRUE(again.op);
}

TEST(GroupRegistryTest, SetFlagNeedsAnOpAndAMember) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "alice", 0).group;
  MustJoin(registry, "g", "bob", 0);
  MustJoin(registry, "g", "carol", 1);
  MustJoin(registry, "h", "dan", 1);

  EXPECT_EQ(registry.SetFlag(*g, "bob", "carol", kFlagOp, true).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry.SetFlag(*g, "dan", "carol", kFlagOp, true).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry.SetFlag(*g, "alice", "dan", kFlagOp, true).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Flags(*g, "carol"), std::optional<uint8_t>(0));

  ASSERT_TRUE(registry.SetFlag(*g, "ALICE", "Bob", kFlagOp, true).ok());
  ASSERT_TRUE(registry.SetFlag(*g, "alice", "bob", kFlagVoice, true).ok());
  EXPECT_EQ(registry.Flags(*g, "bob"),
            std::optional<uint8_t>(kFlagOp | kFlagVoice));
  // The new op may now give and take.
  ASSERT_TRUE(registry.SetFlag(*g, "bob", "carol", kFlagVoice, true).ok());
  ASSERT_TRUE(registry.SetFlag(*g, "bob", "alice", kFlagOp, false).ok());
  EXPECT_EQ(registry.Flags(*g, "alice"), std::optional<uint8_t>(0));
  EXPECT_EQ(registry.Flags(*g, "carol"), std::optional<uint8_t>(kFlagVoice));
  EXPECT_EQ(registry.SetFlag(*g, "alice", "carol", kFlagVoice, false).code(),
            absl::StatusCode::kPermissionDenied);
  // Clearing one flag keeps the other.
  ASSERT_TRUE(registry.SetFlag(*g, "bob", "bob", kFlagOp, false).ok());
  EXPECT_EQ(registry.Flags(*g, "bob"), std::optional<uint8_t>(kFlagVoice));
}

TEST(GroupRegistryTest, SetModeNeedsAnOp) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "alice", 0).group;
  MustJoin(registry, "g", "bob", 0);
  EXPECT_EQ(registry.FindGroup("g")->modes, 0);
  EXPECT_EQ(registry.SetMode(*g, "bob", kModeTopicLocked, true).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry.FindGroup("g")->modes, 0);
  ASSERT_TRUE(registry.SetMode(*g, "alice", kModeTopicLocked, true).ok());
  EXPECT_EQ(registry.FindGroup("g")->modes, kModeTopicLocked);
  ASSERT_TRUE(registry.SetMode(*g, "alice", kModeTopicLocked, false).ok());
  EXPECT_EQ(registry.FindGroup("g")->modes, 0);
}

TEST(GroupRegistryTest, SetTopicIsOpenUnlessLocked) {
  GroupRegistry registry;
  Group* g = MustJoin(registry, "g", "alice", 0).group;
  MustJoin(registry, "g", "bob", 0);
  EXPECT_EQ(registry.GetTopic(*g).text, "");
  const absl::Time t1 = absl::FromUnixSeconds(100);
  ASSERT_TRUE(registry.SetTopic(*g, "bob", "soup", t1).ok());
  GroupRegistry::Topic topic = registry.GetTopic(*g);
  EXPECT_EQ(topic.text, "soup");
  EXPECT_EQ(topic.set_by, "bob");
  EXPECT_EQ(topic.set_at, t1);
  EXPECT_EQ(registry.FindGroup("g")->topic, "soup");

  ASSERT_TRUE(registry.SetMode(*g, "alice", kModeTopicLocked, true).ok());
  EXPECT_EQ(registry.SetTopic(*g, "bob", "stew", t1).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry.GetTopic(*g).text, "soup");
  const absl::Time t2 = absl::FromUnixSeconds(200);
  ASSERT_TRUE(registry.SetTopic(*g, "alice", "stew", t2).ok());
  topic = registry.GetTopic(*g);
  EXPECT_EQ(topic.text, "stew");
  EXPECT_EQ(topic.set_by, "alice");
  EXPECT_EQ(topic.set_at, t2);
  // An empty text clears it.
  ASSERT_TRUE(registry.SetTopic(*g, "alice", "", t2).ok());
  EXPECT_EQ(registry.GetTopic(*g).text, "");
}

TEST(GroupRegistryTest, ClassMaskFollowsMembersWireClasses) {
  GroupRegistry registry;
  ASSERT_TRUE(registry.ClaimName("tim", LinePerson(0)).ok());
  ASSERT_TRUE(registry.ClaimName("ann", IrcPerson(0, "ann")).ok());
  ASSERT_TRUE(
      registry.ClaimName("bo", IrcPerson(1, "bo", WireClass::kIrcPlain)).ok());
  Group* g = MustJoin(registry, "g", "tim", 0).group;
  EXPECT_EQ(g->class_mask(), ClassBit(WireClass::kLine));
  MustJoin(registry, "g", "ann", 0);
  MustJoin(registry, "g", "bo", 1);
  EXPECT_EQ(g->class_mask(),
            ClassBit(WireClass::kLine) | ClassBit(WireClass::kIrcPlain));
  Group* h = MustJoin(registry, "h", "ann", 0).group;
  EXPECT_EQ(h->class_mask(), ClassBit(WireClass::kIrcPlain));

  // ann asks for message-tags: in every group she is in.
  registry.SetWireClass("ann", WireClass::kIrcTags);
  EXPECT_EQ(g->class_mask(), ClassBit(WireClass::kLine) |
                                 ClassBit(WireClass::kIrcPlain) |
                                 ClassBit(WireClass::kIrcTags));
  EXPECT_EQ(h->class_mask(), ClassBit(WireClass::kIrcTags));
  EXPECT_EQ(registry.FindRecipient("ann")->wire_class, WireClass::kIrcTags);
  // bo moves to server-time: plain is gone from g.
  registry.SetWireClass("bo", WireClass::kIrcTime);
  EXPECT_EQ(g->class_mask(), ClassBit(WireClass::kLine) |
                                 ClassBit(WireClass::kIrcTime) |
                                 ClassBit(WireClass::kIrcTags));
  // A bit goes only with the last member of its class.
  registry.Leave(g, "tim", 0, NoAnnounce);
  EXPECT_EQ(g->class_mask(),
            ClassBit(WireClass::kIrcTime) | ClassBit(WireClass::kIrcTags));
  registry.Leave(g, "ann", 0, NoAnnounce);
  EXPECT_EQ(g->class_mask(), ClassBit(WireClass::kIrcTime));
  EXPECT_EQ(h->class_mask(), ClassBit(WireClass::kIrcTags));
  // Unchanged class: nothing moves.
  registry.SetWireClass("bo", WireClass::kIrcTime);
  EXPECT_EQ(g->class_mask(), ClassBit(WireClass::kIrcTime));
  // The class of a member in no group is remembered for its next join.
  registry.SetWireClass("ann", WireClass::kIrcPlain);
  Group* g2 = MustJoin(registry, "g", "ann", 0).group;
  EXPECT_EQ(g2, g);
  EXPECT_EQ(g->class_mask(),
            ClassBit(WireClass::kIrcTime) | ClassBit(WireClass::kIrcPlain));
  EXPECT_EQ(h->class_mask(), ClassBit(WireClass::kIrcPlain));
}

TEST(GroupRegistryTest, LeaveManyBumpsEachEpochOnceAndForgetsEmptiedGroups) {
  GroupRegistry registry;
  ASSERT_TRUE(registry.ClaimName("ann", IrcPerson(0, "ann")).ok());
  Group* a = MustJoin(registry, "a", "ann", 0).group;
  Group* b = MustJoin(registry, "b", "ann", 0).group;
  Group* c = MustJoin(registry, "c", "ann", 0).group;
  MustJoin(registry, "a", "bob", 2);
  MustJoin(registry, "c", "carol", 0);
  MustJoin(registry, "c", "dan", 5);
  const uint64_t id_a = a->id(), id_b = b->id(), id_c = c->id();
  const uint64_t ea = a->epoch(), ec = c->epoch();
  EXPECT_EQ(registry.group_count(), 3u);

  ManyRecorder r;
  const std::vector<Group*> groups = {a, b, c};
  registry.LeaveMany(groups, "ann", 0, r.announce());
  ASSERT_EQ(r.calls().size(), 1u);
  EXPECT_THAT(Pairs(r.calls()[0].groups),
              ElementsAre(std::make_pair(id_a, ea + 1),
                          std::make_pair(id_b, uint64_t{2}),
                          std::make_pair(id_c, ec + 1)));
  // Workers other than ours with members left in any of them.
  EXPECT_EQ(r.calls()[0].other_workers, Bit(2) | Bit(5));
  EXPECT_EQ(a->epoch(), ea + 1);
  EXPECT_EQ(c->epoch(), ec + 1);
  // b had only ann: forgotten.
  EXPECT_EQ(registry.group_count(), 2u);
  EXPECT_FALSE(registry.FindGroup("b").has_value());
  EXPECT_THAT(Names(registry, *a), ElementsAre("bob"));
  EXPECT_THAT(Names(registry, *c), ElementsAre("carol", "dan"));
  EXPECT_EQ(c->worker_mask(), Bit(0) | Bit(5));
  EXPECT_EQ(a->worker_mask(), Bit(2));
  EXPECT_EQ(a->class_mask(), ClassBit(WireClass::kLine));
  // ann is in no group now and may go.
  registry.ReleaseName("ann");
  EXPECT_FALSE(registry.FindRecipient("ann").has_value());
}

TEST(GroupRegistryTest, LeaveManyOfTheLastMembersForgetsEveryGroup) {
  GroupRegistry registry;
  Group* a = MustJoin(registry, "a", "ann", 0).group;
  Group* b = MustJoin(registry, "b", "ann", 0).group;
  ManyRecorder r;
  const std::vector<Group*> groups = {b, a};
  registry.LeaveMany(groups, "ann", 0, r.announce());
  ASSERT_EQ(r.calls().size(), 1u);
  EXPECT_EQ(r.calls()[0].groups.size(), 2u);
  EXPECT_EQ(r.calls()[0].other_workers, 0u);
  EXPECT_EQ(registry.group_count(), 0u);
  EXPECT_TRUE(registry.ListGroups().empty());
}

TEST(GroupRegistryTest, FindRecipientAndFindMember) {
  GroupRegistry registry;
  ASSERT_TRUE(
      registry.ClaimName("Ann", IrcPerson(3, "annu", WireClass::kIrcTime, 42))
          .ok());
  ASSERT_TRUE(registry.ClaimName("tim", LinePerson(1, 43)).ok());
  EXPECT_FALSE(registry.FindRecipient("nobody").has_value());
  EXPECT_FALSE(registry.FindMember("nobody").has_value());

  std::optional<GroupRegistry::Recipient> ann = registry.FindRecipient("ANN");
  ASSERT_TRUE(ann.has_value());
  EXPECT_EQ(ann->name, "Ann");
  EXPECT_EQ(ann->member_id, 42u);
  EXPECT_EQ(ann->worker, 3);
  EXPECT_EQ(ann->wire_class, WireClass::kIrcTime);
  EXPECT_EQ(ann->away, "");
  registry.SetAway("ann", "lunch");
  EXPECT_EQ(registry.FindRecipient("ann")->away, "lunch");

  Group* g = MustJoin(registry, "g", "tim", 1).group;
  MustJoin(registry, "g", "Ann", 3);
  MustJoin(registry, "h", "Ann", 3);
  ASSERT_TRUE(registry.SetFlag(*g, "tim", "ann", kFlagVoice, true).ok());

  auto member = registry.FindMember("ann");
  ASSERT_TRUE(member.has_value());
  EXPECT_EQ(member->first.name, "Ann");
  EXPECT_EQ(member->first.user, "annu");
  EXPECT_EQ(member->first.realname, "real annu");
  EXPECT_EQ(member->first.away, "lunch");
  EXPECT_TRUE(member->first.irc);
  EXPECT_THAT(member->second, ElementsAre("+#g", "@#h"));

  auto tim = registry.FindMember("TIM");
  ASSERT_TRUE(tim.has_value());
  EXPECT_EQ(tim->first.name, "tim");
  EXPECT_EQ(tim->first.user, "tim");  // A line member's user is its name.
  EXPECT_FALSE(tim->first.irc);
  EXPECT_EQ(tim->first.away, "");
  EXPECT_THAT(tim->second, ElementsAre("@#g"));
  EXPECT_EQ(registry.FindRecipient("tim")->wire_class, WireClass::kLine);
  // A line member has no away text to set.
  registry.SetAway("tim", "gone");
  EXPECT_EQ(registry.FindRecipient("tim")->away, "");

  registry.SetAway("ann", "");
  EXPECT_EQ(registry.FindMember("ann")->first.away, "");
}

TEST(GroupRegistryTest, ListGroupsInByteOrderWithCountsAndTopics) {
  GroupRegistry registry;
  EXPECT_TRUE(registry.ListGroups().empty());
  Group* b = MustJoin(registry, "beta", "x", 0).group;
  MustJoin(registry, "Alpha", "y", 0);
  MustJoin(registry, "alpha", "z", 1);
  MustJoin(registry, "gamma", "x", 0);
  ASSERT_TRUE(
      registry.SetTopic(*b, "x", "bees", absl::FromUnixSeconds(1)).ok());
  ASSERT_TRUE(registry.SetMode(*b, "x", kModeTopicLocked, true).ok());

  const std::vector<GroupRegistry::GroupInfo> list = registry.ListGroups();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "Alpha");
  EXPECT_EQ(list[0].members, 2u);
  EXPECT_EQ(list[0].topic, "");
  EXPECT_EQ(list[1].name, "beta");
  EXPECT_EQ(list[1].members, 1u);
  EXPECT_EQ(list[1].topic, "bees");
  EXPECT_EQ(list[1].modes, kModeTopicLocked);
  EXPECT_EQ(list[2].name, "gamma");
  EXPECT_EQ(list[2].members, 1u);
  EXPECT_EQ(list[2].modes, 0);
  EXPECT_LE(list[0].created, absl::Now());
  EXPECT_FALSE(registry.FindGroup("delta").has_value());
}

TEST(GroupRegistryTest, PersonCountAndItsMaximum) {
  GroupRegistry registry;
  EXPECT_EQ(registry.person_count(), 0u);
  EXPECT_EQ(registry.max_person_count(), 0u);
  ASSERT_TRUE(registry.ClaimName("a", LinePerson(0)).ok());
  ASSERT_TRUE(registry.ClaimName("b", IrcPerson(1, "b")).ok());
  ASSERT_TRUE(registry.ClaimName("c", LinePerson(2)).ok());
  EXPECT_FALSE(registry.ClaimName("C", LinePerson(2)).ok());
  EXPECT_EQ(registry.person_count(), 3u);
  EXPECT_EQ(registry.max_person_count(), 3u);
  // Members in no group count too (a registered IRC user).
  EXPECT_EQ(registry.group_count(), 0u);
  registry.ReleaseName("a");
  registry.ReleaseName("b");
  EXPECT_EQ(registry.person_count(), 1u);
  EXPECT_EQ(registry.max_person_count(), 3u);
  ASSERT_TRUE(registry.ClaimName("d", LinePerson(0)).ok());
  EXPECT_EQ(registry.person_count(), 2u);
  EXPECT_EQ(registry.max_person_count(), 3u);
  // A rename changes neither.
  ASSERT_TRUE(registry.Rename("d", "e", 0, NoAnnounceMany).ok());
  EXPECT_EQ(registry.person_count(), 2u);
  for (const char* n : {"f", "g"}) {
    ASSERT_TRUE(registry.ClaimName(n, LinePerson(0)).ok());
  }
  EXPECT_EQ(registry.max_person_count(), 4u);
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
        if (!registry.ClaimName(names.back(), LinePerson(worker)).ok()) {
          ++failures;
          continue;
        }
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
      const std::vector<std::string> listed = Names(registry, *group);
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
        registry.ReleaseName(name);
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
  EXPECT_EQ(registry.person_count(), 0u);
  EXPECT_GE(registry.max_person_count(), size_t{kNamesPerRound});
  for (int i = 0; i < kGroups; ++i) {
    EXPECT_EQ(members[i], 0) << i;
    for (int w = 0; w < kThreads; ++w) EXPECT_EQ(on_worker[i][w], 0);
  }
}

}  // namespace
}  // namespace chatd
