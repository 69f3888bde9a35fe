#include "core/chat_shard.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/chat_event.h"
#include "core/group_registry.h"
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

constexpr int kWorkers = 3;

// Queues posts and delivers them in the order posted, as the workers'
// mailboxes would (one FIFO for all is one of the orders they allow).
class QueueTransport final : public ChatShard::Transport {
 public:
  struct Posted {
    int worker;
    ShardPost post;
  };
  void Post(int worker, ShardPost post) override {
    queue_.push_back({worker, std::move(post)});
  }
  std::deque<Posted>& queue() { return queue_; }
  std::vector<int> workers() const {
    std::vector<int> out;
    for (const Posted& p : queue_) out.push_back(p.worker);
    return out;
  }

 private:
  std::deque<Posted> queue_;
};

std::vector<std::string> MemberNamesOf(const GroupRegistry& registry,
                                       const Group& group) {
  std::vector<std::string> names;
  for (const GroupRegistry::MemberInfo& m : registry.Members(group)) {
    names.push_back(m.name);
  }
  return names;
}

struct Person {
  explicit Person(int w) : member(&output), worker(w) {}
  RecordingOutput output;
  Member member;
  int worker;
  std::vector<std::string> lines() const { return output.lines(); }
};

class ChatShardTest : public ::testing::Test {
 protected:
  ChatShardTest() {
    for (int w = 0; w < kWorkers; ++w) {
      shards_.push_back(
          std::make_unique<ChatShard>(w, &registry_, &transport_));
    }
  }
  ~ChatShardTest() override {
    for (auto& p : people_) {
      if (!p->member.named()) continue;
      ChatEvent quit = Event(p.get(), ChatEvent::Kind::kQuit);
      quit.text = "bye";
      shard(p->worker).LeaveAll(&p->member, quit);
      shard(p->worker).Release(&p->member);
    }
    DeliverAll();
  }

  ChatShard& shard(int w) { return *shards_[w]; }

  // A named member on `worker`: IRC (user "u<name>") unless kLine.
  Person* Add(int worker, absl::string_view name,
              WireClass wire_class = WireClass::kLine, uint8_t caps = 0) {
    people_.push_back(std::make_unique<Person>(worker));
    Person* p = people_.back().get();
    shard(worker).SetDelivery(&p->member, wire_class, caps);
    const bool irc = wire_class != WireClass::kLine;
    EXPECT_TRUE(shard(worker)
                    .Claim(&p->member, name, irc ? absl::StrCat("u", name) : "",
                           irc ? "real" : "")
                    .ok());
    return p;
  }

  ChatEvent Event(Person* p, ChatEvent::Kind kind,
                  absl::string_view group = "") {
    ChatEvent e;
    e.kind = kind;
    e.source = SourceOf(p->member);
    e.group = group;
    return e;
  }

  Membership* Join(Person* p, absl::string_view group) {
    absl::StatusOr<GroupRegistry::Joined> joined = shard(p->worker).Join(
        &p->member, group, Event(p, ChatEvent::Kind::kJoin, group));
    EXPECT_TRUE(joined.ok()) << joined.status();
    if (!joined.ok()) return nullptr;
    return p->member.Find(joined->group);
  }

  // As the IRC front end does, echo-message means `to_sender`.
  void Say(Person* p, Membership* m, absl::string_view text) {
    ChatEvent e = Event(p, ChatEvent::Kind::kMessage, m->group->name());
    e.text = text;
    shard(p->worker).Broadcast(*m, e,
                               (p->member.caps() & kCapEchoMessage) != 0);
  }

  absl::Status Private(Person* from, absl::string_view to,
                       absl::string_view text) {
    ChatEvent e = Event(from, ChatEvent::Kind::kMessage);
    e.text = text;
    return shard(from->worker).SendPrivate(&from->member, to, e).status();
  }

