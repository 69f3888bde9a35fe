#include "core/session.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/chat_shard.h"
#include "core/group_registry.h"
#include "core/line_session.h"
#include "core/member.h"
#include "core/protocol.h"
#include "core/recording_output.h"
#include "core/wire_class.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/payload.h"

namespace chatd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr size_t kMaxLine = 64;
constexpr int kWorkers = 3;


// Records every cross-worker post instead of carrying it.
class FakeTransport final : public ChatShard::Transport {
 public:
  struct Posted {
    int worker;
    ShardPost post;
  };

  void Post(int worker, ShardPost post) override {
    posts_.push_back({worker, std::move(post)});
  }

  const std::vector<Posted>& posts() const { return posts_; }
  std::vector<int> workers() const {
    std::vector<int> out;
    for (const Posted& p : posts_) out.push_back(p.worker);
    return out;
  }
  void Clear() { posts_.clear(); }

 private:
  std::vector<Posted> posts_;
};

// One client connection: its output and its session.
struct Client {
  explicit Client(ChatShard* shard, const SessionLimits& limits = Limits())
      : session(shard, &output, limits) {}
  ~Client() { session.End(); }

  static SessionLimits Limits() {
    SessionLimits limits;
    limits.max_line_bytes = kMaxLine;
    return limits;
  }

  // Input arriving at `now`; rate limits are off unless a test sets them.
  // True while the session goes on.
  bool Input(absl::string_view bytes,
             absl::Time now = absl::FromUnixSeconds(1000)) {
    return InputState(bytes, now) != Session::InputState::kOver;
  }
  Session::InputState InputState(absl::string_view bytes,
                                 absl::Time now = absl::FromUnixSeconds(1000)) {
    return session.OnInput(bytes, now);
  }

  std::vector<std::string> lines() const { return output.lines(); }

  RecordingOutput output;
  LineSession session;
};

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    for (int w = 0; w < kWorkers; ++w) {
      shards_.push_back(
          std::make_unique<ChatShard>(w, &registry_, &transport_));
    }
  }

  ~SessionTest() override {
    // Sessions must end before the shards and registry go.
    clients_.clear();
  }

  ChatShard& shard(int worker) { return *shards_[worker]; }

  std::vector<std::string> MemberNames(const Group& group) const {
    std::vector<std::string> names;
    for (const GroupRegistry::MemberInfo& m : registry_.Members(group)) {
      names.push_back(m.name);
    }
    return names;
  }

  Client* NewClient(int worker,
                    const SessionLimits& limits = Client::Limits()) {
    clients_.push_back(std::make_unique<Client>(&shard(worker), limits));
    return clients_.back().get();
  }

  // A client on `worker` that has joined; its output and all posts are
  // cleared.
  Client* JoinedClient(int worker, absl::string_view group,
                       absl::string_view name) {
    Client* c = NewClient(worker);
    EXPECT_TRUE(c->Input(absl::StrCat("JOIN ", group, " ", name, "\n")));
    EXPECT_TRUE(c->session.joined());
    DeliverPosts();
    ClearAll();
    return c;
  }

  // "alice", joined to "g" on worker 0 at time 5000 s, limited to `rate`
  // lines a second in bursts of `burst`; output and posts cleared.
  Client* LimitedClient(double rate, double burst) {
    SessionLimits limits = Client::Limits();
    limits.max_msgs_per_sec = rate;
    limits.max_burst = burst;
    Client* c = NewClient(0, limits);
    EXPECT_TRUE(c->Input("JOIN g alice\n", absl::FromUnixSeconds(5000)));
    ClearAll();
    return c;
  }

  // Carries every recorded post to its target shard, like the mailbox would,
  // and forgets them.
  void DeliverPosts() {
    std::vector<FakeTransport::Posted> posts(transport_.posts().begin(),
                                             transport_.posts().end());
    transport_.Clear();
    for (const FakeTransport::Posted& p : posts) {
      shard(p.worker).Deliver(p.post);
    }
  }

  // Lets every post arrive, as the workers' mailboxes would, then forgets
  // all output. (Posts are never dropped: the shard counts its own.)
  void ClearAll() {
    DeliverPosts();
    for (auto& c : clients_) c->output.Clear();
  }

  GroupRegistry registry_;
  FakeTransport transport_;
  std::vector<std::unique_ptr<ChatShard>> shards_;
  std::vector<std::unique_ptr<Client>> clients_;
};

// --- Joining ----------------------------------------------------------------

TEST_F(SessionTest, JoinWelcomesTheJoiner) {
  Client* alice = NewClient(0);
  EXPECT_FALSE(alice->session.joined());
  EXPECT_EQ(alice->session.name(), "");
  EXPECT_EQ(alice->session.group(), nullptr);

  EXPECT_TRUE(alice->Input("JOIN cooking alice\n"));
  EXPECT_THAT(alice->lines(),
              ElementsAre("* you joined cooking as alice (1 online)\n"));
  EXPECT_TRUE(alice->session.joined());
  EXPECT_EQ(alice->session.name(), "alice");
  ASSERT_NE(alice->session.group(), nullptr);
  EXPECT_EQ(alice->session.group()->name(), "cooking");
  EXPECT_THAT(transport_.posts(), IsEmpty());
  EXPECT_EQ(registry_.group_count(), 1u);
  EXPECT_EQ(shard(0).local_member_count(alice->session.group()->id()), 1u);
}

TEST_F(SessionTest, JoinWithCrLfAndSplitAcrossChunks) {
  Client* alice = NewClient(1);
  EXPECT_TRUE(alice->Input("JO"));
  EXPECT_TRUE(alice->Input("IN cook"));
  EXPECT_TRUE(alice->Input("ing alice\r"));
  EXPECT_THAT(alice->lines(), IsEmpty());
  EXPECT_FALSE(alice->session.joined());
  EXPECT_TRUE(alice->Input("\n"));
  EXPECT_THAT(alice->lines(),
              ElementsAre("* you joined cooking as alice (1 online)\n"));
}

