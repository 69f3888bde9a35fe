// Session is the chat protocol of one client connection, without the
// socket: bytes in, lines out. The base class frames input into lines,
// applies the member's rate and keeps the session's lifecycle; a protocol
// front end (LineSession, IrcSession) turns each line into chat actions on
// its Member through the worker's ChatShard. The connection that owns it
// feeds it bytes and is its SessionOutput; both live on one worker's thread.
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
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_shard.h"
#include "core/line_framer.h"
#include "core/member.h"
#include "core/token_bucket.h"
#include "net/payload.h"

namespace chatd {

// What one client may send. Set per server by flags.
struct SessionLimits {
  // Longest line, without its line ending (the line protocol's).
  size_t max_line_bytes = 4096;
  // Non-empty lines per second a joined member may send, with bursts of up
  // to `max_burst`; lines beyond it are delayed. 0 means no limit.
  double max_msgs_per_sec = 0;
  double max_burst = 0;
};

class Session {
 public:
  // A session must have been ended before it is destroyed.
  virtual ~Session();

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // What the connection does after handing the session input.
  enum class InputState {
    kReady,      // Read more when it comes.
    kThrottled,  // Over the rate: read nothing until resume_at(), then call
                 // Resume().
    kOver,       // An error or a quit was answered: stop reading, call
                 // End(), flush what was sent and close.
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
  // Answers with the protocol's error for `reason` and ends the session's
  // input, as a bad line would: for errors a transport finds (a WebSocket
  // message too long).
  void Refuse(absl::string_view reason) { Fail(reason); }
  // How the session's input ended, if it has.
  enum class Ending : uint8_t {
    kNone,         // Still open, or ended by End().
    kQuit,         // The member said /quit (QUIT).
    kLineTooLong,  // Answered "ERROR line too long".
    kRefused,      // Answered any other ERROR (bad JOIN, taken name...).
  };
  // Whether the session is over (an ERROR, a quit, or End()).
  bool over() const { return over_; }
  Ending ending() const { return ending_; }
  // While throttled: when the next line may go.
  absl::Time resume_at() const { return rate_.NextTokenAt(); }
  bool throttled() const { return framer_.holding(); }

  // The connection is gone or going: leaves every group, telling the other
  // members why (quit_reason()), and frees the name. Idempotent.
  void End();

  // Past the protocol's opening: JOIN on the line port, registration on
  // IRC. Until then the connection's join deadline runs.
  virtual bool joined() const = 0;
  // A deadline of the protocol's own once joined (IRC's ping of an idle
  // client), or InfiniteFuture. The connection's timer fires OnDeadline()
  // when it passes; true means the session is over (close as after kOver).
  virtual absl::Time deadline() const { return absl::InfiniteFuture(); }
  virtual bool OnDeadline(absl::Time now) { return false; }
  // The line a framing sends when the server closes for a reason of its
  // own (shutdown, a slow reader, a refusal): `line` as the line protocol
  // has it, or the protocol's own form of it.
  virtual PayloadRef FinalLine(PayloadRef line) const { return line; }

  // Empty until named.
  absl::string_view name() const { return member_.name(); }
  const Member& member() const { return member_; }

 protected:
  // `long_lines`: what a line over `max_line_bytes` does.
  Session(ChatShard* shard, SessionOutput* output, const SessionLimits& limits,
          size_t max_line_bytes, LineFramer::LongLines long_lines);

  // One line, without its ending. kStop when the session is over, kHold
  // when the line must wait (see TakeToken).
  virtual LineFramer::Verdict HandleLine(absl::string_view line,
                                         absl::Time now) = 0;
  // A line skipped as too long (LongLines::kSkip).
  virtual LineFramer::Verdict HandleOverlong() {
    return LineFramer::Verdict::kNext;
  }
  // Queues the protocol's last words for `reason`.
  virtual void SendFailure(absl::string_view reason) = 0;
  // Why the member leaves, as an IRC QUIT shows it.
  virtual absl::string_view quit_reason() const = 0;
  // Where the session's own lines go: its connection.
  SessionOutput& output() { return member_.output(); }

  // Whether a line may go now; false means hold it (the token is due at
  // resume_at()).
  bool TakeToken(absl::Time now) { return rate_.Take(now); }
  // Answers `reason` and ends the session's input.
  LineFramer::Verdict Fail(absl::string_view reason);
  // Ends the session's input after a goodbye the front end has sent.
  LineFramer::Verdict Quit();

  ChatShard* const shard_;
  Member member_;

 private:
  InputState StateAfter(LineFramer::Result result);
  LineFramer::Verdict Frame(absl::string_view line, absl::Time now);
  LineFramer::Verdict Frame(LineFramer::Overlong, absl::Time now);

  LineFramer framer_;
  TokenBucket rate_;
  bool over_ = false;
  Ending ending_ = Ending::kNone;
};

}  // namespace chatd

#endif  // CHATD_CORE_SESSION_H_
