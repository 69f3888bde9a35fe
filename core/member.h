// Member is one person in chat as the fan-out sees them, whatever protocol
// they speak: a name, the groups they are in, and how lines reach them
// (their wire class and caps, and the SessionOutput of their connection).
// A line or web member is in at most one group; an IRC member in many.
//
// Each membership is its own record (member, group, join epoch, slot in the
// shard's member list of that group), so joining and leaving stay O(1) in
// the shard however many groups a member is in. The first membership lives
// inside the Member, so a line member allocates nothing for it.
//
// Owned by its session, on its worker's thread; the shard keeps pointers to
// the records while they are joined.
#ifndef CHATD_CORE_MEMBER_H_
#define CHATD_CORE_MEMBER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/wire_class.h"
#include "net/payload.h"

namespace chatd {

class Group;
class Member;

// Where a member's lines go: its connection.
class SessionOutput {
 public:
  // Queues a complete line (or lines) for the client. Must not block or
  // call back into the session.
  virtual void Send(PayloadRef line) = 0;
  // The session ended without input asking it to (its member was kicked
  // from its only group): send `last_words` as the connection's final
  // line, flush and close.
  virtual void EndSession(PayloadRef last_words) = 0;

 protected:
  ~SessionOutput() = default;
};

struct Membership {
  Member* member = nullptr;
  Group* group = nullptr;     // Null in an unused record.
  uint64_t joined_epoch = 0;  // The group's epoch at the join.
  uint32_t slot = 0;          // Index in the shard's list for the group.
};

class Member {
 public:
  explicit Member(SessionOutput* output) : output_(output) {}
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  // Unique for the server's lifetime; 0 until the member has a name.
  uint64_t id() const { return id_; }
  bool named() const { return id_ != 0; }
  const std::string& name() const { return name_; }
  // The IRC user name shown in its source: the name, for a line member.
  absl::string_view user() const {
    return user_ == nullptr ? absl::string_view(name_) : *user_;
  }
  absl::string_view host() const;
  bool irc() const { return wire_class_ != WireClass::kLine; }

  WireClass wire_class() const { return wire_class_; }
  uint8_t caps() const { return caps_; }

  // Queues `rendition`'s form for this member, if it has one and the
  // member has the caps it requires. False when nothing was queued (a
  // TAGMSG for a plain client, AWAY without away-notify), so that only
  // real deliveries are counted.
  bool Deliver(const Rendition& rendition) {
    if ((caps_ & rendition.required_caps) != rendition.required_caps) {
      return false;
    }
    const PayloadRef& line = rendition.For(wire_class_);
    if (!line) return false;
    output_->Send(line);
    return true;
  }
  SessionOutput& output() { return *output_; }

  size_t group_count() const;
  // The membership in `group`, or null.
  Membership* Find(const Group* group);
  // Calls fn(Membership&) for each membership; fn must not join or leave.
  template <typename Fn>
  void ForEachMembership(Fn&& fn) {
    if (first_.group != nullptr) fn(first_);
    if (more_ == nullptr) return;
    for (const std::unique_ptr<Membership>& m : *more_) fn(*m);
  }
  template <typename Fn>
  void ForEachMembership(Fn&& fn) const {
    if (first_.group != nullptr) fn(first_);
    if (more_ == nullptr) return;
    for (const std::unique_ptr<Membership>& m : *more_) fn(std::as_const(*m));
  }

 private:
  friend class ChatShard;

  Membership* AddMembership(Group* group);
  void RemoveMembership(Membership* membership);

  SessionOutput* const output_;
  uint64_t id_ = 0;
  // Set by the shard on the member's own thread when it handles a post
  // for several groups, so one recipient in two of them gets it once.
  uint64_t delivery_mark_ = 0;
  WireClass wire_class_ = WireClass::kLine;
  uint8_t caps_ = 0;
  std::string name_;
  // IRC only: behind a pointer, so a line member pays 8 bytes for it.
  std::unique_ptr<std::string> user_;
  Membership first_;
  // Memberships after the first; allocated only for a member in two groups
  // or more, so a line member pays one pointer for it.
  std::unique_ptr<std::vector<std::unique_ptr<Membership>>> more_;
};

}  // namespace chatd

#endif  // CHATD_CORE_MEMBER_H_
