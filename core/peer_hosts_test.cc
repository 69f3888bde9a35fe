#include "core/peer_hosts.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/chat_event.h"
#include "core/chat_shard.h"
#include "core/cluster_wire.h"
#include "core/group_registry.h"
#include "core/protocol.h"
#include "core/queued_transport.h"
#include "core/wire_class.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chatd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::string_view kSelf = "alpha.00000000000000a0";
constexpr absl::string_view kPeer = "beta.00000000000000b0";

void NoAnnounce(const Group&, uint64_t, uint64_t) {}

class FakeReplies final : public PeerHosts::Replies {
 public:
  void AskSnapshot(absl::string_view origin) override {
    asked.push_back(std::string(origin));
  }
  void SendSnapshot() override { ++sent; }

  std::vector<std::string> asked;
  int sent = 0;
};

ClusterPerson Person(absl::string_view name, int64_t claimed_us,
                     std::vector<ClusterPerson::GroupFlags> groups = {}) {
  ClusterPerson person;
  person.name = name;
  person.claimed_us = claimed_us;
  person.groups = std::move(groups);
  return person;
}

ChatEvent Said(absl::string_view from, absl::string_view group,
               absl::string_view text) {
  ChatEvent event;
  event.kind = ChatEvent::Kind::kMessage;
  event.source = EventSource{from, from, kLineHost};
  event.group = group;
  event.text = text;
  return event;
}

// A private message: no group, a target.
ChatEvent SaidTo(absl::string_view from, absl::string_view to,
                 absl::string_view text) {
  ChatEvent event = Said(from, "", text);
  event.target = to;
  return event;
}

std::string EventBody(const ChatEvent& event) {
  return EncodeEvent(event, EventStamp{absl::Now(), ""});
}

std::string LineOf(const ShardPost& post) {
  const PayloadRef& p = post.rendition.For(WireClass::kLine);
  return p ? std::string(p->view()) : std::string();
}

class PeerHostsTest : public ::testing::Test {
 protected:
  PeerHostsTest() { Make(); }

  void Make() {
    PeerHosts::Options options;
    options.origin = std::string(kSelf);
    options.workers = 4;
    options.host_timeout = absl::Seconds(3);
    options.ask_interval = absl::Milliseconds(500);
    peers_.emplace(options, &registry_, &transport_, &replies_);
  }

  // A local line member `name` (id `id`) on worker `w` in `group`.
  void Local(absl::string_view name, absl::string_view group, int w,
             uint64_t id) {
    if (!registry_.FindRecipient(name).has_value()) {
      GroupRegistry::Person person;
      person.member_id = id;
      person.worker = w;
      ASSERT_TRUE(registry_.ClaimName(name, person).ok()) << name;
    }
    ASSERT_TRUE(registry_.Join(group, name, w, NoAnnounce).ok()) << name;
  }

  // Syncs kPeer with a snapshot numbered `seq`: bob in cooking.
  void SyncPeer(uint64_t seq = 10) {
    peers_->OnPresence(kPeer, seq,
                       EncodeSnapshot({Person("bob", 100, {{"cooking", 0}})}),
                       t0_);
  }

  uint64_t GroupId(absl::string_view group) {
    // Through a member's route: the group's id as the registry has it.
    const auto route = registry_.RouteFromRemote(1, group, "bob");
    return route.has_value() ? route->group_id : 0;
  }

