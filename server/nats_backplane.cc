#include "server/nats_backplane.h"

#include <glog/logging.h>
#include <nats/nats.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace chatd {
namespace {

constexpr char kPresenceSubject[] = "chatd.p";
constexpr char kOriginHeader[] = "Chatd-Origin";
constexpr char kSeqHeader[] = "Chatd-Seq";
// The publisher drains this many at a time between heartbeat checks.
constexpr size_t kMaxPerPass = 4096;
// A batch is published once it reaches this size, far below NATS's
// default max_payload of 1 MiB.
constexpr size_t kMaxBatchBytes = 64 * 1024;

std::string GroupSubject(absl::string_view folded_group) {
  return absl::StrCat("chatd.g.", absl::BytesToHexString(folded_group));
}

std::string DirectSubject(absl::string_view origin) {
  return absl::StrCat("chatd.d.", origin);
}

absl::Status NatsError(natsStatus s, absl::string_view what) {
  return absl::UnavailableError(
      absl::StrCat(what, ": ", natsStatus_GetText(s)));
}

uint64_t NewIncarnation() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device() ^
         static_cast<uint64_t>(absl::GetCurrentTimeNanos());
}

}  // namespace

NatsBackplane::NatsBackplane(const Options& options, GroupRegistry* registry)
    : options_(options),
      registry_(registry),
      origin_(PeerHosts::MakeOrigin(options.node_name, NewIncarnation())),
      direct_subject_(DirectSubject(origin_)) {
  registry_->set_backplane(this);
}

absl::Status NatsBackplane::Start(int workers,
                                  ChatShard::Transport* transport) {
  PeerHosts::Options peer_options;
  peer_options.origin = origin_;
  peer_options.workers = workers;
  peer_options.host_timeout = options_.host_timeout;
  peer_options.irc_server_name = options_.irc_server_name;
  peers_ = std::make_unique<PeerHosts>(peer_options, registry_, transport,
                                       static_cast<PeerHosts::Replies*>(this));
  registry_->set_on_name_freed([this](uint16_t host) {
    Outgoing out;
    out.op = Outgoing::Op::kAskHost;
    out.host = host;
    outbox_.Post(std::move(out));
  });

  // One delivery thread for every subscription: messages are handed to
  // PeerHosts in the order they arrived on the one connection.
  natsStatus s = nats_SetMessageDeliveryPoolSize(1);
  if (s != NATS_OK) return NatsError(s, "nats delivery pool");
  natsOptions* opts = nullptr;
  if ((s = natsOptions_Create(&opts)) != NATS_OK) {
    return NatsError(s, "nats options");
  }
  std::vector<std::string> urls =
      absl::StrSplit(options_.urls, ',', absl::SkipWhitespace());
  std::vector<const char*> url_ptrs;
  for (const std::string& url : urls) url_ptrs.push_back(url.c_str());
  const std::string name = absl::StrCat("chatd ", origin_);
  const int64_t wait_ms = absl::ToInt64Milliseconds(options_.reconnect_wait);
  // The order is kept: an operator lists a host's nearest server first.
  s = natsOptions_SetServers(opts, url_ptrs.data(),
                             static_cast<int>(url_ptrs.size()));
  if (s == NATS_OK) s = natsOptions_SetNoRandomize(opts, true);
  if (s == NATS_OK) s = natsOptions_SetName(opts, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetNoEcho(opts, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, wait_ms);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectJitter(opts, wait_ms / 4, wait_ms);
  // A silent server is noticed within about two seconds.
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 1000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(opts, true);
  if (s == NATS_OK) {
    s = natsOptions_SetRetryOnFailedConnect(opts, true, &OnConnected, this);
  }
  if (s == NATS_OK)
    s = natsOptions_SetDisconnectedCB(opts, &OnDisconnected, this);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectedCB(opts, &OnReconnected, this);
  if (s == NATS_OK && !options_.user.empty()) {
    s = natsOptions_SetUserInfo(opts, options_.user.c_str(),
                                options_.password.c_str());
  }
  if (s == NATS_OK && !options_.token.empty()) {
    s = natsOptions_SetToken(opts, options_.token.c_str());
  }
  if (s == NATS_OK && !options_.creds_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(
        opts, options_.creds_file.c_str(), nullptr);
  }
  if (s == NATS_OK && options_.tls) s = natsOptions_SetSecure(opts, true);
  if (s == NATS_OK && !options_.tls_ca_file.empty()) {
    s = natsOptions_LoadCATrustedCertificates(opts,
                                              options_.tls_ca_file.c_str());
  }
  if (s == NATS_OK && !options_.tls_cert_file.empty()) {
    s = natsOptions_LoadCertificatesChain(opts, options_.tls_cert_file.c_str(),
                                          options_.tls_key_file.c_str());
  }
  if (s == NATS_OK && !options_.tls_hostname.empty()) {
    s = natsOptions_SetExpectedHostname(opts, options_.tls_hostname.c_str());
  }
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    return NatsError(s, absl::StrCat("nats options: ", nats_GetLastError(&s)));
  }
  s = natsConnection_Connect(&nc_, opts);
  natsOptions_Destroy(opts);
  const bool up = s == NATS_OK;
  if (!up && s != NATS_NOT_YET_CONNECTED) {
    return NatsError(s, absl::StrCat("connecting to ", options_.urls));
  }
  s = natsConnection_Subscribe(&presence_sub_, nc_, kPresenceSubject,
                               &OnMessage, this);
  if (s == NATS_OK) {
    s = natsConnection_Subscribe(&direct_sub_, nc_, direct_subject_.c_str(),
                                 &OnMessage, this);
  }
  if (s != NATS_OK) return NatsError(s, "subscribing");
  // No limit inside cnats: chatd's own mailboxes and the server's
  // slow-consumer limit bound what waits.
  natsSubscription_SetPendingLimits(presence_sub_, -1, -1);
  natsSubscription_SetPendingLimits(direct_sub_, -1, -1);
  LOG(INFO) << "cluster: this host is " << origin_ << ", NATS at "
            << options_.urls << (up ? "" : " (not reachable yet)");
  publisher_ = std::thread([this] { Run(); });
  if (up) OnConnected(nc_, this);
  return absl::OkStatus();
}