TEST_F(SessionTest, JoinIsAnnouncedToLocalMembers) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = NewClient(0);
  EXPECT_TRUE(bob->Input("JOIN g bob\n"));
  EXPECT_THAT(bob->lines(), ElementsAre("* you joined g as bob (2 online)\n"));
  // Announcements reach this worker's members through its own mailbox, so
  // they stay in order with those posted from other workers.
  EXPECT_THAT(alice->lines(), IsEmpty());
  EXPECT_THAT(transport_.workers(), ElementsAre(0));
  DeliverPosts();
  EXPECT_THAT(alice->lines(), ElementsAre("* bob has joined\n"));
}

TEST_F(SessionTest, JoinIsPostedOncePerOtherWorkerWithMembers) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  Client* erin = JoinedClient(2, "other", "erin");

  Client* carol = NewClient(1);
  EXPECT_TRUE(carol->Input("JOIN g carol\n"));
  EXPECT_THAT(carol->lines(),
              ElementsAre("* you joined g as carol (3 online)\n"));
  // Two members on worker 0, one post to it; worker 2 has none of "g".
  ASSERT_EQ(transport_.posts().size(), 1u);
  const FakeTransport::Posted& post = transport_.posts()[0];
  EXPECT_EQ(post.worker, 0);
  EXPECT_EQ(post.post.group_id, carol->session.group()->id());
  EXPECT_EQ(post.post.rendition.For(WireClass::kLine)->view(),
            "* carol has joined\n");
  const Payload* posted = post.post.rendition.For(WireClass::kLine).get();
  EXPECT_THAT(alice->lines(), IsEmpty());  // Not until delivered.

  DeliverPosts();
  EXPECT_THAT(alice->lines(), ElementsAre("* carol has joined\n"));
  EXPECT_THAT(bob->lines(), ElementsAre("* carol has joined\n"));
  EXPECT_EQ(alice->output.sent()[0].get(), posted);
  EXPECT_EQ(bob->output.sent()[0].get(), posted);
  EXPECT_THAT(erin->lines(), IsEmpty());
  EXPECT_THAT(carol->lines(),
              ElementsAre("* you joined g as carol (3 online)\n"));
}

TEST_F(SessionTest, OnlineCountIncludesMembersOnAllWorkers) {
  JoinedClient(0, "g", "a");
  JoinedClient(1, "g", "b");
  JoinedClient(2, "h", "x");
  Client* c = NewClient(2);
  EXPECT_TRUE(c->Input("JOIN g c\n"));
  EXPECT_THAT(c->lines(), ElementsAre("* you joined g as c (3 online)\n"));
}

TEST_F(SessionTest, JoinThenLinesInTheSameChunk) {
  Client* bob = JoinedClient(0, "g", "bob");
  Client* alice = NewClient(0);
  EXPECT_TRUE(alice->Input("JOIN g alice\nhello\n/who\n"));
  EXPECT_THAT(alice->lines(),
              ElementsAre("* you joined g as alice (2 online)\n",
                          "* online in g: alice, bob\n"));
  // The message queues behind the announcement still in flight.
  EXPECT_THAT(bob->lines(), IsEmpty());
  DeliverPosts();
  EXPECT_THAT(bob->lines(),
              ElementsAre("* alice has joined\n", "alice: hello\n"));
}

// --- JOIN errors ------------------------------------------------------------

struct JoinErrorCase {
  std::string line;
  absl::string_view reason;
};

class SessionJoinErrorTest
    : public SessionTest,
      public ::testing::WithParamInterface<JoinErrorCase> {};

TEST_P(SessionJoinErrorTest, ClosesWithTheExactError) {
  Client* member = JoinedClient(0, "cooking", "alice");
  Client* c = NewClient(0);
  EXPECT_FALSE(c->Input(GetParam().line + "\n"));
  EXPECT_THAT(c->lines(),
              ElementsAre(absl::StrCat("ERROR ", GetParam().reason, "\n")));
  EXPECT_FALSE(c->session.joined());
  EXPECT_EQ(registry_.group_count(), 1u);
  EXPECT_THAT(member->lines(), IsEmpty());
  EXPECT_THAT(transport_.posts(), IsEmpty());
  // Over: further input is refused and answered with nothing.
  EXPECT_FALSE(c->Input("JOIN cooking zed\n"));
  EXPECT_THAT(c->lines(),
              ElementsAre(absl::StrCat("ERROR ", GetParam().reason, "\n")));
  EXPECT_FALSE(c->session.joined());
}

INSTANTIATE_TEST_SUITE_P(
    AllReasons, SessionJoinErrorTest,
    ::testing::Values(
        JoinErrorCase{"JoiN a b", kErrorExpectedJoin},
        JoinErrorCase{"Not a valid first message", kErrorExpectedJoin},
        JoinErrorCase{"JOIN cooking", kErrorExpectedJoin},
        JoinErrorCase{"JOIN  a b", kErrorExpectedJoin},
        JoinErrorCase{"JOIN a b ", kErrorExpectedJoin},
        JoinErrorCase{"JOIN a b c", kErrorExpectedJoin},
        JoinErrorCase{"", kErrorExpectedJoin},
        JoinErrorCase{"JOIN\ta\tb", kErrorExpectedJoin},
        JoinErrorCase{"/who", kErrorExpectedJoin},
        JoinErrorCase{"JOIN " + std::string(33, 'g') + " bob",
                      kErrorInvalidGroup},
        JoinErrorCase{"JOIN co!ok bob", kErrorInvalidGroup},
        JoinErrorCase{"JOIN bad! bad!", kErrorInvalidGroup},
        JoinErrorCase{"JOIN cooking " + std::string(33, 'n'),
                      kErrorInvalidName},
        JoinErrorCase{"JOIN cooking b\xc3\xb6"
                      "b",
                      kErrorInvalidName},
        JoinErrorCase{std::string("JOIN cooking b\0b", 16), kErrorInvalidName},
        JoinErrorCase{"JOIN cooking b@d", kErrorInvalidName},
        JoinErrorCase{"JOIN cooking b!b", kErrorInvalidName},
        JoinErrorCase{"JOIN cooking #b", kErrorInvalidName},
        JoinErrorCase{"JOIN cooking b:b", kErrorInvalidName},
        JoinErrorCase{"JOIN cooking b,b", kErrorInvalidName},
        JoinErrorCase{"JOIN co[ok bob", kErrorInvalidGroup},
        JoinErrorCase{"JOIN #cooking bob", kErrorInvalidGroup},
        JoinErrorCase{"JOIN cooking alice", kErrorNameTaken},
        JoinErrorCase{"JOIN cooking ALICE", kErrorNameTaken},
        JoinErrorCase{"JOIN other Alice", kErrorNameTaken}));