  const absl::Time t0_ = absl::FromUnixSeconds(1'700'000'000);
  GroupRegistry registry_;
  QueuedTransport transport_;
  FakeReplies replies_;
  std::optional<PeerHosts> peers_;
};

TEST_F(PeerHostsTest, PresenceBeforeSnapshotIsIgnoredAndAsksRateLimited) {
  peers_->OnPresence(kPeer, 1, EncodeClaim(Person("bob", 100)), t0_);
  EXPECT_FALSE(registry_.FindRecipient("bob").has_value());
  EXPECT_THAT(replies_.asked, ElementsAre(std::string(kPeer)));
  EXPECT_EQ(peers_->stats().hosts, 0);
  EXPECT_EQ(peers_->stats().received, 1u);

  peers_->OnPresence(kPeer, 2, EncodeClaim(Person("eve", 100)),
                     t0_ + absl::Milliseconds(100));
  EXPECT_FALSE(registry_.FindRecipient("eve").has_value());
  EXPECT_EQ(replies_.asked.size(), 1u);

  peers_->OnPresence(kPeer, 3, EncodeClaim(Person("eve", 100)),
                     t0_ + absl::Milliseconds(600));
  EXPECT_EQ(replies_.asked.size(), 2u);
  EXPECT_EQ(peers_->stats().hosts, 0);
  EXPECT_TRUE(transport_.empty());
}

TEST_F(PeerHostsTest, OwnPresenceEchoIsIgnored) {
  peers_->OnPresence(
      kSelf, 1, EncodeSnapshot({Person("bob", 100, {{"cooking", 0}})}), t0_);
  EXPECT_FALSE(registry_.FindRecipient("bob").has_value());
  EXPECT_EQ(peers_->stats().hosts, 0);
  EXPECT_THAT(replies_.asked, IsEmpty());
}

TEST_F(PeerHostsTest, SnapshotSyncsThenDeltasApplyInOrder) {
  Local("carol", "cooking", 2, 21);
  SyncPeer(10);
  EXPECT_EQ(peers_->stats().hosts, 1);
  EXPECT_THAT(replies_.asked, IsEmpty());
  const auto bob = registry_.FindRecipient("bob");
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->host, 1);
  EXPECT_EQ(peers_->OriginOf(bob->host), kPeer);
  EXPECT_EQ(peers_->OriginOf(0), kSelf);
  std::vector<std::string> names;
  for (const auto& m : registry_.Members("cooking")) names.push_back(m.name);
  EXPECT_THAT(names, ElementsAre("bob", "carol"));
  // bob's join is announced to carol's worker.
  auto posts = transport_.Take();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].worker, 2);
  EXPECT_EQ(posts[0].post.kind, ShardPost::Kind::kGroup);
  EXPECT_EQ(posts[0].post.group_id, GroupId("cooking"));

  // Claim eve, then she joins cooking.
  peers_->OnPresence(kPeer, 11, EncodeClaim(Person("eve", 100)), t0_);
  ASSERT_TRUE(registry_.FindRecipient("eve").has_value());
  ChatEvent join;
  join.kind = ChatEvent::Kind::kJoin;
  join.source = EventSource{"eve", "eve", kLineHost};
  join.group = "cooking";
  peers_->OnPresence(kPeer, 12, EncodeJoin(join, kFlagVoice, 100), t0_);
  names.clear();
  for (const auto& m : registry_.Members("cooking")) names.push_back(m.name);
  EXPECT_THAT(names, ElementsAre("bob", "carol", "eve"));
  posts = transport_.Take();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].worker, 2);
  EXPECT_THAT(LineOf(posts[0].post), HasSubstr("eve"));

  // She leaves and gives her name up.
  ChatEvent part;
  part.kind = ChatEvent::Kind::kPart;
  part.source = join.source;
  part.group = "cooking";
  peers_->OnPresence(kPeer, 13, EncodeLeave(part, {"cooking"}), t0_);
  peers_->OnPresence(kPeer, 14, EncodeRelease("eve"), t0_);
  EXPECT_FALSE(registry_.FindRecipient("eve").has_value());
  posts = transport_.Take();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].worker, 2);
  EXPECT_EQ(posts[0].post.kind, ShardPost::Kind::kGroups);
  EXPECT_EQ(peers_->stats().gaps, 0u);
  EXPECT_EQ(peers_->stats().duplicates, 0u);
  EXPECT_EQ(peers_->stats().hosts, 1);
  EXPECT_THAT(replies_.asked, IsEmpty());
}