NatsBackplane::~NatsBackplane() {
  Stop();
  if (direct_sub_ != nullptr) natsSubscription_Destroy(direct_sub_);
  if (presence_sub_ != nullptr) natsSubscription_Destroy(presence_sub_);
  for (auto& [group, state] : groups_) {
    if (state.sub != nullptr) natsSubscription_Destroy(state.sub);
  }
  if (nc_ != nullptr) natsConnection_Destroy(nc_);
}

void NatsBackplane::Stop() {
  if (stopped_.exchange(true, std::memory_order_relaxed)) return;
  if (publisher_.joinable()) {
    Queue(Outgoing::Op::kStop, "", "");
    publisher_.join();
  }
  if (nc_ != nullptr) {
    if (connected()) natsConnection_FlushTimeout(nc_, 1000);
    natsConnection_Close(nc_);
  }
}

void NatsBackplane::Queue(Outgoing::Op op, std::string group,
                          std::string body) {
  Outgoing out;
  out.op = op;
  out.group = std::move(group);
  out.body = std::move(body);
  outbox_.Post(std::move(out));
}

void NatsBackplane::Claimed(const ClusterPerson& person) {
  Queue(Outgoing::Op::kPresence, "", EncodeClaim(person));
}

void NatsBackplane::Released(absl::string_view name) {
  Queue(Outgoing::Op::kPresence, "", EncodeRelease(name));
}

void NatsBackplane::Joined(const ChatEvent& event, uint8_t flags,
                           int64_t claimed_us) {
  std::string folded = GroupRegistry::Fold(event.group);
  Queue(Outgoing::Op::kSubscribe, folded, "");
  Queue(Outgoing::Op::kPresence, "", EncodeJoin(event, flags, claimed_us));
}

void NatsBackplane::Left(const ChatEvent& event,
                         const std::vector<absl::string_view>& groups) {
  Queue(Outgoing::Op::kPresence, "", EncodeLeave(event, groups));
  for (absl::string_view group : groups) {
    Queue(Outgoing::Op::kUnsubscribe, GroupRegistry::Fold(group), "");
  }
}

void NatsBackplane::Renamed(const ChatEvent& event) {
  Queue(Outgoing::Op::kPresence, "", EncodeRename(event));
}

void NatsBackplane::Said(const ChatEvent& event, const EventStamp& stamp) {
  Queue(Outgoing::Op::kGroup, GroupRegistry::Fold(event.group),
        EncodeEvent(event, stamp));
}