  // Delivers every post, and what delivering them posts, in order.
  void DeliverAll() {
    while (!transport_.queue().empty()) {
      QueueTransport::Posted p = std::move(transport_.queue().front());
      transport_.queue().pop_front();
      shard(p.worker).Deliver(p.post);
    }
  }

  void ClearAll() {
    DeliverAll();
    for (auto& p : people_) p->output.Clear();
  }

  GroupRegistry registry_;
  QueueTransport transport_;
  std::vector<std::unique_ptr<ChatShard>> shards_;
  std::vector<std::unique_ptr<Person>> people_;
};

// --- Events for several groups ----------------------------------------------

TEST_F(ChatShardTest, QuitReachesAMemberInTwoSharedGroupsOnce) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* bob = Add(1, "bob", WireClass::kIrcPlain);
  Person* tim = Add(1, "tim");
  Person* dan = Add(0, "dan", WireClass::kIrcPlain);
  Person* eve = Add(2, "eve", WireClass::kIrcPlain);
  Join(ann, "a");
  Join(ann, "b");
  Join(bob, "a");
  Join(bob, "b");
  Join(tim, "a");
  Join(dan, "b");
  Join(dan, "a");
  Join(eve, "c");
  ClearAll();

  ChatEvent quit = Event(ann, ChatEvent::Kind::kQuit);
  quit.text = "Quit: bye";
  shard(0).LeaveAll(&ann->member, quit);
  // One post per worker with members in any of the groups, this one too.
  EXPECT_THAT(transport_.workers(), UnorderedElementsAre(0, 1));
  DeliverAll();
  const std::string irc = ":ann!uann@irc.chatd QUIT :Quit: bye\r\n";
  EXPECT_THAT(bob->lines(), ElementsAre(irc));
  EXPECT_THAT(dan->lines(), ElementsAre(irc));
  EXPECT_THAT(tim->lines(), ElementsAre("* ann has left\n"));
  EXPECT_THAT(eve->lines(), IsEmpty());
  EXPECT_THAT(ann->lines(), IsEmpty());
  EXPECT_EQ(ann->member.group_count(), 0u);
  EXPECT_EQ(registry_.FindMember("ann")->second.size(), 0u);
  // One payload for the class.
  EXPECT_EQ(bob->output.sent()[0].get(), dan->output.sent()[0].get());
}

TEST_F(ChatShardTest, RenameIsAnnouncedOncePerRecipient) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* bob = Add(1, "bob", WireClass::kIrcPlain);
  Person* tim = Add(2, "tim");
  Person* dan = Add(0, "dan", WireClass::kIrcPlain);
  Person* eve = Add(1, "eve", WireClass::kIrcPlain);
  Membership* a = Join(ann, "a");
  Join(ann, "b");
  Join(ann, "c");
  Join(bob, "a");
  Join(bob, "b");
  Join(bob, "c");
  Join(tim, "b");
  Join(dan, "a");
  Join(dan, "c");
  Join(eve, "other");
  ClearAll();

  ChatEvent nick = Event(ann, ChatEvent::Kind::kNick);
  nick.text = "anna";
  ASSERT_TRUE(shard(0).Rename(&ann->member, "anna", nick).ok());
  EXPECT_EQ(ann->member.name(), "anna");
  DeliverAll();
  const std::string irc = ":ann!uann@irc.chatd NICK anna\r\n";
  EXPECT_THAT(bob->lines(), ElementsAre(irc));
  EXPECT_THAT(dan->lines(), ElementsAre(irc));
  EXPECT_THAT(tim->lines(), ElementsAre("* ann is now known as anna\n"));
  EXPECT_THAT(eve->lines(), IsEmpty());
  EXPECT_THAT(ann->lines(), IsEmpty());  // The front end answers it.
  ClearAll();

  // A taken name is refused and announced to nobody.
  EXPECT_EQ(shard(0).Rename(&ann->member, "BOB", nick).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ann->member.name(), "anna");
  EXPECT_TRUE(transport_.queue().empty());
  // Messages now come from the new name.
  Say(ann, a, "hi");
  DeliverAll();
  EXPECT_THAT(bob->lines(),
              ElementsAre(":anna!uann@irc.chatd PRIVMSG #a :hi\r\n"));
  EXPECT_TRUE(registry_.FindRecipient("anna").has_value());
  EXPECT_FALSE(registry_.FindRecipient("ann").has_value());
}