TEST_F(PeerHostsTest, PresenceGapUnsyncsAndAsks) {
  SyncPeer(10);
  peers_->OnPresence(kPeer, 13, EncodeClaim(Person("eve", 100)), t0_);
  EXPECT_EQ(peers_->stats().gaps, 2u);
  EXPECT_EQ(peers_->stats().hosts, 0);
  EXPECT_THAT(replies_.asked, ElementsAre(std::string(kPeer)));
  EXPECT_FALSE(registry_.FindRecipient("eve").has_value());
  // Unsynced: the next delta is ignored too.
  peers_->OnPresence(kPeer, 14, EncodeClaim(Person("fay", 100)),
                     t0_ + absl::Seconds(1));
  EXPECT_FALSE(registry_.FindRecipient("fay").has_value());
  EXPECT_EQ(replies_.asked.size(), 2u);
  // A new snapshot syncs it again.
  peers_->OnPresence(kPeer, 20,
                     EncodeSnapshot({Person("bob", 100), Person("fay", 100)}),
                     t0_ + absl::Seconds(1));
  EXPECT_EQ(peers_->stats().hosts, 1);
  EXPECT_TRUE(registry_.FindRecipient("fay").has_value());
  peers_->OnPresence(kPeer, 21, EncodeClaim(Person("gus", 100)),
                     t0_ + absl::Seconds(1));
  EXPECT_TRUE(registry_.FindRecipient("gus").has_value());
  EXPECT_EQ(peers_->stats().gaps, 2u);
}

TEST_F(PeerHostsTest, DuplicatePresenceIsDropped) {
  SyncPeer(10);
  peers_->OnPresence(kPeer, 11, EncodeClaim(Person("eve", 100)), t0_);
  peers_->OnPresence(kPeer, 11, EncodeRelease("eve"), t0_);
  peers_->OnPresence(kPeer, 5, EncodeRelease("bob"), t0_);
  EXPECT_EQ(peers_->stats().duplicates, 2u);
  EXPECT_TRUE(registry_.FindRecipient("eve").has_value());
  EXPECT_TRUE(registry_.FindRecipient("bob").has_value());
  EXPECT_EQ(peers_->stats().hosts, 1);
  EXPECT_EQ(peers_->stats().gaps, 0u);
  // In order again.
  peers_->OnPresence(kPeer, 12, EncodeRelease("eve"), t0_);
  EXPECT_FALSE(registry_.FindRecipient("eve").has_value());
}

TEST_F(PeerHostsTest, BadPresenceIsDropped) {
  SyncPeer(10);
  peers_->OnPresence(kPeer, 11, "\xff garbage", t0_);
  EXPECT_EQ(peers_->stats().dropped, 1u);
  EXPECT_EQ(peers_->stats().hosts, 1);
}

TEST_F(PeerHostsTest, SyncAskForUsOrEveryoneSendsSnapshot) {
  SyncPeer(10);
  peers_->OnPresence(kPeer, 11, EncodeSyncAsk(kSelf), t0_);
  EXPECT_EQ(replies_.sent, 1);
  peers_->OnPresence(kPeer, 12, EncodeSyncAsk("gamma.00000000000000c0"), t0_);
  EXPECT_EQ(replies_.sent, 1);
  peers_->OnPresence(kPeer, 13, EncodeSyncAsk("*"), t0_);
  EXPECT_EQ(replies_.sent, 2);
  // Even from a host we have no snapshot of yet.
  peers_->OnPresence("gamma.00000000000000c0", 1, EncodeSyncAsk(kSelf), t0_);
  EXPECT_EQ(replies_.sent, 3);
}

