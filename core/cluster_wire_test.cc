#include "core/cluster_wire.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_event.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chatd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::std::string_literals::operator""s;

ClusterMessage Decode(absl::string_view bytes) {
  ClusterMessage message;
  const absl::Status status = DecodeClusterMessage(bytes, &message);
  EXPECT_TRUE(status.ok()) << status;
  return message;
}

// The error DecodeClusterMessage gives, which must be InvalidArgument.
std::string DecodeError(absl::string_view bytes) {
  ClusterMessage message;
  const absl::Status status = DecodeClusterMessage(bytes, &message);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  return std::string(status.message());
}

bool IsSubrange(absl::string_view view, absl::string_view outer) {
  return view.data() >= outer.data() &&
         view.data() + view.size() <= outer.data() + outer.size();
}

// Every strict prefix of a valid body fails to decode.
void ExpectPrefixesRejected(const std::string& bytes) {
  for (size_t size = 0; size < bytes.size(); ++size) {
    ClusterMessage message;
    EXPECT_FALSE(DecodeClusterMessage(bytes.substr(0, size), &message).ok())
        << "prefix of " << size << " of " << bytes.size() << " bytes";
  }
}

void ExpectSameEvent(const ChatEvent& got, const ChatEvent& want) {
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.source.nick, want.source.nick);
  EXPECT_EQ(got.source.user, want.source.user);
  EXPECT_EQ(got.source.host, want.source.host);
  EXPECT_EQ(got.group, want.group);
  EXPECT_EQ(got.target, want.target);
  EXPECT_EQ(got.text, want.text);
  EXPECT_EQ(got.client_tags, want.client_tags);
}

void ExpectSamePerson(const ClusterPerson& got, const ClusterPerson& want) {
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.user, want.user);
  EXPECT_EQ(got.realname, want.realname);
  EXPECT_EQ(got.irc, want.irc);
  EXPECT_EQ(got.claimed_us, want.claimed_us);
  ASSERT_EQ(got.groups.size(), want.groups.size());
  for (size_t i = 0; i < got.groups.size(); ++i) {
    EXPECT_EQ(got.groups[i].group, want.groups[i].group);
    EXPECT_EQ(got.groups[i].flags, want.groups[i].flags);
  }
}

ChatEvent Message() {
  ChatEvent event;
  event.kind = ChatEvent::Kind::kMessage;
  event.source = {"zoë", "zoe", kIrcHost};
  event.group = "café";
  event.text = "héllo 世界 🎉";
  event.client_tags = "+draft/reply=abc;+typing=active";
  return event;
}

TEST(ClusterWireTest, EventRoundTrips) {
  const ChatEvent event = Message();
  const EventStamp stamp = {absl::FromUnixMicros(1796205600123456), "msgid-42"};
  const std::string bytes = EncodeEvent(event, stamp);
  const ClusterMessage message = Decode(bytes);
  EXPECT_EQ(message.kind, ClusterKind::kEvent);
  ExpectSameEvent(message.event, event);
  EXPECT_EQ(message.stamp.time, stamp.time);
  EXPECT_EQ(message.stamp.msgid, "msgid-42");
  // The views point into the bytes decoded.
  EXPECT_TRUE(IsSubrange(message.event.text, bytes));
  EXPECT_TRUE(IsSubrange(message.stamp.msgid, bytes));
  ExpectPrefixesRejected(bytes);
}

TEST(ClusterWireTest, PrivateEventWithEmptyFieldsRoundTrips) {
  ChatEvent event;
  event.kind = ChatEvent::Kind::kAway;
  event.target = "bob";
  const std::string bytes = EncodeEvent(event, EventStamp());
  const ClusterMessage message = Decode(bytes);
  ExpectSameEvent(message.event, event);
  // The default time is the Unix epoch, sent as 0.
  EXPECT_EQ(message.stamp.time, absl::Time());
  EXPECT_EQ(message.stamp.time, absl::UnixEpoch());
  EXPECT_THAT(message.stamp.msgid, IsEmpty());
  ExpectPrefixesRejected(bytes);
}

TEST(ClusterWireTest, BatchOfOneIsTheEvent) {
  const std::string event =
      EncodeEvent(Message(), {absl::FromUnixMicros(7), "m1"});
  std::string batch;
  AppendEvent(event, &batch);
  EXPECT_EQ(batch, event);
}

