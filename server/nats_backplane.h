// NatsBackplane joins this chatd to the other hosts of a cluster through
// NATS (docs/CLUSTER.md), with the cnats client from Debian (libnats-dev).
// ChatServer owns it when --nats_url is set.
//
// One NATS connection per process, NoEcho. Subjects:
//   chatd.p                 every host's presence stream (claims, joins,
//                           leaves, snapshots, heartbeats): all subscribe;
//   chatd.g.<hex of group>  what members say in a group: a host subscribes
//                           while it has members in the group;
//   chatd.d.<origin>        private messages to one host's members.
// Each message carries Chatd-Origin (node and incarnation) and Chatd-Seq
// (per origin and subject) headers; PeerHosts checks them on arrival.
//
// Threads: the workers never touch NATS. They queue what they publish on
// this object's lock-free mailbox (Backplane, called under the registry
// mutex for presence, so presence is queued in registry order), and its
// own publisher thread numbers and publishes it, subscribes and
// unsubscribes in the same order (a SUB before the join it serves), sends
// the heartbeat and sweeps silent hosts. cnats's threads read the socket,
// reconnect and deliver what arrives, on one delivery thread, to
// PeerHosts, in arrival order. While the link is down nothing is queued
// inside cnats: what cannot cross is counted and dropped, never sent late.
#ifndef CHATD_SERVER_NATS_BACKPLANE_H_
#define CHATD_SERVER_NATS_BACKPLANE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/backplane.h"
#include "core/chat_shard.h"
#include "core/group_registry.h"
#include "core/peer_hosts.h"
#include "net/mailbox.h"

struct __natsConnection;
struct __natsSubscription;
struct __natsMsg;

namespace chatd {

class NatsBackplane final : public Backplane, private PeerHosts::Replies {
 public:
  struct Options {
    std::string urls;  // Comma list, tried in this order.
    std::string node_name;
    std::string user;
    std::string password;
    std::string token;
    std::string creds_file;
    bool tls = false;
    std::string tls_ca_file;
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_hostname;
    absl::Duration heartbeat = absl::Seconds(1);
    absl::Duration host_timeout = absl::Seconds(3);
    absl::Duration reconnect_wait = absl::Milliseconds(250);
    std::string irc_server_name = "chatd";
  };

  // Counters for /metrics. Relaxed: statistics that publish nothing.
  struct Stats {
    std::atomic<uint64_t> published{0};  // NATS messages.
    // Group and private messages sent; several queued for one group share
    // a NATS message.
    std::atomic<uint64_t> events_published{0};
    std::atomic<uint64_t> dropped{0};  // Could not cross: the link was down.
    std::atomic<uint64_t> reconnects{0};
  };

  // Nothing runs until Start(). Registers with `registry`.
  NatsBackplane(const Options& options, GroupRegistry* registry);
  ~NatsBackplane();
  NatsBackplane(const NatsBackplane&) = delete;
  NatsBackplane& operator=(const NatsBackplane&) = delete;

  // Connects in the background: a NATS server that is down at start is
  // retried forever, and the local chat works meanwhile. What arrives is
  // posted through `transport` to workers 0 to `workers` - 1, which must
  // exist (they may start later). An error for bad options.
  absl::Status Start(int workers, ChatShard::Transport* transport);
  // Publishes what is queued, then closes the connection. Call after the
  // workers have stopped, so their members' leaves reach the other hosts.
  void Stop();

  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  const std::string& origin() const { return origin_; }
  const Stats& stats() const { return stats_; }
  const PeerHosts::Stats& peer_stats() const { return peers_->stats(); }

  // Backplane, from the workers.
  void Claimed(const ClusterPerson& person) override;
  void Released(absl::string_view name) override;
  void Joined(const ChatEvent& event, uint8_t flags,
              int64_t claimed_us) override;
  void Left(const ChatEvent& event,
            const std::vector<absl::string_view>& groups) override;
  void Renamed(const ChatEvent& event) override;
  void Said(const ChatEvent& event, const EventStamp& stamp) override;
  void SaidPrivately(uint16_t host, const ChatEvent& event,
                     const EventStamp& stamp) override;

 private:
  // One thing for the publisher thread to do.
  struct Outgoing {
    enum class Op : uint8_t {
      kPresence,     // Publish `body` on chatd.p.
      kGroup,        // Publish `body` on `group`'s subject.
      kDirect,       // Publish `body` to the host `host`.
      kSubscribe,    // A local member joined `group`.
      kUnsubscribe,  // A local member left `group`.
      kAskHost,      // Ask the host `host` for its snapshot.
      kStop,
    };
    Op op = Op::kPresence;
    uint16_t host = 0;
    std::string group;  // Folded.
    std::string body;
  };

  void Run();
  void Handle(Outgoing& out);
  // False when it could not be handed to cnats (its `events` counted as
  // dropped).
  bool Publish(const std::string& subject, const std::string& body,
               uint64_t seq, uint64_t events);
  // Publishes the batches built since the last call, each with its
  // group's next number.
  void PublishBatches();
  void PublishPresence(const std::string& body);
  void Subscribe(const std::string& folded_group);
  void Unsubscribe(const std::string& folded_group);
  void Queue(Outgoing::Op op, std::string group, std::string body);

  // PeerHosts::Replies, from cnats's threads.
  void AskSnapshot(absl::string_view origin) override;
  void SendSnapshot() override;

  // cnats callbacks.
  static void OnMessage(__natsConnection* nc, __natsSubscription* sub,
                        __natsMsg* msg, void* closure);
  static void OnConnected(__natsConnection* nc, void* closure);
  static void OnDisconnected(__natsConnection* nc, void* closure);
  static void OnReconnected(__natsConnection* nc, void* closure);

  const Options options_;
  GroupRegistry* const registry_;
  const std::string origin_;
  const std::string direct_subject_;  // chatd.d.<origin>
  std::unique_ptr<PeerHosts> peers_;
  Stats stats_;
  // Relaxed: a flag for /metrics and for dropping while down; the mailbox
  // orders what is published.
  std::atomic<bool> connected_{false};
  Mailbox<Outgoing> outbox_;
  __natsConnection* nc_ = nullptr;
  __natsSubscription* presence_sub_ = nullptr;
  __natsSubscription* direct_sub_ = nullptr;
  std::thread publisher_;
  // Relaxed: read by cnats's callbacks only to stay quiet at shutdown.
  std::atomic<bool> stopped_{false};

  // Publisher thread only.
  uint64_t presence_seq_ = 0;
  struct GroupState {
    std::string subject;  // chatd.g.<hex of the folded name>
    uint32_t local_members = 0;
    uint64_t seq = 0;
    __natsSubscription* sub = nullptr;
    // The group's messages queued in this pass over the outbox, not yet
    // published: a kEvent body, or kEvents once a second joins.
    std::string batch;
    uint64_t batch_events = 0;
  };
  GroupState& GroupFor(const std::string& folded_group);
  // Publishes `group`'s batch, if it has one.
  void PublishBatch(GroupState& group);
  // Node map: batched_ points at its values.
  absl::node_hash_map<std::string, GroupState> groups_;
  // The groups with a batch, in the order of each one's first message in
  // this pass. Their batches are published at the end of the pass, and
  // before anything else is (presence must not overtake the messages
  // queued before it: a leave after its last message).
  std::vector<GroupState*> batched_;
};

}  // namespace chatd

#endif  // CHATD_SERVER_NATS_BACKPLANE_H_