TEST_F(SessionTest, NameTakenOnAnotherWorker) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* other = NewClient(1);
  EXPECT_FALSE(other->Input("JOIN g alice\n"));
  EXPECT_THAT(other->lines(), ElementsAre("ERROR name taken\n"));
  EXPECT_FALSE(other->session.joined());
  EXPECT_THAT(transport_.posts(), IsEmpty());
  EXPECT_THAT(alice->lines(), IsEmpty());
  EXPECT_EQ(alice->session.group()->worker_mask(), uint64_t{1});
}

TEST_F(SessionTest, LinesAfterAFailedJoinInTheSameChunkAreIgnored) {
  Client* bob = JoinedClient(0, "g", "bob");
  Client* c = NewClient(0);
  EXPECT_FALSE(c->Input("JOIN bad!\nJOIN g alice\nhello\n"));
  EXPECT_THAT(c->lines(), ElementsAre("ERROR expected JOIN <group> <name>\n"));
  EXPECT_FALSE(c->session.joined());
  EXPECT_THAT(bob->lines(), IsEmpty());
}

// --- Line too long ----------------------------------------------------------

TEST_F(SessionTest, LineTooLongBeforeJoinUnterminated) {
  Client* c = NewClient(0);
  EXPECT_TRUE(c->Input(std::string(kMaxLine, 'J')));
  EXPECT_THAT(c->lines(), IsEmpty());
  EXPECT_FALSE(c->Input("J"));
  EXPECT_THAT(c->lines(), ElementsAre("ERROR line too long\n"));
  EXPECT_FALSE(c->Input("\n"));
  EXPECT_THAT(c->lines(), ElementsAre("ERROR line too long\n"));
}

TEST_F(SessionTest, LineTooLongBeforeJoinTerminated) {
  Client* c = NewClient(0);
  EXPECT_FALSE(c->Input("JOIN g " + std::string(kMaxLine - 7 + 1, 'a') + "\n"));
  EXPECT_THAT(c->lines(), ElementsAre("ERROR line too long\n"));
  EXPECT_FALSE(c->session.joined());
  EXPECT_EQ(registry_.group_count(), 0u);
}

TEST_F(SessionTest, LineTooLongAfterJoin) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  EXPECT_FALSE(alice->Input(std::string(kMaxLine + 1, 'x') + "\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("ERROR line too long\n"));
  EXPECT_THAT(transport_.posts(), IsEmpty());
  DeliverPosts();
  EXPECT_THAT(bob->lines(), IsEmpty());
  // Still a member until the connection ends it.
  EXPECT_TRUE(alice->session.joined());
  EXPECT_FALSE(alice->Input("hello\n"));
  EXPECT_THAT(transport_.posts(), IsEmpty());

  alice->session.End();
  EXPECT_FALSE(alice->session.joined());
  DeliverPosts();
  EXPECT_THAT(bob->lines(), ElementsAre("* alice has left\n"));
}

TEST_F(SessionTest, ExactLimitLineIsAMessage) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  const std::string text(kMaxLine, 'x');
  EXPECT_TRUE(alice->Input(text + "\r\n"));
  EXPECT_THAT(bob->lines(), ElementsAre("alice: " + text + "\n"));
  EXPECT_THAT(alice->lines(), IsEmpty());
}

// --- Messages ---------------------------------------------------------------

TEST_F(SessionTest, MessageGoesToOtherLocalMembersWithoutEcho) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  Client* carol = JoinedClient(0, "g", "carol");
  Client* dan = JoinedClient(0, "other", "dan");

  EXPECT_TRUE(alice->Input("hello there\n"));
  EXPECT_THAT(alice->lines(), IsEmpty());
  EXPECT_THAT(bob->lines(), ElementsAre("alice: hello there\n"));
  EXPECT_THAT(carol->lines(), ElementsAre("alice: hello there\n"));
  EXPECT_THAT(dan->lines(), IsEmpty());
  EXPECT_THAT(transport_.posts(), IsEmpty());
  // One payload for everyone.
  EXPECT_EQ(bob->output.sent()[0].get(), carol->output.sent()[0].get());
}

TEST_F(SessionTest, MessageIsPostedExactlyOncePerOtherWorkerWithMembers) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  // Three remote members on worker 1, none of "g" on worker 2.
  Client* c1 = JoinedClient(1, "g", "c1");
  Client* c2 = JoinedClient(1, "g", "c2");
  Client* c3 = JoinedClient(1, "g", "c3");
  Client* erin = JoinedClient(2, "other", "erin");

  EXPECT_TRUE(alice->Input("hi\n"));
  EXPECT_THAT(alice->lines(), IsEmpty());
  ASSERT_THAT(bob->lines(), ElementsAre("alice: hi\n"));
  ASSERT_EQ(transport_.posts().size(), 1u);
  const FakeTransport::Posted& post = transport_.posts()[0];
  EXPECT_EQ(post.worker, 1);
  EXPECT_EQ(post.post.group_id, alice->session.group()->id());
  EXPECT_EQ(post.post.rendition.For(WireClass::kLine)->view(), "alice: hi\n");
  // The very payload queued locally is the one posted.
  const Payload* payload = bob->output.sent()[0].get();
  EXPECT_EQ(post.post.rendition.For(WireClass::kLine).get(), payload);

  // Remote members get nothing until the post is delivered.
  EXPECT_THAT(c1->lines(), IsEmpty());
  DeliverPosts();
  for (Client* c : {c1, c2, c3}) {
    ASSERT_THAT(c->lines(), ElementsAre("alice: hi\n"));
    EXPECT_EQ(c->output.sent()[0].get(), payload);
  }
  EXPECT_THAT(erin->lines(), IsEmpty());
  EXPECT_THAT(alice->lines(), IsEmpty());
  EXPECT_THAT(bob->lines(), ElementsAre("alice: hi\n"));
}

