// Session is the chat protocol for one client connection, without the
// socket: bytes in, lines out. It frames input, expects a JOIN first, then
// turns lines into messages and commands. The connection that owns it feeds
// it bytes and gives it a SessionOutput; both live on one worker's thread.
#ifndef CHATD_CORE_SESSION_H_
#define CHATD_CORE_SESSION_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_shard.h"
#include "core/line_framer.h"
#include "core/token_bucket.h"
#include "net/payload.h"

namespace chatd {

// What one client may send. Set per server by flags.
struct SessionLimits {
  // Longest line, without its line ending.
  size_t max_line_bytes = 4096;
  // Non-empty lines per second a joined member may send, with bursts of up
  // to `max_burst`; 0 means no limit.
  double max_msgs_per_sec = 0;
  double max_burst = 0;
};

// Where a session's lines for its own client go.
class SessionOutput {
 public:
  // Queues a complete line for the client. Must not block or call back into
  // the session.
  virtual void Send(PayloadRef line) = 0;

 protected:
  ~SessionOutput() = default;
};

class Session {
 public:
  Session(ChatShard* shard, SessionOutput* output,
          const SessionLimits& limits);
  // A session must have been ended before it is destroyed.
  ~Session();

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Handles bytes from the client, received at `now`. Returns false when the
  // session is over (an error or /quit was answered): the caller then stops
  // reading, calls End(), flushes what was sent and closes.
  bool OnInput(absl::string_view bytes, absl::Time now);

  // The connection is gone or going: leaves the group, if joined, which tells
  // the other members. Idempotent.
  void End();

  // Queues a line from the group for this client.
  void Deliver(const PayloadRef& line) { output_->Send(line); }

  bool joined() const { return group_ != nullptr; }
  // Empty until joined.
  absl::string_view name() const { return name_; }
  const Group* group() const { return group_; }

 private:
  friend class ChatShard;

  // Each returns false when the session is over.
  bool HandleLine(absl::string_view line, absl::Time now);
  bool HandleJoin(absl::string_view line);
  bool HandleChat(absl::string_view line, absl::Time now);
  bool Fail(absl::string_view reason);

  ChatShard* const shard_;
  SessionOutput* const output_;
  LineFramer framer_;
  TokenBucket rate_;
  bool over_ = false;
  Group* group_ = nullptr;  // Set while joined.
  std::string name_;
  size_t shard_slot_ = 0;  // Index among the shard's local members.
  uint64_t joined_epoch_ = 0;  // The group's epoch at our join.
};

}  // namespace chatd

#endif  // CHATD_CORE_SESSION_H_
