// Connection is one simulated client: a non-blocking socket, its protocol
// session, its queued output, and, as a receiver, the ledger of what it got
// from each sender of its group. As a sender it stamps and queues messages
// when its ReactorThread says so. With --tls its bytes go through a TlsLink
// (tls_link.h) instead of straight to the socket. Owned by that thread's
// ReactorThread and used only on it (the controller reads the ledger after
// the thread ends).
#ifndef CHATD_TOOLS_LOADGEN_CONNECTION_H_
#define CHATD_TOOLS_LOADGEN_CONNECTION_H_

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "net/event_loop.h"
#include "net/output_queue.h"
#include "tools/loadgen/delivery_ledger.h"
#include "tools/loadgen/protocol.h"
#include "tools/loadgen/thread_context.h"
#include "tools/loadgen/tls_link.h"

namespace chatd::loadgen {

class Connection final : public EventLoop::Handler, private SessionEvents {
 public:
  enum class State { kIdle, kConnecting, kJoining, kJoined, kClosed };

  Connection(uint32_t id, ThreadContext* ctx);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts connecting; the connection fails if it has not joined by
  // `deadline_ns`.
  void Start(const sockaddr_in& server, std::optional<in_addr> source,
             int64_t deadline_ns);

  void OnEvents(uint32_t events) override;

  // Sender side: stamps the next message with `t_ns` and queues it.
  void QueueMessage(int64_t t_ns);
  // Writes queued output; called for connections in ctx->dirty.
  void Flush();
  // Closes the socket; `reason` goes to the log.
  void Close(absl::string_view reason);

  uint32_t id() const { return id_; }
  State state() const { return state_; }
  int64_t deadline_ns() const { return deadline_ns_; }
  size_t queued_bytes() const {
    return tls_ != nullptr ? tls_->pending_bytes() : out_.pending_bytes();
  }
  // Messages this connection sent (its next sequence number).
  uint32_t sent() const { return sent_; }
  const DeliveryLedger& ledger() const { return ledger_; }

 private:
  // SessionEvents.
  void OnJoined(int online) override;
  void OnMemberJoined() override;
  void OnMessage(absl::string_view text) override;
  void OnServerError(absl::string_view line) override;
  void Send(absl::string_view bytes) override;

  void OnConnected();
  void ReadAll();
  // ReadAll and Flush under TLS.
  void ReadTls();
  void FlushTls();
  // Watches for EPOLLOUT or stops; a sender held back may go on once not.
  void SetWantWrite(bool want_write);
  void MarkDirty();
  void Acknowledge(uint32_t sender, uint32_t seq);
  // Logs a problem on this connection, at most a few per thread.
  void Warn(absl::string_view what);

  const uint32_t id_;
  ThreadContext* const ctx_;
  std::unique_ptr<ProtocolSession> session_;
  DeliveryLedger ledger_;
  OutputQueue out_;               // Unused with TLS: tls_ queues the plaintext.
  std::unique_ptr<TlsLink> tls_;  // Null without --tls.
  int fd_ = -1;
  State state_ = State::kIdle;
  int64_t deadline_ns_ = 0;
  uint32_t sent_ = 0;
  bool dirty_ = false;
  bool want_write_ = false;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_CONNECTION_H_