TEST_F(PeerHostsTest, GroupEventReachesEachWorkerWithMembersOnce) {
  Local("carol", "cooking", 1, 11);
  Local("dan", "cooking", 3, 31);
  Local("erin", "cooking", 3, 32);
  Local("zoe", "baking", 2, 22);
  SyncPeer(10);
  transport_.Take();
  const uint64_t id = GroupId("cooking");
  ASSERT_NE(id, 0u);

  peers_->OnEvent(kPeer, 1, EventBody(Said("bob", "cooking", "hello all")));
  auto posts = transport_.Take();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].worker, 1);
  EXPECT_EQ(posts[1].worker, 3);
  for (const auto& p : posts) {
    EXPECT_EQ(p.post.kind, ShardPost::Kind::kGroup);
    EXPECT_EQ(p.post.group_id, id);
    EXPECT_EQ(p.post.origin, -1);
    EXPECT_THAT(LineOf(p.post), HasSubstr("hello all"));
    EXPECT_THAT(LineOf(p.post), HasSubstr("bob"));
  }
  EXPECT_EQ(posts[0].post.epoch, posts[1].post.epoch);

  // Not a member of cooking on its host (as known here): dropped.
  peers_->OnEvent(kPeer, 2, EventBody(Said("mallory", "cooking", "spam")));
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(peers_->stats().dropped, 1u);
  // A local name is no remote member either.
  peers_->OnEvent(kPeer, 3, EventBody(Said("carol", "cooking", "spoof")));
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(peers_->stats().dropped, 2u);

  // Duplicates by the group's sequence number.
  peers_->OnEvent(kPeer, 3, EventBody(Said("bob", "cooking", "again")));
  peers_->OnEvent(kPeer, 1, EventBody(Said("bob", "cooking", "again")));
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(peers_->stats().duplicates, 2u);

  // A gap: counted, and the message still delivered.
  peers_->OnEvent(kPeer, 7, EventBody(Said("bob", "Cooking", "later")));
  EXPECT_EQ(peers_->stats().gaps, 3u);
  posts = transport_.Take();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_THAT(LineOf(posts[0].post), HasSubstr("later"));
}

TEST_F(PeerHostsTest, BatchIsDeliveredInOrderUnderOneNumber) {
  Local("carol", "cooking", 1, 11);
  SyncPeer(10);
  transport_.Take();
  std::string batch;
  for (absl::string_view text : {"one", "two", "three"}) {
    AppendEvent(EventBody(Said("bob", "cooking", text)), &batch);
  }
  // A stranger's message in the batch is dropped alone.
  AppendEvent(EventBody(Said("mallory", "cooking", "spam")), &batch);
  // So is one for another group: the number is cooking's.
  AppendEvent(EventBody(Said("bob", "baking", "elsewhere")), &batch);
  AppendEvent(EventBody(Said("bob", "COOKING", "four")), &batch);
  const uint64_t received = peers_->stats().received;
  peers_->OnEvent(kPeer, 1, batch);
  auto posts = transport_.Take();
  ASSERT_EQ(posts.size(), 4u);
  const char* want[] = {"one", "two", "three", "four"};
  for (size_t i = 0; i < posts.size(); ++i) {
    EXPECT_EQ(posts[i].worker, 1);
    EXPECT_THAT(LineOf(posts[i].post), HasSubstr(want[i]));
  }
  EXPECT_EQ(peers_->stats().dropped, 2u);
  EXPECT_EQ(peers_->stats().received, received + 1);

  // The batch again, or any message under its number: a duplicate.
  peers_->OnEvent(kPeer, 1, batch);
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(peers_->stats().duplicates, 1u);
  // The next number follows without a gap, whatever the batch held.
  peers_->OnEvent(kPeer, 2, EventBody(Said("bob", "cooking", "five")));
  EXPECT_EQ(transport_.Take().size(), 1u);
  EXPECT_EQ(peers_->stats().gaps, 0u);
}

TEST_F(PeerHostsTest, PrivateBatchIsDropped) {
  Local("carol", "cooking", 1, 11);
  SyncPeer(10);
  transport_.Take();
  std::string batch;
  for (int i = 0; i < 2; ++i) {
    AppendEvent(EventBody(SaidTo("bob", "carol", "psst")), &batch);
  }
  peers_->OnEvent(kPeer, 0, batch);
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(peers_->stats().dropped, 2u);
}

TEST_F(PeerHostsTest, GroupEventFromUnsyncedHostIsDropped) {
  Local("carol", "cooking", 1, 11);
  peers_->OnEvent(kPeer, 1, EventBody(Said("bob", "cooking", "hi")));
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(peers_->stats().dropped, 1u);
}