TEST_F(SessionTest, MessageIsPostedToEachOtherWorkerOnce) {
  Client* alice = JoinedClient(1, "g", "alice");
  Client* a0 = JoinedClient(0, "g", "a0");
  Client* b0 = JoinedClient(0, "g", "b0");
  Client* a2 = JoinedClient(2, "g", "a2");
  Client* b2 = JoinedClient(2, "g", "b2");

  EXPECT_TRUE(alice->Input("yo\n"));
  // Alice is alone on worker 1: no local delivery, one post to 0 and to 2.
  EXPECT_THAT(alice->lines(), IsEmpty());
  ASSERT_EQ(transport_.posts().size(), 2u);
  EXPECT_THAT(transport_.workers(), ::testing::UnorderedElementsAre(0, 2));
  EXPECT_EQ(transport_.posts()[0].post.rendition.For(WireClass::kLine).get(),
            transport_.posts()[1].post.rendition.For(WireClass::kLine).get());
  const Payload* payload =
      transport_.posts()[0].post.rendition.For(WireClass::kLine).get();
  DeliverPosts();
  for (Client* c : {a0, b0, a2, b2}) {
    ASSERT_THAT(c->lines(), ElementsAre("alice: yo\n"));
    EXPECT_EQ(c->output.sent()[0].get(), payload);
  }
  EXPECT_THAT(alice->lines(), IsEmpty());
}

TEST_F(SessionTest, NoPostToAWorkerWhoseMembersLeft) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  Client* carol = JoinedClient(2, "g", "carol");
  bob->session.End();
  DeliverPosts();
  ClearAll();

  EXPECT_TRUE(alice->Input("still here?\n"));
  ASSERT_EQ(transport_.posts().size(), 1u);
  EXPECT_EQ(transport_.posts()[0].worker, 2);
  DeliverPosts();
  EXPECT_THAT(carol->lines(), ElementsAre("alice: still here?\n"));
  EXPECT_THAT(bob->lines(), IsEmpty());
}

TEST_F(SessionTest, PostForAGroupWithNoLocalMembersIsDropped) {
  Client* alice = JoinedClient(0, "g", "alice");
  const uint64_t id = alice->session.group()->id();
  const uint64_t epoch = alice->session.group()->epoch();
  auto post = [&](uint64_t group_id) {
    ShardPost p;
    p.kind = ShardPost::Kind::kGroup;
    p.origin = 2;
    p.group_id = group_id;
    p.epoch = epoch;
    p.rendition.by_class[static_cast<int>(WireClass::kLine)] =
        FormatMessage("x", "y");
    return p;
  };
  shard(1).Deliver(post(id));
  shard(0).Deliver(post(id + 1000));
  EXPECT_THAT(alice->lines(), IsEmpty());
  shard(0).Deliver(post(id));
  EXPECT_THAT(alice->lines(), ElementsAre("x: y\n"));
}

TEST_F(SessionTest, DoubleSlashSendsTheRestAsAMessage) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  EXPECT_TRUE(alice->Input("//x\n"));
  EXPECT_TRUE(alice->Input("//who is there\n"));
  EXPECT_THAT(bob->lines(),
              ElementsAre("alice: /x\n", "alice: /who is there\n"));
  EXPECT_THAT(alice->lines(), IsEmpty());
}

TEST_F(SessionTest, MessageKeepsLoneCrAndSpaces) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  EXPECT_TRUE(alice->Input("  a\rb  \r\n"));
  EXPECT_THAT(bob->lines(), ElementsAre("alice:   a\rb  \n"));
}

TEST_F(SessionTest, SecondJoinAfterJoiningIsAMessage) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  EXPECT_TRUE(alice->Input("JOIN other alice\n"));
  EXPECT_THAT(alice->lines(), IsEmpty());
  EXPECT_EQ(alice->session.group()->name(), "g");
  EXPECT_EQ(registry_.group_count(), 1u);
  DeliverPosts();
  EXPECT_THAT(bob->lines(), ElementsAre("alice: JOIN other alice\n"));
}

TEST_F(SessionTest, MessageBytesArePassedThrough) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  EXPECT_TRUE(alice->Input("caf\xc3\xa9 \xff\n"));
  EXPECT_THAT(bob->lines(), ElementsAre("alice: caf\xc3\xa9 \xff\n"));
}

// --- Commands ---------------------------------------------------------------

TEST_F(SessionTest, WhoListsEveryMemberSortedIncludingTheAsker) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  JoinedClient(2, "g", "Carol");
  JoinedClient(2, "g", "_z");
  JoinedClient(0, "other", "aaron");

  EXPECT_TRUE(alice->Input("/who\n"));
  EXPECT_TRUE(alice->Input("/who ignores these args\n"));
  EXPECT_THAT(alice->lines(),
              ElementsAre("* online in g: Carol, _z, alice, bob\n",
                          "* online in g: Carol, _z, alice, bob\n"));
  EXPECT_THAT(transport_.posts(), IsEmpty());
  DeliverPosts();
  EXPECT_THAT(bob->lines(), IsEmpty());
}