void NatsBackplane::SaidPrivately(uint16_t host, const ChatEvent& event,
                                  const EventStamp& stamp) {
  Outgoing out;
  out.op = Outgoing::Op::kDirect;
  out.host = host;
  out.body = EncodeEvent(event, stamp);
  outbox_.Post(std::move(out));
}

void NatsBackplane::AskSnapshot(absl::string_view origin) {
  Queue(Outgoing::Op::kPresence, "", EncodeSyncAsk(origin));
}

void NatsBackplane::SendSnapshot() {
  // Taken and queued under the registry mutex, so it has its place among
  // the presence changes queued by the workers.
  registry_->LocalSnapshot([&](const std::vector<ClusterPerson>& people) {
    Queue(Outgoing::Op::kPresence, "", EncodeSnapshot(people));
  });
}

void NatsBackplane::Run() {
  absl::Time next_beat = absl::Now();
  bool running = true;
  while (running) {
    const int64_t wait_ms = std::max<int64_t>(
        0, absl::ToInt64Milliseconds(next_beat - absl::Now()) + 1);
    pollfd fd{outbox_.fd(), POLLIN, 0};
    poll(&fd, 1, static_cast<int>(wait_ms));
    outbox_.Drain(kMaxPerPass, [&](Outgoing&& out) {
      if (out.op == Outgoing::Op::kStop) {
        running = false;
        return;
      }
      Handle(out);
    });
    // Batches hold only what was queued already: nothing waits for more.
    PublishBatches();
    const absl::Time now = absl::Now();
    if (now >= next_beat) {
      PublishPresence(EncodeHeartbeat(options_.node_name, presence_seq_));
      peers_->Sweep(now);
      next_beat = now + options_.heartbeat;
    }
  }
  // Whatever is still queued (leaves at shutdown) goes out before close.
  outbox_.Drain(SIZE_MAX, [&](Outgoing&& out) {
    if (out.op != Outgoing::Op::kStop) Handle(out);
  });
  PublishBatches();
}

void NatsBackplane::Handle(Outgoing& out) {
  if (out.op == Outgoing::Op::kGroup) {
    GroupState& state = GroupFor(out.group);
    if (state.batch_events++ == 0) {
      batched_.push_back(&state);
      state.batch = std::move(out.body);
    } else {
      AppendEvent(out.body, &state.batch);
    }
    // Full: out now; the group's next message starts a new batch, after
    // this one.
    if (state.batch.size() >= kMaxBatchBytes) PublishBatch(state);
    return;
  }
  // Everything else keeps its place after the group messages before it.
  PublishBatches();
  switch (out.op) {
    case Outgoing::Op::kPresence:
      PublishPresence(out.body);
      return;
    case Outgoing::Op::kGroup:
      return;
    case Outgoing::Op::kDirect: {
      const std::string origin = peers_->OriginOf(out.host);
      if (!origin.empty()) Publish(DirectSubject(origin), out.body, 0, 1);
      return;
    }
    case Outgoing::Op::kSubscribe:
      Subscribe(out.group);
      return;
    case Outgoing::Op::kUnsubscribe:
      Unsubscribe(out.group);
      return;
    case Outgoing::Op::kAskHost: {
      const std::string origin = peers_->OriginOf(out.host);
      if (!origin.empty()) PublishPresence(EncodeSyncAsk(origin));
      return;
    }
    case Outgoing::Op::kStop:
      return;
  }
}

void NatsBackplane::PublishPresence(const std::string& body) {
  // Presence numbers are spent only on what is sent: receivers must see
  // its stream whole, and a snapshot repairs what the link lost.
  if (Publish(kPresenceSubject, body, presence_seq_ + 1, 0)) ++presence_seq_;
}

void NatsBackplane::PublishBatch(GroupState& group) {
  if (group.batch_events == 0) return;  // Published when it filled up.
  // The number is spent even when the link is down: receivers count the
  // messages that could not cross as a gap.
  Publish(group.subject, group.batch, ++group.seq, group.batch_events);
  group.batch_events = 0;
  group.batch.clear();
}

void NatsBackplane::PublishBatches() {
  for (GroupState* group : batched_) PublishBatch(*group);
  batched_.clear();
}

NatsBackplane::GroupState& NatsBackplane::GroupFor(
    const std::string& folded_group) {
  GroupState& state = groups_[folded_group];
  if (state.subject.empty()) state.subject = GroupSubject(folded_group);
  return state;
}

