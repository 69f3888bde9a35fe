// The commands of a registered IRC client: channels, messages, queries.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/irc_session.h"
#include "core/protocol.h"

namespace chatd {
namespace {

// Most targets one PRIVMSG, NOTICE or TAGMSG takes (TARGMAX).
constexpr size_t kMaxTargets = 4;

}  // namespace

bool IrcSession::IsChannel(absl::string_view target) {
  return absl::StartsWith(target, "#");
}

absl::string_view IrcSession::GroupOf(absl::string_view channel) {
  if (!IsChannel(channel)) return {};
  const absl::string_view group = channel.substr(1);
  return IsValidIdentifier(group) ? group : absl::string_view();
}

std::vector<absl::string_view> IrcSession::Targets(absl::string_view list) {
  return absl::StrSplit(list, ',', absl::SkipEmpty());
}

void IrcSession::ReplyNotOnChannel(absl::string_view channel) {
  const absl::string_view group = GroupOf(channel);
  if (group.empty() || !shard_->registry().FindGroup(group).has_value()) {
    Reply("403", {channel, "No such channel"});
  } else {
    Reply("442", {channel, "You're not on that channel"});
  }
}

Membership* IrcSession::FindChannel(absl::string_view channel) {
  const absl::string_view group = GroupOf(channel);
  Membership* found = nullptr;
  member_.ForEachMembership([&](Membership& m) {
    if (absl::EqualsIgnoreCase(m.group->name(), group)) found = &m;
  });
  return found;
}

std::string IrcSession::Prefix(uint8_t flags) const {
  std::string prefix;
  if (flags & kFlagOp) prefix += '@';
  if ((flags & kFlagVoice) &&
      (prefix.empty() || (caps_ & kIrcCapMultiPrefix))) {
    prefix += '+';
  }
  return prefix;
}

void IrcSession::Announce(const Membership& membership, ChatEvent::Kind kind,
                          absl::string_view text) {
  ChatEvent event = Event(kind);
  const std::string group = membership.group->name();
  event.group = group;
  event.text = text;
  FlushReplies();
  shard_->Broadcast(membership, event, /*to_sender=*/true);
}

void IrcSession::HandleJoin(const IrcMessage& m) {
  if (m.params.empty() || m.params[0].empty()) {
    Reply("461", {"JOIN", "Not enough parameters"});
    return;
  }
  if (m.params[0] == "0") {
    PartAll();
    return;
  }
  for (absl::string_view channel : Targets(m.params[0])) JoinOne(channel);
}

void IrcSession::JoinOne(absl::string_view channel) {
  const absl::string_view group = GroupOf(channel);
  if (group.empty()) {
    Reply("403", {channel, "No such channel"});
    return;
  }
  if (FindChannel(channel) != nullptr) return;
  if (member_.group_count() >= kMaxChannels) {
    Reply("405", {channel, "You have joined too many channels"});
    return;
  }
  ChatEvent event = Event(ChatEvent::Kind::kJoin);
  event.group = group;
  FlushReplies();
  absl::StatusOr<GroupRegistry::Joined> joined =
      shard_->Join(&member_, group, event);
  if (!joined.ok()) return;
  // Our own JOIN shows the group as first written.
  const std::string shown = joined->group->name();
  event.group = shown;
  SendSelf(event);
  const GroupRegistry::Topic topic =
      shard_->registry().GetTopic(*joined->group);
  const std::string name = absl::StrCat("#", shown);
  if (!topic.text.empty()) {
    Reply("332", {name, topic.text});
    Reply("333",
          {name, topic.set_by, absl::StrCat(absl::ToUnixSeconds(topic.set_at))},
          false);
  }
  SendNames(name);
}

void IrcSession::HandlePart(const IrcMessage& m) {
  if (m.params.empty() || m.params[0].empty()) {
    Reply("461", {"PART", "Not enough parameters"});
    return;
  }
  const absl::string_view reason =
      TruncateForIrc(m.params.size() > 1 ? m.params[1] : "", kMaxReasonBytes);
  for (absl::string_view channel : Targets(m.params[0])) {
    Membership* membership = FindChannel(channel);
    if (membership == nullptr) {
      ReplyNotOnChannel(channel);
      continue;
    }
    ChatEvent event = Event(ChatEvent::Kind::kPart);
    const std::string shown = membership->group->name();
    event.group = shown;
    event.text = reason;
    SendSelf(event);
    shard_->Leave(membership, event);
  }
}

void IrcSession::PartAll() {
  std::vector<std::string> channels;
  member_.ForEachMembership([&](Membership& m) {
    channels.push_back(absl::StrCat("#", m.group->name()));
  });
  for (const std::string& channel : channels) {
    Membership* membership = FindChannel(channel);
    ChatEvent event = Event(ChatEvent::Kind::kPart);
    const std::string shown = membership->group->name();
    event.group = shown;
    SendSelf(event);
    shard_->Leave(membership, event);
  }
}

void IrcSession::HandleMessage(const IrcMessage& m, ChatEvent::Kind kind) {
  const bool notice = kind == ChatEvent::Kind::kNotice;
  const bool tagmsg = kind == ChatEvent::Kind::kTagMsg;
  const absl::string_view command = notice   ? "NOTICE"
                                    : tagmsg ? "TAGMSG"
                                             : "PRIVMSG";
  if (m.params.empty() || m.params[0].empty()) {
    if (!notice)
      Reply("411", {absl::StrCat("No recipient given (", command, ")")});
    return;
  }
  absl::string_view text = m.params.size() > 1 ? m.params[1] : "";
  if (!tagmsg && text.empty()) {
    if (!notice) Reply("412", {"No text to send"});
    return;
  }
  ChatEvent event = Event(kind);
  // CTCP: an ACTION is shown to line members; other CTCPs only on IRC.
  if (!tagmsg && absl::StartsWith(text, "\x01")) {
    absl::string_view inner = text.substr(1);
    absl::ConsumeSuffix(&inner, "\x01");
    if (!notice && absl::ConsumePrefix(&inner, "ACTION ")) {
      event.kind = ChatEvent::Kind::kAction;
      text = inner;
    } else {
      event.kind = ChatEvent::Kind::kCtcp;
    }
  }
  event.text = text;
  const std::string client_tags = ClientTagsToRelay(m.tags);
  event.client_tags = client_tags;
  std::vector<absl::string_view> targets = Targets(m.params[0]);
  if (targets.size() > kMaxTargets) targets.resize(kMaxTargets);
  for (absl::string_view target : targets) SendTo(target, event, notice);
}

void IrcSession::SendTo(absl::string_view target, const ChatEvent& message,
                        bool notice) {
  ChatEvent event = message;
  const bool echo = (caps_ & kIrcCapEchoMessage) != 0;
  if (IsChannel(target)) {
    Membership* membership = FindChannel(target);
    if (membership == nullptr) {
      if (notice) return;
      const absl::string_view group = GroupOf(target);
      if (!group.empty() && shard_->registry().FindGroup(group).has_value()) {
        Reply("404", {target, "Cannot send to channel"});
      } else {
        Reply("403", {target, "No such channel"});
      }
      return;
    }
    const std::string shown = membership->group->name();
    event.group = shown;
    FlushReplies();
    shard_->Broadcast(*membership, event, echo);
    return;
  }
  FlushReplies();
  absl::StatusOr<GroupRegistry::Recipient> recipient =
      shard_->SendPrivate(&member_, target, event);
  if (!recipient.ok()) {
    if (!notice) Reply("401", {target, "No such nick/channel"});
    return;
  }
  if (!notice && !recipient->away.empty()) {
    Reply("301", {recipient->name, recipient->away});
  }
}

void IrcSession::HandleTopic(const IrcMessage& m, absl::Time now) {
  if (m.params.empty() || m.params[0].empty()) {
    Reply("461", {"TOPIC", "Not enough parameters"});
    return;
  }
  const absl::string_view channel = m.params[0];
  Membership* membership = FindChannel(channel);
  if (membership == nullptr) {
    ReplyNotOnChannel(channel);
    return;
  }
  const std::string shown = absl::StrCat("#", membership->group->name());
  if (m.params.size() < 2) {
    const GroupRegistry::Topic topic =
        shard_->registry().GetTopic(*membership->group);
    if (topic.text.empty()) {
      Reply("331", {shown, "No topic is set"});
    } else {
      Reply("332", {shown, topic.text});
      Reply("333",
            {shown, topic.set_by,
             absl::StrCat(absl::ToUnixSeconds(topic.set_at))},
            false);
    }
    return;
  }
  const absl::string_view text = TruncateForIrc(m.params[1], kMaxTopicBytes);
  if (!shard_->registry()
           .SetTopic(*membership->group, member_.name(), text, now)
           .ok()) {
    Reply("482", {shown, "You're not channel operator"});
    return;
  }
  Announce(*membership, ChatEvent::Kind::kTopic, text);
}

void IrcSession::HandleMode(const IrcMessage& m) {
  if (m.params.empty() || m.params[0].empty()) {
    Reply("461", {"MODE", "Not enough parameters"});
    return;
  }
  const absl::string_view target = m.params[0];
  if (!IsChannel(target)) {
    HandleUserMode(m);
    return;
  }
  const absl::string_view group = GroupOf(target);
  std::optional<GroupRegistry::GroupInfo> info;
  if (!group.empty()) info = shard_->registry().FindGroup(group);
  if (!info.has_value()) {
    Reply("403", {target, "No such channel"});
    return;
  }
  const std::string shown = absl::StrCat("#", info->name);
  if (m.params.size() < 2) {
    Reply("324", {shown, (info->modes & kModeTopicLocked) ? "+nt" : "+n"},
          false);
    Reply("329", {shown, absl::StrCat(absl::ToUnixSeconds(info->created))},
          false);
    return;
  }
  const absl::string_view modes = m.params[1];
  if (modes == "b" || modes == "+b") {
    Reply("368", {shown, "End of channel ban list"});
    return;
  }
  Membership* membership = FindChannel(target);
  if (membership == nullptr) {
    Reply("442", {shown, "You're not on that channel"});
    return;
  }
  bool on = true;
  size_t arg = 2;
  for (char c : modes) {
    if (c == '+' || c == '-') {
      on = c == '+';
      continue;
    }
    std::string change;
    absl::Status status;
    if (c == 'o' || c == 'v') {
      if (arg >= m.params.size()) {
        Reply("461", {"MODE", "Not enough parameters"});
        return;
      }
      const absl::string_view nick = m.params[arg++];
      status =
          shard_->registry().SetFlag(*membership->group, member_.name(), nick,
                                     c == 'o' ? kFlagOp : kFlagVoice, on);
      if (absl::IsNotFound(status)) {
        Reply("441", {nick, shown, "They aren't on that channel"});
        continue;
      }
      change = absl::StrCat(on ? "+" : "-", std::string(1, c), " ", nick);
    } else if (c == 't') {
      status = shard_->registry().SetMode(*membership->group, member_.name(),
                                          kModeTopicLocked, on);
      change = on ? "+t" : "-t";
    } else if (c == 'n') {
      continue;  // Always on.
    } else if (c == 'b') {
      Reply("368", {shown, "End of channel ban list"});
      continue;
    } else {
      Reply("472", {std::string(1, c), "is unknown mode char to me"});
      continue;
    }
    if (absl::IsPermissionDenied(status)) {
      Reply("482", {shown, "You're not channel operator"});
      return;
    }
    Announce(*membership, ChatEvent::Kind::kMode, change);
  }
}

void IrcSession::HandleUserMode(const IrcMessage& m) {
  const absl::string_view target = m.params[0];
  if (!absl::EqualsIgnoreCase(target, member_.name())) {
    Reply("502", {"Can't change mode for other users"});
    return;
  }
  if (m.params.size() < 2) {
    Reply("221", {invisible_ ? "+i" : "+"}, false);
    return;
  }
  bool on = true;
  std::string applied;
  bool unknown = false;
  for (char c : m.params[1]) {
    if (c == '+' || c == '-') {
      on = c == '+';
    } else if (c == 'i') {
      if (invisible_ != on) {
        invisible_ = on;
        absl::StrAppend(&applied, on ? "+" : "-", "i");
      }
    } else {
      unknown = true;
    }
  }
  if (unknown) Reply("501", {"Unknown MODE flag"});
  if (!applied.empty()) {
    Raw(absl::StrCat(":", member_.name(), " MODE ", member_.name(), " :",
                     applied));
  }
}

void IrcSession::HandleKick(const IrcMessage& m) {
  if (m.params.size() < 2) {
    Reply("461", {"KICK", "Not enough parameters"});
    return;
  }
  const absl::string_view channel = m.params[0];
  const absl::string_view nick = m.params[1];
  Membership* membership = FindChannel(channel);
  if (membership == nullptr) {
    Reply("442", {channel, "You're not on that channel"});
    return;
  }
  const std::string group = membership->group->name();
  const std::string shown = absl::StrCat("#", group);
  const std::optional<uint8_t> flags =
      shard_->registry().Flags(*membership->group, member_.name());
  if (!flags.has_value() || !(*flags & kFlagOp)) {
    Reply("482", {shown, "You're not channel operator"});
    return;
  }
  std::optional<GroupRegistry::Recipient> target =
      shard_->registry().FindRecipient(nick);
  const std::string target_name = target ? target->name : std::string(nick);
  const absl::string_view reason =
      TruncateForIrc(m.params.size() > 2 && !m.params[2].empty()
                         ? m.params[2]
                         : absl::string_view(member_.name()),
                     kMaxTopicBytes);
  ChatEvent event = Event(ChatEvent::Kind::kKick);
  event.group = group;
  event.target = target_name;
  event.text = reason;
  FlushReplies();
  const absl::Status kicked =
      shard_->Kick(*membership, target_name, event,
                   FormatError(absl::StrCat("kicked from ", group, " by ",
                                            member_.name(), ": ", reason)));
  if (!kicked.ok()) {
    Reply("441", {nick, shown, "They aren't on that channel"});
  }
}

void IrcSession::HandleNickChange(absl::string_view nick) {
  if (nick == member_.name()) return;
  if (!IsValidName(nick)) {
    Reply("432", {nick, "Erroneous nickname"});
    return;
  }
  const std::string old_name = member_.name();
  ChatEvent event = Event(ChatEvent::Kind::kNick);
  event.source.nick = old_name;
  event.text = nick;
  FlushReplies();
  if (!shard_->Rename(&member_, nick, event).ok()) {
    Reply("433", {nick, "Nickname is already in use"});
    return;
  }
  SendSelf(event);
}

void IrcSession::HandleAway(const IrcMessage& m) {
  const absl::string_view text = m.params.empty() ? "" : m.params[0];
  away_ = std::string(TruncateForIrc(text, kMaxAwayBytes));
  shard_->registry().SetAway(member_.name(), away_);
  if (away_.empty()) {
    Reply("305", {"You are no longer marked as being away"});
  } else {
    Reply("306", {"You have been marked as being away"});
  }
  ChatEvent event = Event(ChatEvent::Kind::kAway);
  event.text = away_;
  FlushReplies();
  shard_->AnnounceToGroups(&member_, event, kCapAwayNotify);
}

}  // namespace chatd