TEST_F(SessionTest, WhoWhenAlone) {
  Client* alice = JoinedClient(0, "solo", "alice");
  EXPECT_TRUE(alice->Input("/who\r\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("* online in solo: alice\n"));
}

TEST_F(SessionTest, QuitSaysByeAndEndsTheSession) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  EXPECT_FALSE(alice->Input("/quit\nthis is not sent\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("* bye\n"));
  EXPECT_THAT(bob->lines(), IsEmpty());
  EXPECT_FALSE(alice->Input("nor this\n"));
  EXPECT_THAT(bob->lines(), IsEmpty());
  EXPECT_THAT(alice->lines(), ElementsAre("* bye\n"));

  alice->session.End();
  DeliverPosts();
  EXPECT_THAT(bob->lines(), ElementsAre("* alice has left\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("* bye\n"));
}

TEST_F(SessionTest, QuitWithArguments) {
  Client* alice = JoinedClient(0, "g", "alice");
  EXPECT_FALSE(alice->Input("/quit see you\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("* bye\n"));
}

TEST_F(SessionTest, UnknownCommandIsAnErrorButTheSessionGoesOn) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  EXPECT_TRUE(alice->Input("/nick bobby\n"));
  EXPECT_TRUE(alice->Input("/\n"));
  EXPECT_TRUE(alice->Input("/WHO\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("ERROR unknown command /nick\n",
                                          "ERROR unknown command /\n",
                                          "ERROR unknown command /WHO\n"));
  EXPECT_THAT(transport_.posts(), IsEmpty());

  EXPECT_TRUE(alice->Input("still here\n"));
  DeliverPosts();
  EXPECT_THAT(bob->lines(), ElementsAre("alice: still here\n"));
  EXPECT_TRUE(alice->session.joined());
}

TEST_F(SessionTest, EmptyLinesAreIgnored) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  Client* carol = JoinedClient(1, "g", "carol");
  EXPECT_TRUE(alice->Input("\n\r\n"));
  EXPECT_TRUE(alice->Input("\n"));
  EXPECT_THAT(alice->lines(), IsEmpty());
  EXPECT_THAT(bob->lines(), IsEmpty());
  EXPECT_THAT(transport_.posts(), IsEmpty());
  DeliverPosts();
  EXPECT_THAT(carol->lines(), IsEmpty());
}

// --- Leaving ----------------------------------------------------------------

TEST_F(SessionTest, EndAnnouncesLeaveToLocalAndRemoteMembers) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  Client* c1 = JoinedClient(1, "g", "c1");
  Client* c2 = JoinedClient(1, "g", "c2");
  Client* erin = JoinedClient(2, "other", "erin");
  const uint64_t id = alice->session.group()->id();

  alice->session.End();
  EXPECT_FALSE(alice->session.joined());
  EXPECT_THAT(alice->lines(), IsEmpty());
  // One post per worker with members, this one included; one payload.
  ASSERT_EQ(transport_.posts().size(), 2u);
  EXPECT_THAT(transport_.workers(), UnorderedElementsAre(0, 1));
  EXPECT_EQ(transport_.posts()[0].post.group_id, id);
  EXPECT_EQ(transport_.posts()[0].post.rendition.For(WireClass::kLine).get(),
            transport_.posts()[1].post.rendition.For(WireClass::kLine).get());
  DeliverPosts();
  EXPECT_THAT(bob->lines(), ElementsAre("* alice has left\n"));
  EXPECT_THAT(c1->lines(), ElementsAre("* alice has left\n"));
  EXPECT_THAT(c2->lines(), ElementsAre("* alice has left\n"));
  EXPECT_THAT(erin->lines(), IsEmpty());
  EXPECT_EQ(shard(0).local_member_count(id), 1u);

  // The name is free again.
  Client* again = NewClient(2);
  EXPECT_TRUE(again->Input("JOIN g alice\n"));
  EXPECT_THAT(again->lines(),
              ElementsAre("* you joined g as alice (4 online)\n"));
}

TEST_F(SessionTest, EndIsIdempotent) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  Client* carol = JoinedClient(1, "g", "carol");
  alice->session.End();
  DeliverPosts();
  ClearAll();

  alice->session.End();
  alice->session.End();
  EXPECT_THAT(bob->lines(), IsEmpty());
  EXPECT_THAT(transport_.posts(), IsEmpty());
  EXPECT_THAT(carol->lines(), IsEmpty());
  EXPECT_THAT(MemberNames(*bob->session.group()), ElementsAre("bob", "carol"));
  EXPECT_FALSE(alice->Input("hello\n"));
  EXPECT_THAT(bob->lines(), IsEmpty());
}

TEST_F(SessionTest, EndBeforeJoinIsHarmless) {
  Client* bob = JoinedClient(0, "g", "bob");
  Client* c = NewClient(0);
  EXPECT_TRUE(c->Input("JOIN g ali"));
  c->session.End();
  c->session.End();
  EXPECT_FALSE(c->Input("ce\n"));
  EXPECT_FALSE(c->session.joined());
  EXPECT_THAT(c->lines(), IsEmpty());
  EXPECT_THAT(bob->lines(), IsEmpty());
}

TEST_F(SessionTest, LastLeaveForgetsTheGroup) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  const uint64_t id = alice->session.group()->id();
  alice->session.End();
  EXPECT_EQ(registry_.group_count(), 1u);
  EXPECT_EQ(shard(0).local_member_count(id), 0u);
  bob->session.End();
  EXPECT_EQ(registry_.group_count(), 0u);
  EXPECT_EQ(shard(1).local_member_count(id), 0u);
  // Bob was the last: nobody to tell.
  ASSERT_EQ(transport_.posts().size(), 1u);  // Alice's leave, to worker 1.
  EXPECT_EQ(transport_.posts()[0].worker, 1);
}

TEST_F(SessionTest, QuietShardDoesNotAnnounceLeaves) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  Client* carol = JoinedClient(1, "g", "carol");
  shard(0).Quiet();

  alice->session.End();
  EXPECT_FALSE(alice->session.joined());
  EXPECT_THAT(bob->lines(), IsEmpty());
  EXPECT_THAT(transport_.posts(), IsEmpty());
  DeliverPosts();
  EXPECT_THAT(carol->lines(), IsEmpty());
  // The leave itself happened.
  EXPECT_THAT(MemberNames(*carol->session.group()),
              ElementsAre("bob", "carol"));

  // A shard that is not quiet still announces.
  carol->session.End();
  ASSERT_EQ(transport_.posts().size(), 1u);
  EXPECT_EQ(transport_.posts()[0].worker, 0);
  DeliverPosts();
  EXPECT_THAT(bob->lines(), ElementsAre("* carol has left\n"));
}

TEST_F(SessionTest, SlotsStayConsistentWhenMembersLeaveInAnyOrder) {
  std::vector<Client*> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(JoinedClient(0, "g", absl::StrCat("m", i)));
  }
  const uint64_t id = clients[0]->session.group()->id();
  clients[1]->session.End();
  clients[0]->session.End();
  clients[4]->session.End();
  ClearAll();
  EXPECT_EQ(shard(0).local_member_count(id), 2u);

  EXPECT_TRUE(clients[2]->Input("hi\n"));
  EXPECT_THAT(clients[3]->lines(), ElementsAre("m2: hi\n"));
  for (int i : {0, 1, 2, 4}) EXPECT_THAT(clients[i]->lines(), IsEmpty());
  clients[3]->session.End();
  DeliverPosts();
  EXPECT_THAT(clients[2]->lines(), ElementsAre("* m3 has left\n"));
}

// --- Payload lifetime -------------------------------------------------------

