// Fuzzes the cluster wire decoder with arbitrary bytes, as NATS may deliver
// them. Whatever it accepts must have views inside the input, and must
// survive a round trip: encoding it again with the encoder for its kind
// yields a body (no longer than the input, since every accepted field is at
// least as long as its canonical form) that decodes to the same message and
// encodes back to the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_event.h"
#include "core/cluster_wire.h"
#include "tools/fuzz/fuzz_check.h"

namespace chatd {
namespace {

bool IsSubrange(absl::string_view view, absl::string_view outer) {
  return view.empty() ||
         (view.data() >= outer.data() &&
          view.data() + view.size() <= outer.data() + outer.size());
}

void CheckViews(const ClusterMessage& m, absl::string_view in) {
  for (absl::string_view view :
       {m.event.source.nick, m.event.source.user, m.event.source.host,
        m.event.group, m.event.target, m.event.text, m.event.client_tags,
        m.stamp.msgid, m.person.name, m.person.user, m.person.realname,
        m.target, m.node}) {
    FUZZ_CHECK(IsSubrange(view, in));
  }
  for (const ClusterEvent& e : m.events) {
    for (absl::string_view view :
         {e.event.source.nick, e.event.source.user, e.event.source.host,
          e.event.group, e.event.target, e.event.text, e.event.client_tags,
          e.stamp.msgid}) {
      FUZZ_CHECK(IsSubrange(view, in));
    }
  }
  for (absl::string_view group : m.groups) FUZZ_CHECK(IsSubrange(group, in));
  for (const ClusterPerson& person : m.people) {
    FUZZ_CHECK(IsSubrange(person.name, in));
    FUZZ_CHECK(IsSubrange(person.user, in));
    FUZZ_CHECK(IsSubrange(person.realname, in));
    for (const ClusterPerson::GroupFlags& entry : person.groups) {
      FUZZ_CHECK(IsSubrange(entry.group, in));
    }
  }
}

std::string Encode(const ClusterMessage& m) {
  switch (m.kind) {
    case ClusterKind::kEvent:
      return EncodeEvent(m.event, m.stamp);
    case ClusterKind::kEvents: {
      std::string batch;
      for (const ClusterEvent& e : m.events) {
        AppendEvent(EncodeEvent(e.event, e.stamp), &batch);
      }
      return batch;
    }
    case ClusterKind::kClaim:
      return EncodeClaim(m.person);
    case ClusterKind::kRelease:
      return EncodeRelease(m.person.name);
    case ClusterKind::kJoin:
      return EncodeJoin(m.event, m.flags, m.person.claimed_us);
    case ClusterKind::kLeave:
      return EncodeLeave(m.event, m.groups);
    case ClusterKind::kRename:
      return EncodeRename(m.event);
    case ClusterKind::kSnapshot:
      return EncodeSnapshot(m.people);
    case ClusterKind::kSyncAsk:
      return EncodeSyncAsk(m.target);
    case ClusterKind::kHeartbeat:
      return EncodeHeartbeat(m.node, m.presence_seq);
  }
  FUZZ_CHECK(false);
  return "";
}

void CheckSamePerson(const ClusterPerson& a, const ClusterPerson& b) {
  FUZZ_CHECK(a.name == b.name);
  FUZZ_CHECK(a.user == b.user);
  FUZZ_CHECK(a.realname == b.realname);
  FUZZ_CHECK(a.irc == b.irc);
  FUZZ_CHECK(a.claimed_us == b.claimed_us);
  FUZZ_CHECK(a.groups.size() == b.groups.size());
  for (size_t i = 0; i < a.groups.size(); ++i) {
    FUZZ_CHECK(a.groups[i].group == b.groups[i].group);
    FUZZ_CHECK(a.groups[i].flags == b.groups[i].flags);
  }
}

void CheckSameEvent(const ChatEvent& a, const EventStamp& a_stamp,
                    const ChatEvent& b, const EventStamp& b_stamp) {
  FUZZ_CHECK(a.kind == b.kind);
  FUZZ_CHECK(a.source.nick == b.source.nick);
  FUZZ_CHECK(a.source.user == b.source.user);
  FUZZ_CHECK(a.source.host == b.source.host);
  FUZZ_CHECK(a.group == b.group);
  FUZZ_CHECK(a.target == b.target);
  FUZZ_CHECK(a.text == b.text);
  FUZZ_CHECK(a.client_tags == b.client_tags);
  FUZZ_CHECK(a_stamp.time == b_stamp.time);
  FUZZ_CHECK(a_stamp.msgid == b_stamp.msgid);
}

void CheckSame(const ClusterMessage& a, const ClusterMessage& b) {
  FUZZ_CHECK(a.kind == b.kind);
  CheckSameEvent(a.event, a.stamp, b.event, b.stamp);
  FUZZ_CHECK(a.events.size() == b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    CheckSameEvent(a.events[i].event, a.events[i].stamp, b.events[i].event,
                   b.events[i].stamp);
  }
  CheckSamePerson(a.person, b.person);
  FUZZ_CHECK(a.flags == b.flags);
  FUZZ_CHECK(a.groups == b.groups);
  FUZZ_CHECK(a.people.size() == b.people.size());
  for (size_t i = 0; i < a.people.size(); ++i) {
    CheckSamePerson(a.people[i], b.people[i]);
  }
  FUZZ_CHECK(a.target == b.target);
  FUZZ_CHECK(a.node == b.node);
  FUZZ_CHECK(a.presence_seq == b.presence_seq);
}

}  // namespace
}  // namespace chatd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatd;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  ClusterMessage first;
  if (!DecodeClusterMessage(input, &first).ok()) return 0;
  CheckViews(first, input);
  FUZZ_CHECK(first.event.kind <= ChatEvent::Kind::kAway);
  FUZZ_CHECK(first.kind != ClusterKind::kEvents || first.events.size() >= 2);

  const std::string encoded = Encode(first);
  FUZZ_CHECK(encoded.size() <= input.size());
  ClusterMessage second;
  FUZZ_CHECK(DecodeClusterMessage(encoded, &second).ok());
  CheckViews(second, encoded);
  CheckSame(first, second);
  FUZZ_CHECK(Encode(second) == encoded);
  return 0;
}
