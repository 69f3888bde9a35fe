// The bodies of the messages chatd hosts exchange over the NATS backplane
// (docs/CLUSTER.md): a chat event said in a group or privately, and the
// presence changes (names claimed and released, groups joined and left,
// renames, whole snapshots) that keep every host's roster of the other
// hosts' members. Socket-free encoders and a decoder that accepts any
// bytes: what arrives from NATS is untrusted input, so a malformed body is
// an error, never a crash. The origin host and its sequence numbers travel
// in NATS headers, not here.
//
// Encoding: a kind byte, then fields in a fixed order. A string is a
// varint length and its bytes; an integer is a varint (signed ones
// zigzagged). Decoded views point into the bytes given to the decoder,
// which must outlive them.
#ifndef CHATD_CORE_CLUSTER_WIRE_H_
#define CHATD_CORE_CLUSTER_WIRE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/chat_event.h"

namespace chatd {

enum class ClusterKind : uint8_t {
  kEvent = 1,      // A ChatEvent in a group, or private (event.target set).
  kClaim = 2,      // A person took a name.
  kRelease = 3,    // A person gave its name up (it is in no group).
  kJoin = 4,       // A person joined a group: the join event and flags.
  kLeave = 5,      // A person left groups: the leave event (part, quit...).
  kRename = 6,     // A person's name changed: the NICK event.
  kSnapshot = 7,   // Everyone on the origin host, replacing what was known.
  kSyncAsk = 8,    // Asks the host `target` for a snapshot.
  kHeartbeat = 9,  // The origin is alive.
  kEvents = 10,    // Several ChatEvents in one group, in the order said.
};

// One person on a host, as a claim or a snapshot carries it.
struct ClusterPerson {
  absl::string_view name;
  absl::string_view user;      // Empty for a line member.
  absl::string_view realname;  // Empty for a line member.
  bool irc = false;
  int64_t claimed_us = 0;  // Unix microseconds of the claim, at the origin.
  struct GroupFlags {
    absl::string_view group;
    uint8_t flags = 0;  // MemberFlag bits.
  };
  std::vector<GroupFlags> groups;  // Snapshots only.
};

// One event of a kEvents batch.
struct ClusterEvent {
  ChatEvent event;
  EventStamp stamp;
};

// A decoded message. Which fields are set depends on `kind`:
//   kEvent:     event, stamp
//   kEvents:    events (two or more; one travels as a kEvent)
//   kClaim:     person (without groups)
//   kRelease:   person.name
//   kJoin:      event (kJoin, its group), flags, claimed_us in person
//   kLeave:     event (kPart, kQuit or kKick), groups (one or more)
//   kRename:    event (kNick: source the old name, text the new)
//   kSnapshot:  people
//   kSyncAsk:   target (the origin id of the host asked)
//   kHeartbeat: node (the origin's --node_name), presence_seq (the last
//               presence sequence number it published)
struct ClusterMessage {
  ClusterKind kind = ClusterKind::kEvent;
  ChatEvent event;
  EventStamp stamp;
  ClusterPerson person;
  uint8_t flags = 0;
  std::vector<absl::string_view> groups;
  std::vector<ClusterPerson> people;
  absl::string_view target;
  absl::string_view node;
  uint64_t presence_seq = 0;
  std::vector<ClusterEvent> events;
};

// Encoders: each returns the body for one NATS message.
std::string EncodeEvent(const ChatEvent& event, const EventStamp& stamp);
// Appends the event of `event_body` (a body made by EncodeEvent) to
// `*batch`, which is empty or holds a kEvent or kEvents body and then holds
// a kEvents body. Copies the event's bytes, never re-encodes them: a host
// that has several messages queued for one group publishes them as one
// NATS message, whose per-message costs (headers, routing, wakeups) are
// most of what a message costs to cross.
void AppendEvent(absl::string_view event_body, std::string* batch);
std::string EncodeClaim(const ClusterPerson& person);
std::string EncodeRelease(absl::string_view name);
std::string EncodeJoin(const ChatEvent& event, uint8_t flags,
                       int64_t claimed_us);
std::string EncodeLeave(const ChatEvent& event,
                        const std::vector<absl::string_view>& groups);
std::string EncodeRename(const ChatEvent& event);
std::string EncodeSnapshot(const std::vector<ClusterPerson>& people);
std::string EncodeSyncAsk(absl::string_view target);
std::string EncodeHeartbeat(absl::string_view node, uint64_t presence_seq);

// Decodes any body made by an encoder above into `*message`, whose views
// point into `bytes`. InvalidArgument for anything else: an unknown kind,
// a truncated field, trailing bytes, an event kind out of range, more than
// 1,000,000 entries in a list, a kEvents of fewer than two events.
absl::Status DecodeClusterMessage(absl::string_view bytes,
                                  ClusterMessage* message);

}  // namespace chatd

#endif  // CHATD_CORE_CLUSTER_WIRE_H_