TEST(ClusterWireTest, BatchRoundTripsInOrder) {
  std::string batch;
  for (int i = 0; i < 3; ++i) {
    ChatEvent event = Message();
    const std::string text = absl::StrCat("message ", i);
    event.text = text;
    AppendEvent(EncodeEvent(event, {absl::FromUnixMicros(100 + i),
                                    absl::StrCat("id", i)}),
                &batch);
  }
  const ClusterMessage message = Decode(batch);
  EXPECT_EQ(message.kind, ClusterKind::kEvents);
  ASSERT_EQ(message.events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const ClusterEvent& e = message.events[i];
    EXPECT_EQ(e.event.text, absl::StrCat("message ", i));
    EXPECT_EQ(e.event.group, "café");
    EXPECT_EQ(e.event.source.nick, "zoë");
    EXPECT_EQ(e.stamp.time, absl::FromUnixMicros(100 + i));
    EXPECT_EQ(e.stamp.msgid, absl::StrCat("id", i));
    EXPECT_TRUE(IsSubrange(e.event.text, batch));
  }
  // Cut inside its last event, a batch is truncated.
  for (size_t cut = 1; cut < 10; ++cut) {
    EXPECT_THAT(DecodeError(batch.substr(0, batch.size() - cut)),
                HasSubstr("truncated"))
        << cut;
  }
}

TEST(ClusterWireTest, RejectsBatchOfOne) {
  std::string body = EncodeEvent(Message(), {});
  body[0] = static_cast<char>(ClusterKind::kEvents);
  EXPECT_THAT(DecodeError(body), HasSubstr("batch of one"));
}

TEST(ClusterWireTest, EveryEventKindRoundTrips) {
  for (int kind = 0; kind <= static_cast<int>(ChatEvent::Kind::kAway); ++kind) {
    ChatEvent event = Message();
    event.kind = static_cast<ChatEvent::Kind>(kind);
    const std::string bytes = EncodeRename(event);  // The views' storage.
    const ClusterMessage message = Decode(bytes);
    EXPECT_EQ(message.kind, ClusterKind::kRename);
    ExpectSameEvent(message.event, event);
  }
}

TEST(ClusterWireTest, EventTimesBeforeTheEpochRoundTrip) {
  for (const int64_t micros : {int64_t{-1}, int64_t{-1796205600123456},
                               int64_t{1}, std::numeric_limits<int64_t>::min(),
                               std::numeric_limits<int64_t>::max()}) {
    const ClusterMessage message =
        Decode(EncodeEvent(Message(), {absl::FromUnixMicros(micros), ""}));
    EXPECT_EQ(absl::ToUnixMicros(message.stamp.time), micros);
  }
}

TEST(ClusterWireTest, ClaimRoundTrips) {
  for (const int64_t claimed_us :
       {int64_t{0}, int64_t{-5}, int64_t{1796205600123456},
        std::numeric_limits<int64_t>::min(),
        std::numeric_limits<int64_t>::max()}) {
    ClusterPerson person;
    person.name = "Ünïcødé";
    person.user = "uni";
    person.realname = "Ü. Nicode, the 3rd";
    person.irc = claimed_us % 2 == 0;
    person.claimed_us = claimed_us;
    const std::string bytes = EncodeClaim(person);
    const ClusterMessage message = Decode(bytes);
    EXPECT_EQ(message.kind, ClusterKind::kClaim);
    ExpectSamePerson(message.person, person);
    ExpectPrefixesRejected(bytes);
  }
}

TEST(ClusterWireTest, LineMemberClaimRoundTrips) {
  ClusterPerson person;
  person.name = "ann";
  const std::string bytes = EncodeClaim(person);
  const ClusterMessage message = Decode(bytes);
  ExpectSamePerson(message.person, person);
}

TEST(ClusterWireTest, ReleaseRoundTrips) {
  const std::string bytes = EncodeRelease("ann");
  const ClusterMessage message = Decode(bytes);
  EXPECT_EQ(message.kind, ClusterKind::kRelease);
  EXPECT_EQ(message.person.name, "ann");
  EXPECT_THAT(Decode(EncodeRelease("")).person.name, IsEmpty());
  ExpectPrefixesRejected(bytes);
}

TEST(ClusterWireTest, JoinRoundTrips) {
  ChatEvent event;
  event.kind = ChatEvent::Kind::kJoin;
  event.source = {"ann", "ann", kLineHost};
  event.group = "lobby";
  const std::string bytes = EncodeJoin(event, 0xA5, -1234567890123);
  const ClusterMessage message = Decode(bytes);
  EXPECT_EQ(message.kind, ClusterKind::kJoin);
  ExpectSameEvent(message.event, event);
  EXPECT_EQ(message.flags, 0xA5);
  EXPECT_EQ(message.person.claimed_us, -1234567890123);
  ExpectPrefixesRejected(bytes);
}

