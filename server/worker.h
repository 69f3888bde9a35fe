// Worker is one reactor thread: an EventLoop, the connections handed to it,
// its ChatShard, and the Mailbox through which everything from other threads
// arrives. Only the worker's thread touches its connections and shard; other
// threads only Post().
//
// One pass of the loop: wait for events; handle readable sockets and the
// mailbox (which may queue output on many connections); then flush every
// connection that got output during the pass, once, with one gathered
// sendmsg; then free what was retired. Output from a whole pass leaves in one
// syscall per connection.
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
#include "core/session.h"
#include "net/event_loop.h"
#include "net/mailbox.h"
#include "server/envelope.h"

namespace chatd {

class ClientConnection;

class Worker final : private EventLoop::Handler {
 public:
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
    // How long shutdown waits for clients to take the goodbye.
    absl::Duration shutdown_grace = absl::Milliseconds(1500);
  };

  // `on_close(peer_ip)` runs on this worker's thread each time an admitted
  // connection (not a refusal) is freed.
  Worker(int index, const Options& options, GroupRegistry* registry,
         ChatShard::Transport* transport,
         std::function<void(uint32_t peer_ip)> on_close);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Waits for the thread to finish after a kShutdown envelope.
  void Join();

  // Any thread.
  void Post(Envelope envelope) { mailbox_.Post(std::move(envelope)); }

  // For this worker's connections, on its thread.
  EventLoop& loop() { return loop_; }
  ChatShard& shard() { return shard_; }
  const Options& options() const { return options_; }
  // When the current pass woke up: one clock read per pass.
  absl::Time now() const { return loop_.poll_time(); }
  // Scratch space for reads, shared by the worker's connections: idle
  // connections then hold no input buffer of their own.
  char* read_buffer() { return read_buffer_.get(); }
  size_t read_buffer_size() const;
  void QueueFlush(ClientConnection* connection);
  void WatchDrain(ClientConnection* connection);
  void Retire(ClientConnection* connection);

 private:
  void Run();
  void OnEvents(uint32_t events) override;  // The mailbox is readable.
  void Handle(Envelope&& envelope);
  void Adopt(int fd, uint32_t peer_ip);
  void Refuse(int fd, PayloadRef error);
  void BeginShutdown();
  void FlushQueued();
  // Deadlines: drains every pass, join timeouts once a second.
  void ExpireDeadlines();
  void FreeRetired();

  const int index_;
  const Options options_;
  const std::function<void(uint32_t)> on_close_;
  EventLoop loop_;
  Mailbox<Envelope> mailbox_;
  ChatShard shard_;
  std::unique_ptr<char[]> read_buffer_;
  absl::flat_hash_map<ClientConnection*, std::unique_ptr<ClientConnection>>
      connections_;
  std::vector<ClientConnection*> flush_queue_;
  std::vector<ClientConnection*> draining_;
  std::vector<ClientConnection*> retired_;
  bool mailbox_backlog_ = false;
  absl::Time next_join_sweep_;
  bool shutting_down_ = false;
  absl::Time shutdown_deadline_;
  std::thread thread_;
};

}  // namespace chatd

#endif  // CHATD_SERVER_WORKER_H_