TEST_F(PeerHostsTest, PrivateEventGoesToTheRecipientsWorker) {
  Local("carol", "cooking", 2, 77);
  SyncPeer(10);
  transport_.Take();
  ChatEvent event = SaidTo("bob", "Carol", "psst");
  peers_->OnEvent(kPeer, 0, EventBody(event));
  auto posts = transport_.Take();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].worker, 2);
  EXPECT_EQ(posts[0].post.kind, ShardPost::Kind::kDirect);
  EXPECT_EQ(posts[0].post.member_id, 77u);
  EXPECT_THAT(LineOf(posts[0].post), HasSubstr("psst"));

  // To nobody here, or to a remote member: dropped.
  event.target = "nobody";
  peers_->OnEvent(kPeer, 0, EventBody(event));
  event.target = "bob";
  peers_->OnEvent(kPeer, 0, EventBody(event));
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(peers_->stats().dropped, 2u);

  // From a name its host does not hold (a stranger, or a member here), or
  // from a host not in sync: dropped.
  event.target = "carol";
  event.source = EventSource{"mallory", "mallory", kLineHost};
  peers_->OnEvent(kPeer, 0, EventBody(event));
  event.source = EventSource{"carol", "carol", kLineHost};
  peers_->OnEvent(kPeer, 0, EventBody(event));
  event.source = EventSource{"bob", "bob", kLineHost};
  peers_->OnEvent("elsewhere.00000000000000aa", 0, EventBody(event));
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(peers_->stats().dropped, 5u);
}

TEST_F(PeerHostsTest, SilentHostIsDroppedBySweep) {
  Local("carol", "cooking", 2, 21);
  Local("dan", "baking", 3, 31);
  SyncPeer(10);
  transport_.Take();
  ASSERT_EQ(peers_->stats().hosts, 1);

  peers_->Sweep(t0_);
  peers_->Sweep(t0_ + absl::Milliseconds(1500));
  peers_->Sweep(t0_ + absl::Seconds(3));  // Silent for exactly the timeout.
  EXPECT_TRUE(registry_.FindRecipient("bob").has_value());
  EXPECT_TRUE(transport_.empty());

  peers_->Sweep(t0_ + absl::Seconds(4));
  EXPECT_FALSE(registry_.FindRecipient("bob").has_value());
  EXPECT_EQ(peers_->stats().hosts, 0);
  std::vector<std::string> names;
  for (const auto& m : registry_.Members("cooking")) names.push_back(m.name);
  EXPECT_THAT(names, ElementsAre("carol"));
  auto posts = transport_.Take();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].worker, 2);
  EXPECT_EQ(posts[0].post.kind, ShardPost::Kind::kGroups);
  ASSERT_NE(posts[0].post.groups, nullptr);
  ASSERT_EQ(posts[0].post.groups->size(), 1u);
  EXPECT_THAT(LineOf(posts[0].post), HasSubstr("bob"));

  // Its events are dropped now.
  peers_->OnEvent(kPeer, 1, EventBody(Said("bob", "cooking", "hi")));
  EXPECT_TRUE(transport_.empty());
}

TEST_F(PeerHostsTest, LateSweepDropsNobody) {
  Local("carol", "cooking", 2, 21);
  SyncPeer(10);
  transport_.Take();
  peers_->Sweep(t0_);
  // We were stopped for 10 s: the silence was ours.
  peers_->Sweep(t0_ + absl::Seconds(10));
  EXPECT_TRUE(registry_.FindRecipient("bob").has_value());
  peers_->Sweep(t0_ + absl::Seconds(11));
  peers_->Sweep(t0_ + absl::Seconds(12));
  EXPECT_TRUE(registry_.FindRecipient("bob").has_value());
  EXPECT_EQ(peers_->stats().hosts, 1);
  EXPECT_TRUE(transport_.empty());
  // Counted from the late sweep on.
  peers_->Sweep(t0_ + absl::Seconds(13));
  peers_->Sweep(t0_ + absl::Seconds(14));
  EXPECT_FALSE(registry_.FindRecipient("bob").has_value());
}