TEST_F(ChatShardTest, AwayReachesOnlyMembersWithAwayNotify) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* bob = Add(1, "bob", WireClass::kIrcPlain, kCapAwayNotify);
  Person* cid = Add(0, "cid", WireClass::kIrcTime, kCapAwayNotify);
  Person* dan = Add(1, "dan", WireClass::kIrcPlain);
  Person* tim = Add(2, "tim");
  Join(ann, "a");
  Join(ann, "b");
  Join(bob, "a");
  Join(bob, "b");
  Join(cid, "b");
  Join(dan, "a");
  Join(tim, "a");
  ClearAll();

  ChatEvent away = Event(ann, ChatEvent::Kind::kAway);
  away.text = "lunch";
  shard(0).AnnounceToGroups(&ann->member, away, kCapAwayNotify);
  DeliverAll();
  EXPECT_THAT(bob->lines(), ElementsAre(":ann!uann@irc.chatd AWAY :lunch\r\n"));
  ASSERT_EQ(cid->lines().size(), 1u);
  EXPECT_EQ(cid->lines()[0].substr(0, 6), "@time=");
  EXPECT_THAT(cid->lines()[0],
              ::testing::EndsWith(" :ann!uann@irc.chatd AWAY :lunch\r\n"));
  EXPECT_THAT(dan->lines(), IsEmpty());
  EXPECT_THAT(tim->lines(), IsEmpty());
  EXPECT_THAT(ann->lines(), IsEmpty());
}

TEST_F(ChatShardTest, CountsOnlyMessagesAndLinesQueued) {
  Person* ann = Add(0, "ann", WireClass::kIrcTags);
  Person* bob = Add(1, "bob", WireClass::kIrcTags);
  Person* cid = Add(1, "cid", WireClass::kIrcPlain);
  Person* tim = Add(0, "tim");
  Membership* a = Join(ann, "g");
  Join(bob, "g");
  Join(cid, "g");
  Join(tim, "g");
  ClearAll();
  auto messages = [&] {
    return shard(0).stats().messages.load() + shard(1).stats().messages.load();
  };
  auto deliveries = [&] {
    return shard(0).stats().deliveries.load() +
           shard(1).stats().deliveries.load();
  };
  const uint64_t messages_before = messages();
  const uint64_t deliveries_before = deliveries();

  Say(ann, a, "hi");
  DeliverAll();
  EXPECT_EQ(messages() - messages_before, 1u);
  EXPECT_EQ(deliveries() - deliveries_before, 3u);

  // A TAGMSG reaches only message-tags clients: bob alone.
  ChatEvent typing = Event(ann, ChatEvent::Kind::kTagMsg, "g");
  typing.client_tags = "+typing=active";
  shard(0).Broadcast(*a, typing);
  DeliverAll();
  EXPECT_EQ(bob->lines().size(), 2u);
  EXPECT_EQ(cid->lines().size(), 1u);
  EXPECT_EQ(tim->lines().size(), 1u);
  EXPECT_EQ(messages() - messages_before, 2u);
  EXPECT_EQ(deliveries() - deliveries_before, 4u);

  // A topic change is the group's state: delivered, not a message.
  auto lines = [&] {
    return bob->lines().size() + cid->lines().size() + tim->lines().size();
  };
  const size_t lines_before = lines();
  ChatEvent topic = Event(ann, ChatEvent::Kind::kTopic, "g");
  topic.text = "soup";
  shard(0).Broadcast(*a, topic);
  DeliverAll();
  EXPECT_GT(lines(), lines_before);
  EXPECT_EQ(messages() - messages_before, 2u);
  EXPECT_EQ(deliveries() - deliveries_before, 4u + lines() - lines_before);
}