TEST_F(SessionTest, BroadcastPayloadIsSharedAndReleased) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  Client* carol = JoinedClient(0, "g", "carol");
  Client* d1 = JoinedClient(1, "g", "d1");
  Client* d2 = JoinedClient(1, "g", "d2");

  EXPECT_TRUE(alice->Input("shared\n"));
  ASSERT_EQ(bob->output.sent().size(), 1u);
  const PayloadRef held = bob->output.sent()[0];
  // Held here, by bob, by carol and by the one post.
  EXPECT_EQ(held->ref_count_for_testing(), 4);
  EXPECT_EQ(carol->output.sent()[0].get(), held.get());

  DeliverPosts();  // Moves the post's reference to d1 and d2.
  EXPECT_EQ(held->ref_count_for_testing(), 5);
  EXPECT_EQ(d1->output.sent()[0].get(), held.get());
  EXPECT_EQ(d2->output.sent()[0].get(), held.get());

  ClearAll();
  EXPECT_EQ(held->ref_count_for_testing(), 1);
  EXPECT_EQ(held->view(), "alice: shared\n");
}

TEST_F(SessionTest, AnnouncementPayloadIsReleased) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  Client* carol = JoinedClient(1, "g", "carol");

  alice->session.End();
  ASSERT_EQ(transport_.posts().size(), 1u);
  const PayloadRef held =
      transport_.posts()[0].post.rendition.For(WireClass::kLine);
  EXPECT_EQ(held->ref_count_for_testing(), 2);
  DeliverPosts();
  EXPECT_EQ(held->ref_count_for_testing(), 3);  // Held, bob, carol.
  EXPECT_EQ(bob->output.sent()[0].get(), held.get());
  EXPECT_EQ(carol->output.sent()[0].get(), held.get());
  ClearAll();
  EXPECT_EQ(held->ref_count_for_testing(), 1);
}

TEST_F(SessionTest, PayloadNotPostedAnywhereIsReleased) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  EXPECT_TRUE(alice->Input("x\n"));
  const PayloadRef held = bob->output.sent()[0];
  EXPECT_EQ(held->ref_count_for_testing(), 2);  // Held and bob only.
  ClearAll();
  EXPECT_EQ(held->ref_count_for_testing(), 1);
}

// --- Throttling -------------------------------------------------------------

using State = Session::InputState;

// When LimitedClient() joins.
const absl::Time kStart = absl::FromUnixSeconds(5000);

TEST_F(SessionTest, MemberOverTheRateIsDelayedNotCutOff) {
  Client* bob = JoinedClient(0, "g", "bob");
  Client* alice = LimitedClient(2, 3);

  // Empty lines are free; three messages use the burst; the fourth waits,
  // and so does everything after it, the unterminated tail included.
  EXPECT_EQ(
      alice->InputState("\n\n\none\ntwo\nthree\nfour\r\nfive\nsi", kStart),
      State::kThrottled);
  EXPECT_TRUE(alice->session.throttled());
  EXPECT_THAT(alice->lines(), IsEmpty());
  EXPECT_THAT(bob->lines(),
              ElementsAre("alice: one\n", "alice: two\n", "alice: three\n"));
  bob->output.Clear();

  // A token every 500 ms.
  const absl::Time next = alice->session.resume_at();
  EXPECT_GE(next, kStart + absl::Milliseconds(500));
  EXPECT_LT(next, kStart + absl::Milliseconds(501));
  EXPECT_EQ(alice->session.Resume(next - absl::Milliseconds(1)),
            State::kThrottled);
  EXPECT_THAT(bob->lines(), IsEmpty());
  EXPECT_EQ(alice->session.Resume(next), State::kThrottled);
  EXPECT_THAT(bob->lines(), ElementsAre("alice: four\n"));
  // Two tokens' worth of time: "five" goes, and only the partial line is
  // left, which waits for more input, not for a token.
  EXPECT_EQ(alice->session.Resume(next + absl::Seconds(1)), State::kReady);
  EXPECT_FALSE(alice->session.throttled());
  EXPECT_THAT(bob->lines(), ElementsAre("alice: four\n", "alice: five\n"));
  ASSERT_EQ(alice->InputState("x\n", next + absl::Seconds(2)), State::kReady);
  EXPECT_THAT(bob->lines(),
              ElementsAre("alice: four\n", "alice: five\n", "alice: six\n"));
}

TEST_F(SessionTest, LineSplitAcrossReadsWaitsWholeWhenThrottled) {
  Client* bob = JoinedClient(0, "g", "bob");
  Client* alice = LimitedClient(1, 1);
  ASSERT_EQ(alice->InputState("first\nsec", kStart), State::kReady);
  // "second" completes in this chunk but has no token: it waits whole.
  ASSERT_EQ(alice->InputState("ond\nthird\n", kStart), State::kThrottled);
  EXPECT_EQ(alice->session.Resume(kStart + absl::Seconds(1)),
            State::kThrottled);
  EXPECT_EQ(alice->session.Resume(kStart + absl::Seconds(2)), State::kReady);
  EXPECT_THAT(bob->lines(), ElementsAre("alice: first\n", "alice: second\n",
                                        "alice: third\n"));
}

TEST_F(SessionTest, MemberWithinTheRateIsNeverThrottled) {
  Client* bob = JoinedClient(0, "g", "bob");
  Client* alice = LimitedClient(10, 1);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(alice->InputState("m\n", kStart + absl::Milliseconds(100 * i)),
              State::kReady)
        << i;
  }
  EXPECT_EQ(bob->lines().size(), 100u);
}

TEST_F(SessionTest, CommandsTakeTokensAndQuitWaitsItsTurn) {
  Client* bob = JoinedClient(0, "g", "bob");
  Client* alice = LimitedClient(1, 2);
  EXPECT_EQ(alice->InputState("/who\n/who\nlast\n/quit\nnever\n", kStart),
            State::kThrottled);
  EXPECT_THAT(alice->lines(), ElementsAre("* online in g: alice, bob\n",
                                          "* online in g: alice, bob\n"));
  EXPECT_EQ(alice->session.Resume(kStart + absl::Seconds(1)),
            State::kThrottled);
  EXPECT_THAT(bob->lines(), ElementsAre("alice: last\n"));
  EXPECT_EQ(alice->session.Resume(kStart + absl::Seconds(2)), State::kOver);
  EXPECT_THAT(alice->lines(),
              ElementsAre("* online in g: alice, bob\n",
                          "* online in g: alice, bob\n", "* bye\n"));
  alice->session.End();
  DeliverPosts();
  EXPECT_THAT(bob->lines(), ElementsAre("alice: last\n", "* alice has left\n"));
}

