// The query commands of a registered IRC client: NAMES, WHO, WHOIS, LIST,
// ISON, USERHOST. They read the registry and answer the asker alone.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/irc_session.h"

namespace chatd {
namespace {

// Room for the names in one 353 line, well inside 512 bytes.
constexpr size_t kNamesPerLineBytes = 400;

}  // namespace

void IrcSession::HandleNames(const IrcMessage& m) {
  if (m.params.empty() || m.params[0].empty()) {
    Reply("366", {"*", "End of /NAMES list."});
    return;
  }
  for (absl::string_view channel : Targets(m.params[0])) SendNames(channel);
}

void IrcSession::SendNames(absl::string_view channel) {
  const absl::string_view group = GroupOf(channel);
  std::string shown(channel);
  if (!group.empty()) {
    if (std::optional<GroupRegistry::GroupInfo> info =
            shard_->registry().FindGroup(group)) {
      shown = absl::StrCat("#", info->name);
      std::string names;
      for (const GroupRegistry::MemberInfo& member :
           shard_->registry().Members(info->name)) {
        std::string entry = Prefix(member.flags) + member.name;
        if (caps_ & kIrcCapUserhostInNames) {
          absl::StrAppend(&entry, "!", member.user, "@",
                          member.irc ? kIrcHost : kLineHost);
        }
        if (!names.empty() &&
            names.size() + entry.size() > kNamesPerLineBytes) {
          Reply("353", {"=", shown, names});
          names.clear();
        }
        if (!names.empty()) names += ' ';
        names += entry;
      }
      if (!names.empty()) Reply("353", {"=", shown, names});
    }
  }
  Reply("366", {shown, "End of /NAMES list."});
}

void IrcSession::HandleWho(const IrcMessage& m) {
  const absl::string_view mask = m.params.empty() ? "*" : m.params[0];
  auto who_line = [&](absl::string_view channel,
                      const GroupRegistry::MemberInfo& info) {
    const std::string flags =
        absl::StrCat(info.away.empty() ? "H" : "G", Prefix(info.flags));
    Reply("352", {channel, info.user, info.irc ? kIrcHost : kLineHost,
                  config_->server_name, info.name, flags,
                  absl::StrCat("0 ", info.realname)});
  };
  const absl::string_view group = GroupOf(mask);
  if (!group.empty()) {
    if (std::optional<GroupRegistry::GroupInfo> info =
            shard_->registry().FindGroup(group)) {
      const std::string shown = absl::StrCat("#", info->name);
      for (const GroupRegistry::MemberInfo& member :
           shard_->registry().Members(info->name)) {
        who_line(shown, member);
      }
    }
  } else if (!IsChannel(mask)) {
    if (auto found = shard_->registry().FindMember(mask)) {
      who_line("*", found->first);
    }
  }
  Reply("315", {mask, "End of WHO list"});
}

void IrcSession::HandleWhois(const IrcMessage& m) {
  if (m.params.empty() || m.params.back().empty()) {
    Reply("431", {"No nickname given"});
    return;
  }
  const absl::string_view nick = m.params.back();
  auto found = shard_->registry().FindMember(nick);
  if (!found.has_value()) {
    Reply("401", {nick, "No such nick/channel"});
    Reply("318", {nick, "End of /WHOIS list."});
    return;
  }
  const GroupRegistry::MemberInfo& info = found->first;
  Reply("311", {info.name, info.user, info.irc ? kIrcHost : kLineHost, "*",
                info.realname});
  if (!found->second.empty()) {
    Reply("319", {info.name, absl::StrJoin(found->second, " ")});
  }
  Reply("312", {info.name, config_->server_name, "chatd"});
  if (!info.away.empty()) Reply("301", {info.name, info.away});
  Reply("318", {info.name, "End of /WHOIS list."});
}

void IrcSession::HandleList() {
  Reply("321", {"Channel", "Users  Name"});
  for (const GroupRegistry::GroupInfo& group :
       shard_->registry().ListGroups()) {
    Reply("322", {absl::StrCat("#", group.name), absl::StrCat(group.members),
                  group.topic});
  }
  Reply("323", {"End of /LIST"});
}

void IrcSession::HandleIson(const IrcMessage& m) {
  std::vector<std::string> online;
  for (absl::string_view param : m.params) {
    for (absl::string_view nick :
         absl::StrSplit(param, ' ', absl::SkipEmpty())) {
      if (auto found = shard_->registry().FindRecipient(nick)) {
        online.push_back(found->name);
      }
    }
  }
  Reply("303", {absl::StrJoin(online, " ")});
}

void IrcSession::HandleUserhost(const IrcMessage& m) {
  std::vector<std::string> replies;
  for (absl::string_view nick : m.params) {
    if (replies.size() == 5) break;
    if (auto found = shard_->registry().FindMember(nick)) {
      const GroupRegistry::MemberInfo& info = found->first;
      replies.push_back(absl::StrCat(info.name, "=",
                                     info.away.empty() ? "+" : "-", info.user,
                                     "@", info.irc ? kIrcHost : kLineHost));
    }
  }
  Reply("302", {absl::StrJoin(replies, " ")});
}

}  // namespace chatd