// --- Private messages -------------------------------------------------------

TEST_F(ChatShardTest, PrivateMessageOnTheSameWorkerGoesStraightThere) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* tim = Add(0, "tim");
  Person* bob = Add(0, "bob", WireClass::kIrcPlain);
  ASSERT_TRUE(Private(ann, "TIM", "psst").ok());
  EXPECT_TRUE(transport_.queue().empty());
  EXPECT_THAT(tim->lines(), ElementsAre("(private) ann: psst\n"));
  ASSERT_TRUE(Private(tim, "bob", "hey").ok());
  EXPECT_THAT(bob->lines(),
              ElementsAre(":tim!tim@line.chatd PRIVMSG bob :hey\r\n"));
  EXPECT_THAT(ann->lines(), IsEmpty());
  EXPECT_EQ(shard(0).stats().private_messages.load(), 2u);
  // Nobody needs to share a group, or be in any.
  EXPECT_EQ(ann->member.group_count(), 0u);
}

TEST_F(ChatShardTest, PrivateMessageAcrossWorkers) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* tim = Add(2, "tim");
  Person* bob = Add(1, "Bob", WireClass::kIrcTime);
  ASSERT_TRUE(Private(ann, "tim", "psst").ok());
  ASSERT_TRUE(Private(ann, "bob", "yo").ok());
  ASSERT_EQ(transport_.queue().size(), 2u);
  EXPECT_THAT(transport_.workers(), ElementsAre(2, 1));
  EXPECT_EQ(transport_.queue()[0].post.kind, ShardPost::Kind::kDirect);
  EXPECT_THAT(tim->lines(), IsEmpty());
  DeliverAll();
  EXPECT_THAT(tim->lines(), ElementsAre("(private) ann: psst\n"));
  ASSERT_EQ(bob->lines().size(), 1u);
  // Addressed as the recipient's name is written.
  EXPECT_THAT(bob->lines()[0],
              ::testing::EndsWith(" :ann!uann@irc.chatd PRIVMSG Bob :yo\r\n"));
  EXPECT_EQ(bob->lines()[0].substr(0, 6), "@time=");
  EXPECT_THAT(ann->lines(), IsEmpty());
}

TEST_F(ChatShardTest, PrivateMessageToNobodyIsNotFound) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  EXPECT_EQ(Private(ann, "zed", "hi").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(transport_.queue().empty());
  EXPECT_EQ(shard(0).stats().private_messages.load(), 0u);
}

TEST_F(ChatShardTest, PrivateMessageReturnsTheRecipientsAway) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Add(1, "bob", WireClass::kIrcPlain);
  registry_.SetAway("bob", "lunch");
  ChatEvent e = Event(ann, ChatEvent::Kind::kMessage);
  e.text = "hi";
  absl::StatusOr<GroupRegistry::Recipient> r =
      shard(0).SendPrivate(&ann->member, "BOB", e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "bob");
  EXPECT_EQ(r->away, "lunch");
  EXPECT_EQ(r->worker, 1);
}

TEST_F(ChatShardTest, PrivateMessagesKeepTheSendersOrder) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* tim = Add(1, "tim");
  Person* sam = Add(0, "sam");
  Membership* m = Join(ann, "g");
  Join(tim, "g");
  Join(sam, "g");
  ClearAll();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Private(ann, "tim", absl::StrCat("p", i)).ok());
    ASSERT_TRUE(Private(ann, "sam", absl::StrCat("p", i)).ok());
    if (i == 2) Say(ann, m, "all");
  }
  DeliverAll();
  const auto expected = ElementsAre(
      "(private) ann: p0\n", "(private) ann: p1\n", "(private) ann: p2\n",
      "ann: all\n", "(private) ann: p3\n", "(private) ann: p4\n");
  EXPECT_THAT(tim->lines(), expected);
  EXPECT_THAT(sam->lines(), expected);
}