TEST_F(SessionTest, OverlongLineFoundAfterAThrottleStillFails) {
  Client* alice = LimitedClient(1, 1);
  const std::string input =
      absl::StrCat("one\ntwo\n", std::string(kMaxLine + 1, 'x'), "\n");
  ASSERT_EQ(alice->InputState(input, kStart), State::kThrottled);
  EXPECT_EQ(alice->session.Resume(kStart + absl::Seconds(1)), State::kOver);
  EXPECT_THAT(alice->lines(), ElementsAre("ERROR line too long\n"));
}

TEST_F(SessionTest, JoinIsNeverThrottled) {
  SessionLimits limits = Client::Limits();
  limits.max_msgs_per_sec = 1;
  limits.max_burst = 1;
  Client* alice = NewClient(0, limits);
  EXPECT_EQ(alice->InputState("JOIN g alice\nhi\nagain\n", kStart),
            State::kThrottled);
  EXPECT_TRUE(alice->session.joined());
}

// --- Group epochs
// -------------------------------------------------------------

// A broadcast still in flight when someone joins on the receiving worker must
// not reach the newcomer: it was welcomed with a count that already included
// the announced member, and messages sent before it joined are not its.
TEST_F(SessionTest, BroadcastInFlightDoesNotReachLaterJoiners) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  Client* dave = NewClient(0);
  ASSERT_TRUE(dave->Input("JOIN g dave\nbefore erin\n"));
  // The announcement and the message are posted to shards 1 and 0 (the
  // message queues behind the announcement on its own shard).
  EXPECT_THAT(transport_.workers(), UnorderedElementsAre(0, 0, 1, 1));
  Client* erin = NewClient(1);
  ASSERT_TRUE(erin->Input("JOIN g erin\n"));
  EXPECT_THAT(erin->lines(),
              ElementsAre("* you joined g as erin (4 online)\n"));
  DeliverPosts();
  // Epoch order on every worker: dave's join and message came first.
  EXPECT_THAT(bob->lines(),
              ElementsAre("* dave has joined\n", "dave: before erin\n",
                          "* erin has joined\n"));
  EXPECT_THAT(erin->lines(),
              ElementsAre("* you joined g as erin (4 online)\n"));
  ClearAll();

  ASSERT_TRUE(dave->Input("after erin\n"));
  DeliverPosts();
  EXPECT_THAT(erin->lines(), ElementsAre("dave: after erin\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("dave: after erin\n"));
}

TEST_F(SessionTest, LeaveInFlightDoesNotReachLaterJoiners) {
  JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  Client* carol = JoinedClient(0, "g", "carol");
  carol->session.End();  // Posts "carol has left" to shard 1.
  Client* dan = NewClient(1);
  ASSERT_TRUE(dan->Input("JOIN g dan\n"));
  EXPECT_THAT(dan->lines(), ElementsAre("* you joined g as dan (3 online)\n"));
  DeliverPosts();
  EXPECT_THAT(bob->lines(),
              ElementsAre("* carol has left\n", "* dan has joined\n"));
  EXPECT_THAT(dan->lines(), ElementsAre("* you joined g as dan (3 online)\n"));
}

// --- Names ------------------------------------------------------------------

TEST_F(SessionTest, NamesMayHoldIrcNickSpecials) {
  Client* bob = JoinedClient(0, "g", "bob");
  const std::string name = "[t]\\`^{|}_";
  Client* tim = NewClient(1);
  EXPECT_TRUE(tim->Input(absl::StrCat("JOIN g ", name, "\n")));
  EXPECT_THAT(tim->lines(), ElementsAre(absl::StrCat("* you joined g as ", name,
                                                     " (2 online)\n")));
  DeliverPosts();
  EXPECT_THAT(bob->lines(),
              ElementsAre(absl::StrCat("* ", name, " has joined\n")));
  EXPECT_TRUE(tim->Input("hi\n"));
  DeliverPosts();
  EXPECT_THAT(bob->lines(),
              ElementsAre(absl::StrCat("* ", name, " has joined\n"),
                          absl::StrCat(name, ": hi\n")));
}

TEST_F(SessionTest, NameIsTakenServerWideInAnyCaseUntilItsSessionEnds) {
  Client* alice = JoinedClient(0, "g", "Alice");
  Client* other = NewClient(2);
  EXPECT_FALSE(other->Input("JOIN h aLiCe\n"));
  EXPECT_THAT(other->lines(), ElementsAre("ERROR name taken\n"));
  EXPECT_EQ(registry_.group_count(), 1u);
  EXPECT_EQ(registry_.person_count(), 1u);
  alice->session.End();
  EXPECT_EQ(registry_.person_count(), 0u);
  Client* again = NewClient(2);
  EXPECT_TRUE(again->Input("JOIN h aLiCe\n"));
  EXPECT_THAT(again->lines(),
              ElementsAre("* you joined h as aLiCe (1 online)\n"));
}

TEST_F(SessionTest, FailedJoinHoldsNoName) {
  Client* c = NewClient(0);
  EXPECT_FALSE(c->Input("JOIN bad! alice\n"));
  EXPECT_EQ(registry_.person_count(), 0u);
  Client* alice = NewClient(1);
  EXPECT_TRUE(alice->Input("JOIN g alice\n"));
  EXPECT_EQ(registry_.person_count(), 1u);
}

// --- Private messages -------------------------------------------------------

TEST_F(SessionTest, PrivateMessageOnTheSameWorker) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  Client* carol = JoinedClient(0, "g", "carol");
  EXPECT_TRUE(alice->Input("/msg bob psst\n"));
  EXPECT_THAT(bob->lines(), ElementsAre("(private) alice: psst\n"));
  EXPECT_THAT(alice->lines(), IsEmpty());  // No echo.
  EXPECT_THAT(carol->lines(), IsEmpty());
  EXPECT_THAT(transport_.posts(), IsEmpty());
  EXPECT_EQ(shard(0).stats().private_messages.load(), 1u);
}

