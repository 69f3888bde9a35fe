// Session is the chat protocol for one client connection, without the
// socket: bytes in, lines out. It frames input, expects a JOIN first, then
// turns lines into messages and commands. The connection that owns it feeds
// it bytes and gives it a SessionOutput; both live on one worker's thread.
//
// A member over its rate is throttled, never cut off: the line that found
// the token bucket empty, and everything read after it, wait in the session
// until the next token is due. The connection stops reading meanwhile, so
// the client's own writes back up (TCP back-pressure) and what waits here is
// bounded by one read.
#ifndef CHATD_CORE_SESSION_H_
#define CHATD_CORE_SESSION_H_

#include <cstddef>
#include <cstdint>
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
  // to `max_burst`; lines beyond it are delayed. 0 means no limit.
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
  Session(ChatShard* shard, SessionOutput* output, const SessionLimits& limits);
  // A session must have been ended before it is destroyed.
  ~Session();

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // What the connection does after handing the session input.
  enum class InputState {
    kReady,      // Read more when it comes.
    kThrottled,  // Over the rate: read nothing until resume_at(), then call
                 // Resume().
    kOver,       // An error or /quit was answered: stop reading, call End(),
                 // flush what was sent and close.
  };

  // For a byte stream: handles bytes from the client, received at `now`,
  // framed into lines by the session's own LineFramer. Must not be called
  // while throttled (it would only add to what waits).
  InputState OnInput(absl::string_view bytes, absl::Time now);
  // Handles the lines that waited, as far as the rate allows at `now`.
  InputState Resume(absl::Time now);

  // For a transport that frames lines itself (WebSocket): handles one line,
  // without its line ending. kHold means the line must wait until
  // resume_at() and be offered again; kStop that the session is over.
  LineFramer::Verdict OnLine(absl::string_view line, absl::Time now);
  // Sends "ERROR <reason>" and ends the session's input, as a bad line
  // would: for errors a transport finds (a WebSocket message too long).
  void Refuse(absl::string_view reason) { Fail(reason); }
  // How the session's input ended, if it has.
  enum class Ending : uint8_t {
    kNone,         // Still open, or ended by End().
    kQuit,         // The member said /quit.
    kLineTooLong,  // Answered "ERROR line too long".
    kRefused,      // Answered any other ERROR (bad JOIN, taken name...).
  };
  // Whether the session is over (an ERROR, /quit, or End()).
  bool over() const { return over_; }
  Ending ending() const { return ending_; }
  // While throttled: when the next line may go.
  absl::Time resume_at() const { return rate_.NextTokenAt(); }
  bool throttled() const { return framer_.holding(); }

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

  InputState StateAfter(LineFramer::Result result);
  // kStop when the session is over, kHold when the line must wait.
  LineFramer::Verdict HandleLine(absl::string_view line, absl::Time now);
  LineFramer::Verdict HandleJoin(absl::string_view line);
  LineFramer::Verdict HandleChat(absl::string_view line, absl::Time now);
  LineFramer::Verdict Fail(absl::string_view reason);

  ChatShard* const shard_;
  SessionOutput* const output_;
  LineFramer framer_;
  TokenBucket rate_;
  bool over_ = false;
  Ending ending_ = Ending::kNone;
  // Index among the shard's local members; 32 bits, beside the flags, keep
  // a session (one per connection) a word smaller.
  uint32_t shard_slot_ = 0;
  Group* group_ = nullptr;  // Set while joined.
  std::string name_;
  uint64_t joined_epoch_ = 0;  // The group's epoch at our join.
};

}  // namespace chatd

#endif  // CHATD_CORE_SESSION_H_