TEST_F(ChatShardTest, EchoMessageReturnsAPrivateMessageToItsSender) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain, kCapEchoMessage);
  Person* tim = Add(1, "tim");
  ASSERT_TRUE(Private(ann, "tim", "psst").ok());
  // At once, in the sender's own form.
  EXPECT_THAT(ann->lines(),
              ElementsAre(":ann!uann@irc.chatd PRIVMSG tim :psst\r\n"));
  DeliverAll();
  EXPECT_THAT(tim->lines(), ElementsAre("(private) ann: psst\n"));
  // To oneself: once.
  ann->output.Clear();
  ASSERT_TRUE(Private(ann, "ann", "me").ok());
  EXPECT_THAT(ann->lines(),
              ElementsAre(":ann!uann@irc.chatd PRIVMSG ann :me\r\n"));
}

// --- Broadcasts -------------------------------------------------------------

TEST_F(ChatShardTest, EchoMessageDeliversTheSendersOwnBroadcast) {
  Person* ann = Add(0, "ann", WireClass::kIrcTags, kCapEchoMessage);
  Person* bob = Add(0, "bob", WireClass::kIrcPlain);
  Person* cid = Add(0, "cid", WireClass::kIrcPlain);
  Membership* a = Join(ann, "g");
  Membership* c = Join(cid, "g");
  Join(bob, "g");
  ClearAll();
  Say(ann, a, "hi");
  ASSERT_EQ(ann->lines().size(), 1u);
  EXPECT_THAT(ann->lines()[0], ::testing::HasSubstr(";msgid="));
  EXPECT_THAT(ann->lines()[0],
              ::testing::EndsWith(" :ann!uann@irc.chatd PRIVMSG #g :hi\r\n"));
  EXPECT_THAT(bob->lines(),
              ElementsAre(":ann!uann@irc.chatd PRIVMSG #g :hi\r\n"));
  // Without the cap, no echo.
  cid->output.Clear();
  Say(cid, c, "yo");
  EXPECT_THAT(cid->lines(), IsEmpty());
  EXPECT_EQ(ann->lines().size(), 2u);
  // Broadcast's default: not to the sender, whatever its caps.
  ChatEvent e = Event(ann, ChatEvent::Kind::kMessage, "g");
  e.text = "quiet";
  shard(0).Broadcast(*a, e);
  EXPECT_EQ(ann->lines().size(), 2u);
  EXPECT_EQ(bob->lines().size(), 3u);
}

TEST_F(ChatShardTest, EchoWaitsBehindTheShardsOwnAnnouncement) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain, kCapEchoMessage);
  Person* bob = Add(0, "bob", WireClass::kIrcPlain);
  Membership* a = Join(ann, "g");
  ClearAll();
  Join(bob, "g");  // Its announcement to ann is still in flight.
  Say(ann, a, "hi");
  EXPECT_THAT(ann->lines(), IsEmpty());
  DeliverAll();
  EXPECT_THAT(ann->lines(),
              ElementsAre(":bob!ubob@irc.chatd JOIN #g\r\n",
                          ":ann!uann@irc.chatd PRIVMSG #g :hi\r\n"));
  EXPECT_THAT(bob->lines(),
              ElementsAre(":ann!uann@irc.chatd PRIVMSG #g :hi\r\n"));
}