TEST_F(SessionTest, PrivateMessageAcrossWorkersAndGroups) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "other", "Bob");
  Client* carol = JoinedClient(1, "g", "carol");
  EXPECT_TRUE(alice->Input("/msg BOB psst there\n"));
  EXPECT_THAT(bob->lines(), IsEmpty());  // Not until delivered.
  ASSERT_EQ(transport_.posts().size(), 1u);
  EXPECT_EQ(transport_.posts()[0].worker, 1);
  EXPECT_EQ(transport_.posts()[0].post.kind, ShardPost::Kind::kDirect);
  DeliverPosts();
  EXPECT_THAT(bob->lines(), ElementsAre("(private) alice: psst there\n"));
  EXPECT_THAT(carol->lines(), IsEmpty());
  EXPECT_THAT(alice->lines(), IsEmpty());
}

TEST_F(SessionTest, PrivateMessagesKeepTheSendersOrder) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(2, "g", "bob");
  EXPECT_TRUE(alice->Input("/msg bob 1\nto all\n/msg bob 2\n/msg bob 3\n"));
  DeliverPosts();
  EXPECT_THAT(bob->lines(),
              ElementsAre("(private) alice: 1\n", "alice: to all\n",
                          "(private) alice: 2\n", "(private) alice: 3\n"));
}

TEST_F(SessionTest, PrivateMessageTextIsKeptAsWritten) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  EXPECT_TRUE(alice->Input("/msg bob  two  spaces \n"));
  EXPECT_TRUE(alice->Input("/msg bob /who\n"));
  EXPECT_THAT(bob->lines(), ElementsAre("(private) alice:  two  spaces \n",
                                        "(private) alice: /who\n"));
}

TEST_F(SessionTest, PrivateMessageToNobodyIsAnError) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(1, "g", "bob");
  EXPECT_TRUE(alice->Input("/msg zed hi\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("ERROR no such name\n"));
  EXPECT_THAT(transport_.posts(), IsEmpty());
  // Someone who only began to join holds no name.
  Client* pending = NewClient(2);
  EXPECT_TRUE(pending->Input("JOIN g ze"));
  EXPECT_TRUE(alice->Input("/msg zed hi\n"));
  EXPECT_THAT(alice->lines(),
              ElementsAre("ERROR no such name\n", "ERROR no such name\n"));
  EXPECT_TRUE(alice->session.joined());
  DeliverPosts();
  EXPECT_THAT(bob->lines(), IsEmpty());
}

TEST_F(SessionTest, MalformedPrivateMessageGetsTheUsage) {
  Client* alice = JoinedClient(0, "g", "alice");
  Client* bob = JoinedClient(0, "g", "bob");
  for (const char* line :
       {"/msg\n", "/msg bob\n", "/msg bob \n", "/msg  bob hi\n", "/msg \n"}) {
    alice->output.Clear();
    EXPECT_TRUE(alice->Input(line)) << line;
    EXPECT_THAT(alice->lines(),
                ElementsAre("ERROR usage: /msg <name> <text>\n"))
        << line;
  }
  EXPECT_THAT(bob->lines(), IsEmpty());
  EXPECT_THAT(transport_.posts(), IsEmpty());
  // "/msgx" is another command.
  alice->output.Clear();
  EXPECT_TRUE(alice->Input("/msgx bob hi\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("ERROR unknown command /msgx\n"));
}

TEST_F(SessionTest, PrivateMessagesTakeTokens) {
  Client* bob = JoinedClient(0, "g", "bob");
  Client* alice = LimitedClient(1, 1);
  EXPECT_EQ(alice->InputState("/msg bob a\n/msg bob b\n", kStart),
            State::kThrottled);
  EXPECT_THAT(bob->lines(), ElementsAre("(private) alice: a\n"));
  EXPECT_EQ(alice->session.Resume(kStart + absl::Seconds(1)), State::kReady);
  EXPECT_THAT(bob->lines(),
              ElementsAre("(private) alice: a\n", "(private) alice: b\n"));
}

// --- Kicked -----------------------------------------------------------------

TEST_F(SessionTest, KickedLineMemberIsToldAndItsSessionEnds) {
  Client* alice = JoinedClient(0, "g", "alice");  // The creator: an op.
  Client* bob = JoinedClient(1, "g", "bob");
  Client* carol = JoinedClient(0, "g", "carol");
  const Membership* by = nullptr;
  alice->session.member().ForEachMembership(
      [&](const Membership& m) { by = &m; });
  ASSERT_NE(by, nullptr);
  ChatEvent kick;
  kick.kind = ChatEvent::Kind::kKick;
  kick.source = SourceOf(alice->session.member());
  kick.group = "g";
  kick.target = "bob";
  kick.text = "spam";
  ASSERT_TRUE(
      shard(0)
          .Kick(*by, "BOB", kick, FormatError("kicked from g by alice: spam"))
          .ok());
  // Carried out on bob's worker, which then announces the leave.
  EXPECT_THAT(transport_.workers(), ElementsAre(1));
  DeliverPosts();
  EXPECT_THAT(bob->lines(),
              ElementsAre("ERROR kicked from g by alice: spam\n"));
  EXPECT_EQ(bob->output.ended(), 1);
  EXPECT_EQ(bob->session.group(), nullptr);
  EXPECT_THAT(carol->lines(), IsEmpty());
  EXPECT_THAT(transport_.workers(), ElementsAre(0));
  DeliverPosts();
  EXPECT_THAT(carol->lines(), ElementsAre("* bob has left\n"));
  EXPECT_THAT(alice->lines(), ElementsAre("* bob has left\n"));
  EXPECT_THAT(MemberNames(*alice->session.group()),
              ElementsAre("alice", "carol"));

  // What bob still sends reaches nobody; ending announces nothing more and
  // frees the name.
  EXPECT_TRUE(bob->Input("anyone?\n"));
  bob->session.End();
  DeliverPosts();
  EXPECT_THAT(carol->lines(), ElementsAre("* bob has left\n"));
  EXPECT_FALSE(registry_.FindRecipient("bob").has_value());
}

}  // namespace
}  // namespace chatd