TEST_F(PeerHostsTest, HeardHostIsNotDropped) {
  SyncPeer(10);
  peers_->Sweep(t0_);
  peers_->Sweep(t0_ + absl::Seconds(1));
  peers_->OnPresence(kPeer, 11, EncodeHeartbeat("beta", 10),
                     t0_ + absl::Seconds(2));
  peers_->Sweep(t0_ + absl::Seconds(2));
  peers_->Sweep(t0_ + absl::Seconds(3));
  peers_->Sweep(t0_ + absl::Seconds(4));
  EXPECT_TRUE(registry_.FindRecipient("bob").has_value());
  EXPECT_EQ(peers_->stats().hosts, 1);
}

TEST_F(PeerHostsTest, LinkLostAndRestoredTellEveryWorkerOnce) {
  peers_->LinkLost();
  peers_->LinkLost();
  auto posts = transport_.Take();
  ASSERT_EQ(posts.size(), 4u);
  for (int w = 0; w < 4; ++w) {
    EXPECT_EQ(posts[w].worker, w);
    EXPECT_EQ(posts[w].post.kind, ShardPost::Kind::kEveryone);
    EXPECT_THAT(LineOf(posts[w].post), HasSubstr("lost"));
    const PayloadRef& irc = posts[w].post.rendition.For(WireClass::kIrcPlain);
    ASSERT_TRUE(irc);
    EXPECT_THAT(std::string(irc->view()), HasSubstr("NOTICE"));
  }
  peers_->LinkRestored(t0_);
  peers_->LinkRestored(t0_);
  posts = transport_.Take();
  ASSERT_EQ(posts.size(), 4u);
  for (int w = 0; w < 4; ++w) {
    EXPECT_EQ(posts[w].worker, w);
    EXPECT_EQ(posts[w].post.kind, ShardPost::Kind::kEveryone);
    EXPECT_THAT(LineOf(posts[w].post), HasSubstr("restored"));
  }
}

TEST_F(PeerHostsTest, NobodyIsDroppedWhileTheLinkIsDown) {
  SyncPeer(10);
  peers_->Sweep(t0_);
  peers_->LinkLost();
  for (int s = 1; s <= 10; ++s) peers_->Sweep(t0_ + absl::Seconds(s));
  EXPECT_TRUE(registry_.FindRecipient("bob").has_value());
  peers_->LinkRestored(t0_ + absl::Seconds(10));
  peers_->Sweep(t0_ + absl::Seconds(11));
  EXPECT_TRUE(registry_.FindRecipient("bob").has_value());
  EXPECT_EQ(peers_->stats().hosts, 1);
}

TEST_F(PeerHostsTest, LocalMemberLosingNameRaceIsEvicted) {
  Local("dave", "cooking", 3, 99);
  SyncPeer(10);
  transport_.Take();
  // An older claim of the same name from the peer.
  peers_->OnPresence(kPeer, 11, EncodeClaim(Person("Dave", 1)), t0_);
  auto posts = transport_.Take();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].worker, 3);
  EXPECT_EQ(posts[0].post.kind, ShardPost::Kind::kEvict);
  EXPECT_EQ(posts[0].post.member_id, 99u);
  ASSERT_TRUE(posts[0].post.notice);
  EXPECT_THAT(std::string(posts[0].post.notice->view()),
              HasSubstr(std::string(kErrorNameTaken)));
  // A newer claim evicts nobody.
  Local("ed", "cooking", 1, 5);
  transport_.Take();
  peers_->OnPresence(
      kPeer, 12,
      EncodeClaim(
          Person("ed", absl::ToUnixMicros(absl::Now() + absl::Hours(1)))),
      t0_);
  EXPECT_TRUE(transport_.empty());
  EXPECT_EQ(registry_.FindRecipient("ed")->host, 0);
}

}  // namespace
}  // namespace chatd