bool NatsBackplane::Publish(const std::string& subject, const std::string& body,
                            uint64_t seq, uint64_t events) {
  // Presence (no events) counts as one message when it cannot cross.
  const uint64_t messages = std::max<uint64_t>(events, 1);
  if (!connected()) {
    // Not into cnats's reconnect buffer: that would arrive late.
    stats_.dropped.fetch_add(messages, std::memory_order_relaxed);
    return false;
  }
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(),
                                static_cast<int>(body.size()));
  char seq_text[24];
  *std::to_chars(seq_text, seq_text + sizeof(seq_text) - 1, seq).ptr = '\0';
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, kOriginHeader, origin_.c_str());
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, kSeqHeader, seq_text);
  if (s == NATS_OK) s = natsConnection_PublishMsg(nc_, msg);
  natsMsg_Destroy(msg);
  if (s != NATS_OK) {
    stats_.dropped.fetch_add(messages, std::memory_order_relaxed);
    LOG_EVERY_N(WARNING, 1000)
        << "publish on " << subject << " failed: " << natsStatus_GetText(s);
    return false;
  }
  stats_.published.fetch_add(1, std::memory_order_relaxed);
  stats_.events_published.fetch_add(events, std::memory_order_relaxed);
  return true;
}

void NatsBackplane::Subscribe(const std::string& folded_group) {
  GroupState& state = GroupFor(folded_group);
  if (state.local_members++ > 0) return;
  const std::string& subject = state.subject;
  natsStatus s = natsConnection_Subscribe(&state.sub, nc_, subject.c_str(),
                                          &OnMessage, this);
  if (s == NATS_OK) {
    natsSubscription_SetPendingLimits(state.sub, -1, -1);
  } else {
    state.sub = nullptr;
    LOG(WARNING) << "subscribing to " << subject
                 << " failed: " << natsStatus_GetText(s);
  }
}

void NatsBackplane::Unsubscribe(const std::string& folded_group) {
  auto it = groups_.find(folded_group);
  if (it == groups_.end() || it->second.local_members == 0) return;
  if (--it->second.local_members > 0) return;
  if (it->second.sub != nullptr) {
    natsSubscription_Unsubscribe(it->second.sub);
    natsSubscription_Destroy(it->second.sub);
  }
  // The sequence number is kept: a later subscriber of ours must not
  // mistake our new messages for old ones. Theirs start afresh here.
  it->second.sub = nullptr;
  peers_->ForgetGroup(folded_group);
}

void NatsBackplane::OnMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                              void* closure) {
  auto* self = static_cast<NatsBackplane*>(closure);
  const char* origin = nullptr;
  const char* seq_text = nullptr;
  uint64_t seq = 0;
  if (natsMsgHeader_Get(msg, kOriginHeader, &origin) != NATS_OK ||
      natsMsgHeader_Get(msg, kSeqHeader, &seq_text) != NATS_OK ||
      !absl::SimpleAtoi(seq_text, &seq)) {
    natsMsg_Destroy(msg);
    return;
  }
  const absl::string_view body(natsMsg_GetData(msg),
                               natsMsg_GetDataLength(msg));
  const absl::string_view subject = natsMsg_GetSubject(msg);
  if (subject == kPresenceSubject) {
    self->peers_->OnPresence(origin, seq, body, absl::Now());
  } else {
    self->peers_->OnEvent(origin, seq, body);
  }
  natsMsg_Destroy(msg);
}

void NatsBackplane::OnConnected(natsConnection*, void* closure) {
  auto* self = static_cast<NatsBackplane*>(closure);
  self->connected_.store(true, std::memory_order_relaxed);
  LOG(INFO) << "cluster: connected to NATS";
  self->SendSnapshot();
  self->AskSnapshot("*");
}

void NatsBackplane::OnDisconnected(natsConnection*, void* closure) {
  auto* self = static_cast<NatsBackplane*>(closure);
  if (self->stopped_.load(std::memory_order_relaxed)) return;
  self->connected_.store(false, std::memory_order_relaxed);
  LOG(WARNING) << "cluster: link to NATS lost";
  self->peers_->LinkLost();
}

void NatsBackplane::OnReconnected(natsConnection*, void* closure) {
  auto* self = static_cast<NatsBackplane*>(closure);
  self->connected_.store(true, std::memory_order_relaxed);
  self->stats_.reconnects.fetch_add(1, std::memory_order_relaxed);
  LOG(INFO) << "cluster: link to NATS restored";
  self->peers_->LinkRestored(absl::Now());
  self->SendSnapshot();
  self->AskSnapshot("*");
}

}  // namespace chatd