TEST_F(ChatShardTest, BroadcastRendersOnlyTheClassesPresent) {
  Person* tim = Add(0, "tim");
  Person* sam = Add(1, "sam");
  Membership* m = Join(tim, "g");
  Join(sam, "g");
  ClearAll();

  auto posted = [&]() {
    EXPECT_EQ(transport_.queue().size(), 1u);
    const Rendition r = transport_.queue().front().post.rendition;
    DeliverAll();
    std::vector<bool> present;
    for (const PayloadRef& p : r.by_class) present.push_back(bool(p));
    return present;
  };

  Say(tim, m, "1");
  EXPECT_THAT(posted(), ElementsAre(true, false, false, false));
  Person* ann = Add(1, "ann", WireClass::kIrcPlain);
  Join(ann, "g");
  ClearAll();
  Say(tim, m, "2");
  EXPECT_THAT(posted(), ElementsAre(true, true, false, false));
  // ann asks for message-tags: plain goes, tags comes.
  shard(1).SetDelivery(&ann->member, WireClass::kIrcTags, 0);
  Say(tim, m, "3");
  EXPECT_THAT(posted(), ElementsAre(true, false, false, true));
  Person* bob = Add(2, "bob", WireClass::kIrcTime);
  Join(bob, "g");
  ClearAll();
  Say(tim, m, "4");
  ASSERT_EQ(transport_.queue().size(), 2u);
  const Rendition r = transport_.queue().front().post.rendition;
  EXPECT_TRUE(r.by_class[int(WireClass::kLine)]);
  EXPECT_FALSE(r.by_class[int(WireClass::kIrcPlain)]);
  EXPECT_TRUE(r.by_class[int(WireClass::kIrcTime)]);
  EXPECT_TRUE(r.by_class[int(WireClass::kIrcTags)]);
  DeliverAll();
  EXPECT_THAT(sam->lines(), ElementsAre("tim: 4\n"));
  ASSERT_EQ(ann->lines().size(), 1u);
  EXPECT_THAT(ann->lines()[0], ::testing::HasSubstr(";msgid="));
  ASSERT_EQ(bob->lines().size(), 1u);
  EXPECT_THAT(bob->lines()[0], ::testing::Not(::testing::HasSubstr("msgid")));
  EXPECT_THAT(bob->lines()[0],
              ::testing::EndsWith(" :tim!tim@line.chatd PRIVMSG #g :4\r\n"));
  // Once only line members are left, only the line form again.
  ChatEvent part = Event(ann, ChatEvent::Kind::kPart, "g");
  shard(1).Leave(ann->member.Find(m->group), part);
  ChatEvent part2 = Event(bob, ChatEvent::Kind::kPart, "g");
  shard(2).Leave(bob->member.Find(m->group), part2);
  ClearAll();
  Say(tim, m, "5");
  EXPECT_THAT(posted(), ElementsAre(true, false, false, false));
}

TEST_F(ChatShardTest, MemberInTwoGroupsGetsEachGroupsMessages) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* bob = Add(1, "bob", WireClass::kIrcPlain);
  Membership* a = Join(ann, "a");
  Membership* b = Join(ann, "b");
  Join(bob, "a");
  Join(bob, "b");
  ClearAll();
  Say(ann, a, "to a");
  Say(ann, b, "to b");
  DeliverAll();
  EXPECT_THAT(bob->lines(),
              ElementsAre(":ann!uann@irc.chatd PRIVMSG #a :to a\r\n",
                          ":ann!uann@irc.chatd PRIVMSG #b :to b\r\n"));
  // Leaving one group keeps the other.
  shard(1).Leave(bob->member.Find(a->group),
                 Event(bob, ChatEvent::Kind::kPart, "a"));
  ClearAll();
  Say(ann, a, "to a");
  Say(ann, b, "to b");
  DeliverAll();
  EXPECT_THAT(bob->lines(),
              ElementsAre(":ann!uann@irc.chatd PRIVMSG #b :to b\r\n"));
  EXPECT_EQ(bob->member.group_count(), 1u);
}

// --- Kicks ------------------------------------------------------------------