TEST(ClusterWireTest, LeaveRoundTrips) {
  ChatEvent event;
  event.kind = ChatEvent::Kind::kQuit;
  event.source = {"bob", "b", kIrcHost};
  event.text = "Quit: ça va";
  const std::vector<absl::string_view> groups = {"lobby", "", "日本"};
  const std::string bytes = EncodeLeave(event, groups);
  const ClusterMessage message = Decode(bytes);
  EXPECT_EQ(message.kind, ClusterKind::kLeave);
  ExpectSameEvent(message.event, event);
  EXPECT_THAT(message.groups, ElementsAre("lobby", "", "日本"));
  ExpectPrefixesRejected(bytes);
}

TEST(ClusterWireTest, RenameRoundTrips) {
  ChatEvent event;
  event.kind = ChatEvent::Kind::kNick;
  event.source = {"old", "u", kIrcHost};
  event.text = "nèw";
  const std::string bytes = EncodeRename(event);
  const ClusterMessage message = Decode(bytes);
  EXPECT_EQ(message.kind, ClusterKind::kRename);
  ExpectSameEvent(message.event, event);
  ExpectPrefixesRejected(bytes);
}

TEST(ClusterWireTest, SnapshotRoundTrips) {
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back(absl::StrCat("group-", i));
  std::vector<ClusterPerson> people(3);
  people[0].name = "ann";
  people[0].claimed_us = 0;
  people[1].name = "bøb";
  people[1].user = "bob";
  people[1].realname = "Bob Ø";
  people[1].irc = true;
  people[1].claimed_us = -1;
  for (int i = 0; i < 300; ++i) {
    people[1].groups.push_back({names[i], static_cast<uint8_t>(i)});
  }
  people[2].name = "";
  people[2].claimed_us = std::numeric_limits<int64_t>::max();
  people[2].groups.push_back({"", 0xFF});
  const std::string bytes = EncodeSnapshot(people);
  const ClusterMessage message = Decode(bytes);
  EXPECT_EQ(message.kind, ClusterKind::kSnapshot);
  ASSERT_EQ(message.people.size(), 3u);
  for (int i = 0; i < 3; ++i) ExpectSamePerson(message.people[i], people[i]);
  ExpectPrefixesRejected(bytes);
}

TEST(ClusterWireTest, EmptySnapshotRoundTrips) {
  EXPECT_EQ(EncodeSnapshot({}), std::string("\x07\x00", 2));
  EXPECT_THAT(Decode(EncodeSnapshot({})).people, IsEmpty());
}

TEST(ClusterWireTest, SyncAskRoundTrips) {
  const std::string bytes = EncodeSyncAsk("host-b");
  const ClusterMessage message = Decode(bytes);
  EXPECT_EQ(message.kind, ClusterKind::kSyncAsk);
  EXPECT_EQ(message.target, "host-b");
  ExpectPrefixesRejected(bytes);
}

TEST(ClusterWireTest, HeartbeatRoundTrips) {
  for (const uint64_t seq : {uint64_t{0}, uint64_t{127}, uint64_t{128},
                             std::numeric_limits<uint64_t>::max()}) {
    const std::string bytes = EncodeHeartbeat("node-1", seq);
    const ClusterMessage message = Decode(bytes);
    EXPECT_EQ(message.kind, ClusterKind::kHeartbeat);
    EXPECT_EQ(message.node, "node-1");
    EXPECT_EQ(message.presence_seq, seq);
    ExpectPrefixesRejected(bytes);
  }
}

TEST(ClusterWireTest, DecodingResetsTheMessage) {
  ClusterMessage message;
  ASSERT_TRUE(
      DecodeClusterMessage(EncodeLeave(Message(), {"a", "b"}), &message).ok());
  ASSERT_TRUE(DecodeClusterMessage(EncodeSyncAsk("x"), &message).ok());
  EXPECT_THAT(message.groups, IsEmpty());
  EXPECT_THAT(message.event.text, IsEmpty());
}

// The layout docs/CLUSTER.md's peers rely on, byte for byte.
TEST(ClusterWireTest, EncodingIsFixed) {
  EXPECT_EQ(EncodeHeartbeat("n1", 300), std::string("\x09\x02n1\xAC\x02"));
  EXPECT_EQ(EncodeRelease("ab"), std::string("\x03\x02"
                                             "ab"));
  ClusterPerson person;
  person.name = "a";
  person.irc = true;
  person.claimed_us = -2;  // Zigzag: 3.
  EXPECT_EQ(EncodeClaim(person), std::string("\x02\x01"
                                             "a\x00\x00\x01\x03",
                                             7));
  ChatEvent event;
  event.kind = ChatEvent::Kind::kNick;
  event.text = "b";
  EXPECT_EQ(EncodeRename(event), std::string("\x06\x09\x00\x00\x00\x00\x00\x01"
                                             "b\x00",
                                             10));
  EXPECT_EQ(EncodeEvent(event, {absl::FromUnixMicros(64), "m"}),
            std::string("\x01\x09\x00\x00\x00\x00\x00\x01"
                        "b\x00\x80\x01\x01m",
                        14));
}

