#include "core/cluster_wire.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_event.h"

namespace chatd {
namespace {

constexpr uint64_t kMaxListEntries = 1000000;
constexpr int kMaxVarintBytes = 10;

// Appends fields to a body.
class Writer {
 public:
  explicit Writer(ClusterKind kind) {
    out_.reserve(64);  // Most bodies fit; a snapshot grows as it must.
    Byte(static_cast<uint8_t>(kind));
  }

  void Byte(uint8_t byte) { out_.push_back(static_cast<char>(byte)); }
  void Bool(bool value) { Byte(value ? 1 : 0); }

  void Varint(uint64_t value) {
    while (value >= 0x80) {
      Byte(static_cast<uint8_t>(value | 0x80));
      value >>= 7;
    }
    Byte(static_cast<uint8_t>(value));
  }

  void Signed(int64_t value) {
    const uint64_t bits = static_cast<uint64_t>(value);
    Varint((bits << 1) ^ (value < 0 ? ~uint64_t{0} : uint64_t{0}));
  }

  void String(absl::string_view value) {
    Varint(value.size());
    out_.append(value.data(), value.size());
  }

  void Event(const ChatEvent& event) {
    Byte(static_cast<uint8_t>(event.kind));
    String(event.source.nick);
    String(event.source.user);
    String(event.source.host);
    String(event.group);
    String(event.target);
    String(event.text);
    String(event.client_tags);
  }

