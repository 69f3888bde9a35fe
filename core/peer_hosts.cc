#include "core/peer_hosts.h"

#include <glog/logging.h>

#include "absl/numeric/bits.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/protocol.h"

namespace chatd {
namespace {

// What IRC members see of a member whose host is gone: the reason IRC
// networks give for a split.
constexpr absl::string_view kSplitReason = "*.net *.split";

EventSource SourceOfInfo(const GroupRegistry::MemberInfo& info) {
  return EventSource{info.name, info.user, info.irc ? kIrcHost : kLineHost};
}

// The incarnation id at the end of an origin id; 0 if it has none.
uint64_t RankOf(absl::string_view origin) {
  const size_t dot = origin.rfind('.');
  uint64_t rank = 0;
  if (dot == absl::string_view::npos ||
      !absl::SimpleHexAtoi(origin.substr(dot + 1), &rank)) {
    return 0;
  }
  return rank;
}

}  // namespace

std::string PeerHosts::MakeOrigin(absl::string_view node,
                                  uint64_t incarnation) {
  return absl::StrCat(node, ".", absl::Hex(incarnation, absl::kZeroPad16));
}

PeerHosts::PeerHosts(const Options& options, GroupRegistry* registry,
                     ChatShard::Transport* transport, Replies* replies)
    : options_(options),
      registry_(registry),
      transport_(transport),
      replies_(replies) {
  origin_of_.push_back(options_.origin);  // Index 0 is this host.
  registry_->SetHostRank(0, RankOf(options_.origin));
}

PeerHosts::Host& PeerHosts::HostFor(absl::string_view origin, absl::Time now) {
  auto [it, inserted] = hosts_.try_emplace(origin);
  Host& host = it->second;
  if (inserted) {
    CHECK_LT(origin_of_.size(), size_t{65535}) << "too many host ids";
    host.index = static_cast<uint16_t>(origin_of_.size());
    origin_of_.emplace_back(origin);
    registry_->SetHostRank(host.index, RankOf(origin));
    host.last_heard = now;
  }
  return host;
}

std::string PeerHosts::OriginOf(uint16_t host) const {
  MutexLock lock(&mu_);
  return host < origin_of_.size() ? origin_of_[host] : std::string();
}

void PeerHosts::Ask(Host& host, absl::string_view origin, absl::Time now) {
  if (now - host.last_ask < options_.ask_interval) return;
  host.last_ask = now;
  replies_->AskSnapshot(origin);
}

void PeerHosts::Unsync(Host& host, absl::string_view origin, absl::Time now) {
  if (host.synced) {
    host.synced = false;
    stats_.hosts.fetch_sub(1, std::memory_order_relaxed);
  }
  Ask(host, origin, now);
}

void PeerHosts::OnPresence(absl::string_view origin, uint64_t seq,
                           absl::string_view body, absl::Time now) {
  stats_.received.fetch_add(1, std::memory_order_relaxed);
  if (origin == options_.origin) return;  // Our own, if echoed.
  ClusterMessage message;
  if (absl::Status s = DecodeClusterMessage(body, &message); !s.ok()) {
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    LOG_EVERY_N(WARNING, 100)
        << "bad presence message from " << origin << ": " << s;
    return;
  }
  MutexLock lock(&mu_);
  Host& host = HostFor(origin, now);
  host.last_heard = now;
  if (message.kind == ClusterKind::kHeartbeat && !message.node.empty() &&
      host.node.empty()) {
    host.node = std::string(message.node);
    // A new incarnation of a node: the old one is gone for good.
    for (auto& [other_origin, other] : hosts_) {
      if (&other != &host && other.node == host.node) {
        other.last_heard = absl::InfinitePast();
      }
    }
  }
  if (message.kind == ClusterKind::kSyncAsk) {
    if (message.target == options_.origin || message.target == "*") {
      replies_->SendSnapshot();
    }
  }
  if (!host.synced) {
    if (message.kind != ClusterKind::kSnapshot) {
      Ask(host, origin, now);
      return;
    }
    host.synced = true;
    host.next_seq = seq;
    stats_.hosts.fetch_add(1, std::memory_order_relaxed);
  }
  if (seq < host.next_seq) {
    stats_.duplicates.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (seq > host.next_seq) {
    // Presence missed: only a new snapshot can say what it was.
    stats_.gaps.fetch_add(seq - host.next_seq, std::memory_order_relaxed);
    Unsync(host, origin, now);
    if (message.kind != ClusterKind::kSnapshot) return;
    host.synced = true;
    stats_.hosts.fetch_add(1, std::memory_order_relaxed);
  }
  host.next_seq = seq + 1;
  Apply(host, message, now);
}

void PeerHosts::Apply(Host& host, const ClusterMessage& message,
                      absl::Time now) {
  const uint16_t index = host.index;
  GroupRegistry::RemoteAnnouncer& announcer = *this;
  switch (message.kind) {
    case ClusterKind::kClaim:
      registry_->ClaimRemote(index, message.person, announcer);
      return;
    case ClusterKind::kRelease:
      registry_->ReleaseRemote(index, message.person.name, announcer);
      return;
    case ClusterKind::kJoin: {
      const ChatEvent& event = message.event;
      const bool known = registry_->JoinRemote(
          index, event.group, event.source.nick, message.flags,
          [&](const Group& g, uint64_t workers, uint64_t epoch) {
            ChatEvent shown = event;
            shown.group = g.name();
            PostToGroup(workers, g.id(), epoch - 1,
                        RenderEvent(shown, g.class_mask(), EventStamp{now}));
          });
      if (!known) Unsync(host, origin_of_[index], now);
      return;
    }
    case ClusterKind::kLeave:
      registry_->LeaveRemote(
          index, message.groups, message.event.source.nick,
          [&](absl::Span<const GroupEpoch> groups, uint64_t workers) {
            PostToGroups(
                workers, groups,
                RenderEvent(message.event, kAllClasses, EventStamp{now}));
          });
      return;
    case ClusterKind::kRename: {
      const bool known = registry_->RenameRemote(
          index, message.event.source.nick, message.event.text,
          [&](absl::Span<const GroupEpoch> groups, uint64_t workers) {
            PostToGroups(
                workers, groups,
                RenderEvent(message.event, kAllClasses, EventStamp{now}));
          });
      if (!known) Unsync(host, origin_of_[index], now);
      return;
    }
    case ClusterKind::kSnapshot:
      registry_->ReplaceHost(index, message.people, announcer);
      return;
    case ClusterKind::kEvent:
    case ClusterKind::kEvents:
    case ClusterKind::kSyncAsk:
    case ClusterKind::kHeartbeat:
      return;
  }
}

void PeerHosts::Joined(const GroupRegistry::MemberInfo& person,
                       const Group& group, uint64_t workers, uint64_t epoch) {
  ChatEvent join{ChatEvent::Kind::kJoin, SourceOfInfo(person), group.name()};
  PostToGroup(workers, group.id(), epoch - 1,
              RenderEvent(join, group.class_mask(), EventStamp{absl::Now()}));
}

void PeerHosts::Left(const GroupRegistry::MemberInfo& person,
                     absl::Span<const GroupEpoch> groups, uint64_t workers) {
  ChatEvent quit{ChatEvent::Kind::kQuit, SourceOfInfo(person)};
  quit.text = kSplitReason;
  PostToGroups(workers, groups,
               RenderEvent(quit, kAllClasses, EventStamp{absl::Now()}));
}

void PeerHosts::Evict(const GroupRegistry::Evicted& evicted) {
  ShardPost post;
  post.kind = ShardPost::Kind::kEvict;
  post.member_id = evicted.member_id;
  post.notice = evicted.irc
                    ? Payload::Concat({"ERROR :Closing Link: ", evicted.name,
                                       " (Nick collision)\r\n"})
                    : FormatError(kErrorNameTaken);
  LOG(INFO) << evicted.name << " lost its name to an older claim";
  transport_->Post(evicted.worker, std::move(post));
}

void PeerHosts::OnEvent(absl::string_view origin, uint64_t seq,
                        absl::string_view body) {
  stats_.received.fetch_add(1, std::memory_order_relaxed);
  ClusterMessage message;
  if (!DecodeClusterMessage(body, &message).ok() ||
      (message.kind != ClusterKind::kEvent &&
       message.kind != ClusterKind::kEvents)) {
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const ClusterEvent single{message.event, message.stamp};
  const absl::Span<const ClusterEvent> events =
      message.kind == ClusterKind::kEvent ? absl::MakeConstSpan(&single, 1)
                                          : absl::MakeConstSpan(message.events);
  const absl::string_view group = events.front().event.group;
  const std::string folded = GroupRegistry::Fold(group);
  uint16_t index = 0;
  {
    MutexLock lock(&mu_);
    auto it = hosts_.find(origin);
    if (it == hosts_.end() || !it->second.synced) {
      stats_.dropped.fetch_add(events.size(), std::memory_order_relaxed);
      return;
    }
    index = it->second.index;
    // One number per NATS message, however many events it carries; a
    // private message has none.
    if (!group.empty()) {
      auto [last, first] =
          group_seq_.try_emplace(std::make_pair(index, folded), seq);
      if (!first) {
        if (seq <= last->second) {
          stats_.duplicates.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        if (seq > last->second + 1) {
          stats_.gaps.fetch_add(seq - last->second - 1,
                                std::memory_order_relaxed);
        }
        last->second = seq;
      }
    }
  }
  if (group.empty()) {
    if (message.kind == ClusterKind::kEvent) {
      DeliverPrivately(index, message);
    } else {
      stats_.dropped.fetch_add(events.size(), std::memory_order_relaxed);
    }
    return;
  }
  for (const ClusterEvent& event : events) {
    // A batch is one group's: its sequence number says nothing of another.
    if (event.event.group != group &&
        GroupRegistry::Fold(event.event.group) != folded) {
      stats_.dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    DeliverToGroup(index, event);
  }
}

void PeerHosts::DeliverToGroup(uint16_t host, const ClusterEvent& event) {
  const std::optional<GroupRegistry::Route> route = registry_->RouteFromRemote(
      host, event.event.group, event.event.source.nick);
  if (!route.has_value()) {
    // Not a member here (yet, or any more): delivering would break
    // join-before-message or leave-after-last.
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (route->workers == 0) return;
  PostToGroup(route->workers, route->group_id, route->epoch,
              RenderEvent(event.event, route->classes, event.stamp));
}

void PeerHosts::DeliverPrivately(uint16_t host, const ClusterMessage& message) {
  // Only from a member of the host it came from, as for a group message:
  // a host cannot speak for another's members, or for names it lost.
  const std::optional<GroupRegistry::Recipient> from =
      registry_->FindRecipient(message.event.source.nick);
  const std::optional<GroupRegistry::Recipient> to =
      registry_->FindRecipient(message.event.target);
  if (!from.has_value() || from->host != host || !to.has_value() ||
      to->worker < 0) {
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  ShardPost post;
  post.kind = ShardPost::Kind::kDirect;
  post.member_id = to->member_id;
  post.rendition =
      RenderEvent(message.event, ClassBit(to->wire_class), message.stamp);
  transport_->Post(to->worker, std::move(post));
}

void PeerHosts::PostToGroup(uint64_t workers, uint64_t group_id, uint64_t epoch,
                            Rendition rendition) {
  ShardPost post;
  post.kind = ShardPost::Kind::kGroup;
  post.group_id = group_id;
  post.epoch = epoch;
  post.rendition = std::move(rendition);
  while (workers != 0) {
    const int w = absl::countr_zero(workers);
    workers &= workers - 1;
    transport_->Post(w, post);
  }
}

void PeerHosts::PostToGroups(uint64_t workers,
                             absl::Span<const GroupEpoch> groups,
                             Rendition rendition) {
  ShardPost post;
  post.kind = ShardPost::Kind::kGroups;
  post.rendition = std::move(rendition);
  post.groups = std::make_shared<const std::vector<GroupEpoch>>(groups.begin(),
                                                                groups.end());
  while (workers != 0) {
    const int w = absl::countr_zero(workers);
    workers &= workers - 1;
    transport_->Post(w, post);
  }
}

void PeerHosts::Drop(Host& host) {
  registry_->ReplaceHost(host.index, {}, *this);
  for (auto it = group_seq_.begin(); it != group_seq_.end();) {
    if (it->first.first == host.index) {
      group_seq_.erase(it++);
    } else {
      ++it;
    }
  }
}

void PeerHosts::Sweep(absl::Time now) {
  MutexLock lock(&mu_);
  const absl::Time last = last_sweep_;
  last_sweep_ = now;
  if (!link_up_) return;
  if (now - last > options_.host_timeout / 2) {
    // We were not running: every host looks silent because we were.
    for (auto& [origin, host] : hosts_) host.last_heard = now;
    return;
  }
  for (auto& [origin, host] : hosts_) {
    if (now - host.last_heard <= options_.host_timeout) continue;
    if (!host.synced && host.node.empty()) continue;
    LOG(INFO) << "host " << origin << " silent for "
              << absl::FormatDuration(now - host.last_heard)
              << ": its members are gone";
    Drop(host);
    if (host.synced) stats_.hosts.fetch_sub(1, std::memory_order_relaxed);
    host.synced = false;
    host.node.clear();
    host.last_heard = now;
  }
}

void PeerHosts::TellEveryone(absl::string_view text) {
  ShardPost post;
  post.kind = ShardPost::Kind::kEveryone;
  post.rendition.by_class[static_cast<int>(WireClass::kLine)] =
      Payload::Line({"* ", text});
  post.rendition.by_class[static_cast<int>(WireClass::kIrcPlain)] =
      Payload::Concat(
          {":", options_.irc_server_name, " NOTICE * :*** ", text, "\r\n"});
  for (int w = 0; w < options_.workers; ++w) transport_->Post(w, post);
}

void PeerHosts::LinkLost() {
  MutexLock lock(&mu_);
  if (!link_up_) return;
  link_up_ = false;
  TellEveryone("link to other servers lost");
}

void PeerHosts::LinkRestored(absl::Time now) {
  MutexLock lock(&mu_);
  if (link_up_) return;
  link_up_ = true;
  for (auto& [origin, host] : hosts_) host.last_heard = now;
  last_sweep_ = now;
  TellEveryone("link to other servers restored");
}

void PeerHosts::ForgetGroup(absl::string_view group) {
  const std::string folded = GroupRegistry::Fold(group);
  MutexLock lock(&mu_);
  for (auto it = group_seq_.begin(); it != group_seq_.end();) {
    if (it->first.second == folded) {
      group_seq_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace chatd