TEST(ClusterWireTest, RejectsEmptyInput) {
  EXPECT_THAT(DecodeError(""), HasSubstr("empty"));
}

TEST(ClusterWireTest, RejectsUnknownKinds) {
  for (const char kind : {'\x00', '\x0B', '\x7F', '\xFF'}) {
    EXPECT_THAT(DecodeError(std::string(1, kind) + std::string(16, '\0')),
                HasSubstr("unknown kind"));
  }
}

TEST(ClusterWireTest, RejectsTrailingBytes) {
  EXPECT_THAT(DecodeError(EncodeSyncAsk("x") + "y"), HasSubstr("trailing"));
  EXPECT_THAT(DecodeError(EncodeEvent(Message(), {}) + std::string(1, '\0')),
              HasSubstr("trailing"));
}

TEST(ClusterWireTest, RejectsTruncatedFields) {
  EXPECT_THAT(DecodeError("\x08\x05"
                          "abcd"),
              HasSubstr("truncated string"));
  EXPECT_THAT(DecodeError("\x08\x80"), HasSubstr("truncated varint"));
  EXPECT_THAT(DecodeError("\x09\x00\xFF\xFF"s), HasSubstr("truncated varint"));
  EXPECT_THAT(DecodeError("\x08"), HasSubstr("truncated"));
}

TEST(ClusterWireTest, RejectsOverlongVarints) {
  // Eleven bytes, the first ten with the continuation bit.
  EXPECT_THAT(
      DecodeError("\x09\x00"s + std::string(10, '\x80') + std::string(1, '\0')),
      HasSubstr("too long"));
  // Ten bytes whose last carries bits past 63.
  EXPECT_THAT(DecodeError("\x09\x00"s + std::string(9, '\xFF') + "\x02"),
              HasSubstr("overflow"));
  // The largest value takes exactly ten bytes and is fine, as are redundant
  // zero groups within ten bytes.
  EXPECT_EQ(Decode("\x09\x00"s + std::string(9, '\xFF') + "\x01").presence_seq,
            std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(Decode("\x09\x00\x81\x80\x00"s).presence_seq, 1u);
}

TEST(ClusterWireTest, RejectsBadBools) {
  std::string bytes = EncodeClaim(ClusterPerson());
  ASSERT_EQ(bytes, std::string("\x02\x00\x00\x00\x00\x00", 6));
  bytes[4] = '\x02';
  EXPECT_THAT(DecodeError(bytes), HasSubstr("bool"));
  bytes[4] = '\xFF';
  EXPECT_THAT(DecodeError(bytes), HasSubstr("bool"));
}

TEST(ClusterWireTest, RejectsEventKindsOutOfRange) {
  std::string bytes = EncodeRename(ChatEvent());
  const char last = static_cast<char>(ChatEvent::Kind::kAway);
  bytes[1] = last;
  Decode(bytes);
  for (const char kind : {static_cast<char>(last + 1), '\x80', '\xFF'}) {
    bytes[1] = kind;
    EXPECT_THAT(DecodeError(bytes), HasSubstr("event kind"));
  }
}

TEST(ClusterWireTest, RejectsHugeLists) {
  // 1,000,001 entries: refused before anything is allocated for them.
  std::string leave = EncodeLeave(ChatEvent(), {});
  leave.pop_back();
  EXPECT_THAT(DecodeError(leave + "\xC1\x84\x3D"), HasSubstr("too long"));
  EXPECT_THAT(DecodeError("\x07\xC1\x84\x3D"), HasSubstr("too long"));
  // A count within the limit but beyond the bytes left is truncation.
  EXPECT_THAT(DecodeError("\x07\xC0\x84\x3D"), HasSubstr("truncated"));
  EXPECT_THAT(DecodeError(leave + "\x02\x00"s), HasSubstr("truncated"));
}

// The fuzzer's seeds (testdata/cluster_wire_corpus) stay valid bodies.
TEST(ClusterWireTest, SeedCorpusDecodes) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  ASSERT_NE(srcdir, nullptr);
  ASSERT_NE(workspace, nullptr);
  const std::filesystem::path dir = std::filesystem::path(srcdir) / workspace /
                                    "core/testdata/cluster_wire_corpus";
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    ClusterMessage message;
    EXPECT_TRUE(DecodeClusterMessage(bytes, &message).ok()) << entry.path();
    ++seeds;
  }
  EXPECT_GE(seeds, 11);
}

}  // namespace
}  // namespace chatd