  void Person(const ClusterPerson& person) {
    String(person.name);
    String(person.user);
    String(person.realname);
    Bool(person.irc);
    Signed(person.claimed_us);
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields from a body. Each method returns false and records an error
// at the first malformed field; later calls then fail too.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}

  bool Byte(uint8_t* byte) {
    if (in_.empty()) return Fail("truncated");
    *byte = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }

  bool Bool(bool* value) {
    uint8_t byte;
    if (!Byte(&byte)) return false;
    if (byte > 1) return Fail("bad bool");
    *value = byte == 1;
    return true;
  }

  bool Varint(uint64_t* value) {
    uint64_t result = 0;
    for (int i = 0; i < kMaxVarintBytes; ++i) {
      if (in_.empty()) return Fail("truncated varint");
      const uint8_t byte = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      // The tenth byte holds bit 63 alone.
      if (i == kMaxVarintBytes - 1 && (byte & 0x7F) > 1) {
        return Fail("varint overflow");
      }
      result |= uint64_t{byte & 0x7Fu} << (7 * i);
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return Fail("varint too long");
  }

  bool Signed(int64_t* value) {
    uint64_t bits;
    if (!Varint(&bits)) return false;
    *value = static_cast<int64_t>((bits >> 1) ^ (~(bits & 1) + 1));
    return true;
  }

  bool String(absl::string_view* value) {
    uint64_t size;
    if (!Varint(&size)) return false;
    if (size > in_.size()) return Fail("truncated string");
    *value = in_.substr(0, size);
    in_.remove_prefix(size);
    return true;
  }

  // A list's entry count. Every entry takes at least one byte, so more
  // entries than bytes left is truncation (and is never reserved for).
  bool Count(uint64_t* count) {
    if (!Varint(count)) return false;
    if (*count > kMaxListEntries) return Fail("list too long");
    if (*count > in_.size()) return Fail("truncated list");
    return true;
  }

  bool Event(ChatEvent* event) {
    uint8_t kind;
    if (!Byte(&kind)) return false;
    if (kind > static_cast<uint8_t>(ChatEvent::Kind::kAway)) {
      return Fail("bad event kind");
    }
    event->kind = static_cast<ChatEvent::Kind>(kind);
    return String(&event->source.nick) && String(&event->source.user) &&
           String(&event->source.host) && String(&event->group) &&
           String(&event->target) && String(&event->text) &&
           String(&event->client_tags);
  }

  bool Person(ClusterPerson* person) {
    return String(&person->name) && String(&person->user) &&
           String(&person->realname) && Bool(&person->irc) &&
           Signed(&person->claimed_us);
  }

  bool AtEnd() const { return in_.empty(); }
  size_t left() const { return in_.size(); }

  // Records the first error; stops all further reads.
  bool Fail(const char* error) {
    if (error_ == nullptr) error_ = error;
    in_ = absl::string_view();
    return false;
  }

  absl::Status Finish() {
    if (error_ == nullptr && !in_.empty()) Fail("trailing bytes");
    if (error_ != nullptr) return absl::InvalidArgumentError(error_);
    return absl::OkStatus();
  }

 private:
  absl::string_view in_;
  const char* error_ = nullptr;
};

bool ReadGroups(Reader* reader, std::vector<absl::string_view>* groups) {
  uint64_t count;
  if (!reader->Count(&count)) return false;
  groups->resize(count);
  for (absl::string_view& group : *groups) {
    if (!reader->String(&group)) return false;
  }
  return true;
}

bool ReadPeople(Reader* reader, std::vector<ClusterPerson>* people) {
  uint64_t count;
  if (!reader->Count(&count)) return false;
  people->resize(count);
  for (ClusterPerson& person : *people) {
    uint64_t groups;
    if (!reader->Person(&person) || !reader->Count(&groups)) return false;
    person.groups.resize(groups);
    for (ClusterPerson::GroupFlags& entry : person.groups) {
      if (!reader->String(&entry.group) || !reader->Byte(&entry.flags)) {
        return false;
      }
    }
  }
  return true;
}

bool ReadStampedEvent(Reader* reader, ChatEvent* event, EventStamp* stamp) {
  int64_t micros;
  if (!reader->Event(event) || !reader->Signed(&micros)) return false;
  stamp->time = absl::FromUnixMicros(micros);
  return reader->String(&stamp->msgid);
}

// kEvents: events until the body ends, at least two (one is a kEvent).
bool ReadEvents(Reader* reader, std::vector<ClusterEvent>* events) {
  // A chat line with its names and stamp takes some 100 bytes here: room
  // for most batches without regrowing, and never more than a few times
  // what is used (the smallest event takes 10 bytes).
  events->reserve(reader->left() / 64 + 1);
  do {
    if (events->size() == kMaxListEntries) return reader->Fail("list too long");
    ClusterEvent& e = events->emplace_back();
    if (!ReadStampedEvent(reader, &e.event, &e.stamp)) return false;
  } while (!reader->AtEnd());
  if (events->size() < 2) return reader->Fail("batch of one");
  return true;
}

// Reads the fields `message->kind` says follow.
bool ReadBody(Reader* reader, ClusterMessage* message) {
  switch (message->kind) {
    case ClusterKind::kEvent:
      return ReadStampedEvent(reader, &message->event, &message->stamp);
    case ClusterKind::kEvents:
      return ReadEvents(reader, &message->events);
    case ClusterKind::kClaim:
      return reader->Person(&message->person);
    case ClusterKind::kRelease:
      return reader->String(&message->person.name);
    case ClusterKind::kJoin:
      return reader->Event(&message->event) && reader->Byte(&message->flags) &&
             reader->Signed(&message->person.claimed_us);
    case ClusterKind::kLeave:
      return reader->Event(&message->event) &&
             ReadGroups(reader, &message->groups);
    case ClusterKind::kRename:
      return reader->Event(&message->event);
    case ClusterKind::kSnapshot:
      return ReadPeople(reader, &message->people);
    case ClusterKind::kSyncAsk:
      return reader->String(&message->target);
    case ClusterKind::kHeartbeat:
      return reader->String(&message->node) &&
             reader->Varint(&message->presence_seq);
  }
  return false;
}

}  // namespace

std::string EncodeEvent(const ChatEvent& event, const EventStamp& stamp) {
  Writer writer(ClusterKind::kEvent);
  writer.Event(event);
  writer.Signed(absl::ToUnixMicros(stamp.time));
  writer.String(stamp.msgid);
  return writer.Take();
}

void AppendEvent(absl::string_view event_body, std::string* batch) {
  if (batch->empty()) {
    batch->assign(event_body.data(), event_body.size());
    return;
  }
  // A kEvents body is a kEvent body with more events after its first.
  (*batch)[0] = static_cast<char>(ClusterKind::kEvents);
  batch->append(event_body.data() + 1, event_body.size() - 1);
}

std::string EncodeClaim(const ClusterPerson& person) {
  Writer writer(ClusterKind::kClaim);
  writer.Person(person);
  return writer.Take();
}

std::string EncodeRelease(absl::string_view name) {
  Writer writer(ClusterKind::kRelease);
  writer.String(name);
  return writer.Take();
}

std::string EncodeJoin(const ChatEvent& event, uint8_t flags,
                       int64_t claimed_us) {
  Writer writer(ClusterKind::kJoin);
  writer.Event(event);
  writer.Byte(flags);
  writer.Signed(claimed_us);
  return writer.Take();
}

std::string EncodeLeave(const ChatEvent& event,
                        const std::vector<absl::string_view>& groups) {
  Writer writer(ClusterKind::kLeave);
  writer.Event(event);
  writer.Varint(groups.size());
  for (absl::string_view group : groups) writer.String(group);
  return writer.Take();
}

std::string EncodeRename(const ChatEvent& event) {
  Writer writer(ClusterKind::kRename);
  writer.Event(event);
  return writer.Take();
}

std::string EncodeSnapshot(const std::vector<ClusterPerson>& people) {
  Writer writer(ClusterKind::kSnapshot);
  writer.Varint(people.size());
  for (const ClusterPerson& person : people) {
    writer.Person(person);
    writer.Varint(person.groups.size());
    for (const ClusterPerson::GroupFlags& entry : person.groups) {
      writer.String(entry.group);
      writer.Byte(entry.flags);
    }
  }
  return writer.Take();
}

std::string EncodeSyncAsk(absl::string_view target) {
  Writer writer(ClusterKind::kSyncAsk);
  writer.String(target);
  return writer.Take();
}

std::string EncodeHeartbeat(absl::string_view node, uint64_t presence_seq) {
  Writer writer(ClusterKind::kHeartbeat);
  writer.String(node);
  writer.Varint(presence_seq);
  return writer.Take();
}

absl::Status DecodeClusterMessage(absl::string_view bytes,
                                  ClusterMessage* message) {
  *message = ClusterMessage();
  if (bytes.empty()) return absl::InvalidArgumentError("empty message");
  const uint8_t kind = static_cast<uint8_t>(bytes[0]);
  if (kind < static_cast<uint8_t>(ClusterKind::kEvent) ||
      kind > static_cast<uint8_t>(ClusterKind::kEvents)) {
    return absl::InvalidArgumentError("unknown kind");
  }
  message->kind = static_cast<ClusterKind>(kind);
  Reader reader(bytes.substr(1));
  ReadBody(&reader, message);  // Any error is kept in `reader`.
  return reader.Finish();
}

}  // namespace chatd