TEST_F(ChatShardTest, KickedIrcMemberSeesItsKickAndLeaves) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* bob = Add(1, "bob", WireClass::kIrcPlain);
  Person* cid = Add(2, "cid", WireClass::kIrcPlain);
  Person* tim = Add(0, "tim");
  Membership* a = Join(ann, "g");  // The op.
  Join(bob, "g");
  Join(bob, "h");
  Join(cid, "g");
  Join(tim, "g");
  ClearAll();

  ChatEvent kick = Event(ann, ChatEvent::Kind::kKick, "g");
  kick.target = "bob";
  kick.text = "spam";
  ASSERT_TRUE(shard(0).Kick(*a, "Bob", kick, FormatError("unused")).ok());
  DeliverAll();
  const std::string irc = ":ann!uann@irc.chatd KICK #g bob :spam\r\n";
  EXPECT_THAT(bob->lines(), ElementsAre(irc));
  EXPECT_EQ(bob->output.ended(), 0);
  EXPECT_EQ(bob->member.group_count(), 1u);  // Still in h.
  EXPECT_EQ(registry_.Flags(*a->group, "bob"), std::nullopt);
  EXPECT_THAT(ann->lines(), ElementsAre(irc));
  EXPECT_THAT(cid->lines(), ElementsAre(irc));
  EXPECT_THAT(tim->lines(), ElementsAre("* bob has left\n"));
  EXPECT_EQ(shard(1).local_member_count(a->group->id()), 0u);

  // No longer a member: NotFound, and nothing is posted.
  EXPECT_EQ(shard(0).Kick(*a, "bob", kick, PayloadRef()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(shard(0).Kick(*a, "nobody", kick, PayloadRef()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(transport_.queue().empty());
}

TEST_F(ChatShardTest, KickedLineMemberGetsTheNoticeAndItsSessionEnds) {
  Person* ann = Add(0, "ann", WireClass::kIrcPlain);
  Person* tim = Add(0, "tim");
  Person* sam = Add(1, "sam");
  Person* bob = Add(2, "bob", WireClass::kIrcPlain);
  Membership* a = Join(ann, "g");
  Join(tim, "g");
  Join(sam, "g");
  Join(bob, "g");
  ClearAll();

  ChatEvent kick = Event(ann, ChatEvent::Kind::kKick, "g");
  kick.target = "tim";
  kick.text = "bye";
  const PayloadRef notice = FormatError("kicked from g by ann: bye");
  ASSERT_TRUE(shard(0).Kick(*a, "tim", kick, notice).ok());
  // Same worker: carried out at once.
  EXPECT_THAT(tim->lines(), ElementsAre("ERROR kicked from g by ann: bye\n"));
  EXPECT_EQ(tim->output.sent()[0].get(), notice.get());
  EXPECT_EQ(tim->output.ended(), 1);
  EXPECT_EQ(tim->member.group_count(), 0u);
  DeliverAll();
  EXPECT_THAT(tim->lines(), ElementsAre("ERROR kicked from g by ann: bye\n"));
  EXPECT_THAT(sam->lines(), ElementsAre("* tim has left\n"));
  EXPECT_THAT(ann->lines(),
              ElementsAre(":ann!uann@irc.chatd KICK #g tim :bye\r\n"));
  EXPECT_THAT(bob->lines(),
              ElementsAre(":ann!uann@irc.chatd KICK #g tim :bye\r\n"));
  // Another worker's line member: through its mailbox.
  kick.target = "sam";
  ASSERT_TRUE(shard(0).Kick(*a, "sam", kick, notice).ok());
  EXPECT_EQ(sam->output.ended(), 0);
  DeliverAll();
  EXPECT_EQ(sam->output.ended(), 1);
  EXPECT_THAT(sam->lines(), ElementsAre("* tim has left\n",
                                        "ERROR kicked from g by ann: bye\n"));
  EXPECT_THAT(MemberNamesOf(registry_, *a->group), ElementsAre("ann", "bob"));
}

}  // namespace
}  // namespace chatd
