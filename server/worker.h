// Worker is one reactor thread: an EventLoop, the connections handed to it,
// its ChatShard, and the Mailbox through which everything from other threads
// arrives. Only the worker's thread touches its connections and shard; other
// threads only Post().
//
// One pass of the loop: wait for events; handle readable sockets, the
// mailbox (which may queue output on many connections) and the timers due;
// then flush every connection that got output during the pass, once, with
// one gathered sendmsg; then free what was retired. Output from a whole pass
// leaves in one syscall per connection.
//
// Back-pressure: when a post leaves another worker's mailbox above the
// high-water mark, this worker stops reading chat input (its connections
// wait on a list, their sockets unread) until every such mailbox is back
// under the low-water mark. It keeps draining its own mailbox and writing
// meanwhile, so two workers holding each other back both still make room.
#ifndef CHATD_SERVER_WORKER_H_
#define CHATD_SERVER_WORKER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/chat_shard.h"
#include "core/group_registry.h"
#include "core/irc_session.h"
#include "core/session.h"
#include "net/event_loop.h"
#include "net/mailbox.h"
#include "net/timer_queue.h"
#include "net/tls_context.h"
#include "server/envelope.h"
#include "server/http_framing.h"
#include "server/worker_stats.h"

namespace chatd {

class ClientConnection;

class Worker final : private EventLoop::Handler {
 public:
  // Scratch space for reads, shared by the worker's connections: idle
  // connections then hold no input buffer of their own.
  static constexpr size_t kReadBufferSize = 64 * 1024;

  struct Options {
    SessionLimits session;
    // A connection whose unsent output passes this is dropped as too slow;
    // 0 means no limit.
    size_t max_output_bytes = 1 << 20;
    // A connection that has not joined by then is closed; zero means never.
    absl::Duration join_timeout = absl::Seconds(10);
    // How long a closing connection may take to flush and see the client's
    // EOF before it is cut off.
    absl::Duration drain_timeout = absl::Seconds(2);
    // How long shutdown waits for clients to take the goodbye (the server
    // times it; see ChatServer::Stop).
    absl::Duration shutdown_grace = absl::Milliseconds(1500);
    // Back-pressure between workers, in envelopes: a post that leaves a
    // mailbox deeper than `mailbox_high_water` holds the poster's input
    // until the depth is at most `mailbox_low_water`. 0 turns it off.
    size_t mailbox_high_water = 65536;
    size_t mailbox_low_water = 32768;
    // The HTTP port's settings; `web.site` must be set if it is open.
    WebOptions web;
    // The IRC ports' settings.
    IrcConfig irc;
    // The current certificate of the TLS ports, by Protocol; set for each
    // protocol that has a TLS port. The server owns the slots.
    const TlsContextSlot* tls[kProtocols] = {};
    // Runs on the worker's thread at the start of every pass; a test may
    // block in it to hold the worker back. Empty in production.
    std::function<void(int worker)> before_pass_for_testing;
  };

  // `on_close(fd)` runs on this worker's thread each time an admitted
  // connection (not a refusal) is freed, just before its fd is closed.
  // `backplane` is null on a single host.
  Worker(int index, const Options& options, GroupRegistry* registry,
         ChatShard::Transport* transport, Backplane* backplane,
         std::function<void(int fd)> on_close);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Waits for the thread to finish after a kExit envelope.
  void Join();

  // Any thread. Returns the mailbox's depth after the post.
  size_t Post(Envelope envelope) { return mailbox_.Post(std::move(envelope)); }
  // Any thread: envelopes posted here and not yet handled.
  size_t mailbox_depth() const { return mailbox_.depth(); }
  // Any thread; see WorkerStats and ChatShard::Stats.
  const WorkerStats& stats() const { return stats_; }
  const ChatShard::Stats& shard_stats() const { return shard_.stats(); }
  int index() const { return index_; }

  // On this worker's thread: a post of ours left `target`'s mailbox above
  // the high-water mark, so hold our chat input until it drains.
  void HoldInputFor(const Worker* target);

  // For this worker's connections, on its thread.
  EventLoop& loop() { return loop_; }
  ChatShard& shard() { return shard_; }
  const Options& options() const { return options_; }
  // When the current pass woke up: one clock read per pass.
  absl::Time now() const { return loop_.poll_time(); }
  char* read_buffer() { return read_buffer_.get(); }
  // Where a TLS connection without kernel TLS gathers one record of output
  // to encrypt: TlsStream::kMaxRecord bytes, shared like the read buffer.
  char* tls_record_buffer() { return tls_record_buffer_.get(); }
  WorkerStats& stats() { return stats_; }
  // Whether chat input is held back (see the class comment).
  bool input_paused() const { return !congested_.empty(); }
  // A connection that will not read until the hold ends; ReleaseInput() is
  // called on it then. A connection retired meanwhile calls ForgetHeld().
  void HoldInput(ClientConnection* connection);
  void ForgetHeld(ClientConnection* connection);
  void QueueFlush(ClientConnection* connection);
  void Retire(ClientConnection* connection);

 private:
  void Run();
  void OnEvents(uint32_t events) override;  // The mailbox is readable.
  void Handle(Envelope&& envelope);
  // The framing a new connection on a `protocol` port starts with.
  Framing* NewFraming(Protocol protocol);
  void Adopt(int fd, Port port);
  void Refuse(int fd, Port port, PayloadRef error);
  // Takes `fd` on as a connection on `port`; null if it could not (the fd
  // is then still open).
  ClientConnection* AddConnection(int fd, Port port, bool admitted);
  // Measures the pass that began at poll_time().
  void RecordPass();
  void BeginShutdown();
  // Ends the input hold once every congested mailbox has drained enough.
  void ReleaseInputIfDrained();
  void FlushQueued();
  void FreeRetired();

  const int index_;
  const Options options_;
  const std::function<void(int)> on_close_;
  WorkerStats stats_;
  EventLoop loop_;
  Mailbox<Envelope> mailbox_;
  ChatShard shard_;
  std::unique_ptr<char[]> read_buffer_;
  std::unique_ptr<char[]> tls_record_buffer_;
  absl::flat_hash_map<ClientConnection*, std::unique_ptr<ClientConnection>>
      connections_;
  std::vector<ClientConnection*> flush_queue_;
  std::vector<ClientConnection*> retired_;
  // Mailboxes over the high-water mark that we post to, and the
  // connections waiting for them to drain.
  std::vector<const Worker*> congested_;
  std::vector<ClientConnection*> held_readers_;
  bool mailbox_backlog_ = false;
  bool shutting_down_ = false;
  bool exit_ = false;  // A kExit arrived.
  std::thread thread_;
};

}  // namespace chatd

#endif  // CHATD_SERVER_WORKER_H_
