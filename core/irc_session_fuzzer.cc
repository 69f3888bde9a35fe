// Fuzzes IRC sessions together with line sessions: several clients spread
// over three shards sharing one registry, each fed its own script of bytes
// in chunks the input chooses, with broadcasts carried between the shards
// at moments the input chooses too, a clock that advances, fakelag, pings
// and ping timeouts. Checks that every payload an IRC client is sent is a
// run of complete CR LF lines with no stray CR, LF or NUL, each within
// 512 bytes without its tags, that every line client is sent complete
// lines, and that once every session has ended no group or person is left.
//
// The input is a set of scripts, each after a header line starting "%%":
//
//   %%i1        an IRC client on shard 1 (the digit picks the shard)
//   %%l0        a line client on shard 0
//   %%ip2       an IRC client on shard 2 of a server with a password
//   %%s         the schedule: its bytes drive the choices below
//
// Bytes before the first header are an IRC client's script. In each round,
// every client is handed its next line (sometimes part of one, or a few,
// or nothing, as the schedule says), then the shards' posts are delivered
// (or left for a later round) and the clock moves on. A client whose
// session ends (QUIT, an ERROR, a kick, a ping timeout) reconnects with
// what is left of its script. When the schedule runs out, choices come
// from a generator seeded with it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_shard.h"
#include "core/group_registry.h"
#include "core/irc_session.h"
#include "core/line_session.h"
#include "core/member.h"
#include "core/queued_transport.h"
#include "core/session.h"
#include "net/payload.h"
#include "tools/fuzz/fuzz_check.h"

namespace chatd {
namespace {

constexpr int kShards = 3;
// Work per input: clients, line clients among them, connections in all
// (reconnects included), bytes of input used and rounds.
constexpr size_t kMaxClients = 8;
constexpr size_t kMaxLineClients = 2;
constexpr int kMaxConnections = 32;
constexpr size_t kMaxInputBytes = 48 << 10;
constexpr int kMaxRounds = 800;
// An IRC line's bytes, CR LF included, without its tags.
constexpr size_t kIrcLineBytes = 512;
constexpr absl::string_view kHeader = "%%";

void CheckIrcPayload(absl::string_view bytes) {
  FUZZ_CHECK(!bytes.empty());
  while (!bytes.empty()) {
    const size_t lf = bytes.find('\n');
    FUZZ_CHECK(lf != absl::string_view::npos);
    FUZZ_CHECK(lf >= 1 && bytes[lf - 1] == '\r');
    absl::string_view line = bytes.substr(0, lf - 1);
    bytes.remove_prefix(lf + 1);
    FUZZ_CHECK(line.find_first_of(absl::string_view("\r\n\0", 3)) ==
               absl::string_view::npos);
    if (absl::StartsWith(line, "@")) {
      const size_t space = line.find(' ');
      FUZZ_CHECK(space != absl::string_view::npos);
      line.remove_prefix(space + 1);
    }
    FUZZ_CHECK(!line.empty());
    FUZZ_CHECK(line.size() + 2 <= kIrcLineBytes);
  }
}

void CheckLinePayload(absl::string_view bytes) {
  FUZZ_CHECK(!bytes.empty() && bytes.back() == '\n');
}

class CheckedOutput : public SessionOutput {
 public:
  explicit CheckedOutput(bool irc) : irc_(irc) {}
  void Send(PayloadRef line) override {
    FUZZ_CHECK(line);
    if (irc_) {
      CheckIrcPayload(line->view());
    } else {
      CheckLinePayload(line->view());
    }
  }
  void EndSession(PayloadRef last_words) override {
    // Only a line member, kicked from its one group, is ended this way; a
    // kicked IRC member just leaves the channel.
    FUZZ_CHECK(!irc_);
    FUZZ_CHECK(!closing_);
    FUZZ_CHECK(last_words);
    CheckLinePayload(last_words->view());
    closing_ = true;
  }
  bool irc() const { return irc_; }
  bool closing() const { return closing_; }

 private:
  const bool irc_;
  bool closing_ = false;
};

// One client connection: its output and its session.
struct Connection {
  Connection(bool irc, ChatShard* shard, const SessionLimits& limits,
             const IrcConfig* config)
      : output(irc) {
    if (irc) {
      session = std::make_unique<IrcSession>(shard, &output, limits, config);
    } else {
      session = std::make_unique<LineSession>(shard, &output, limits);
    }
  }
  ~Connection() { session->End(); }
  CheckedOutput output;
  std::unique_ptr<Session> session;
};

struct Script {
  bool irc = true;
  bool password = false;
  int shard = 0;
  absl::string_view bytes;
  size_t pos = 0;
  std::unique_ptr<Connection> conn;
  bool done() const { return pos >= bytes.size(); }
};

// The schedule's bytes, then a generator seeded with them.
class Choices {
 public:
  explicit Choices(absl::string_view schedule) : schedule_(schedule) {
    state_ = 0x9e3779b97f4a7c15u;
    for (char c : schedule) state_ = (state_ ^ uint8_t(c)) * 0x100000001b3u;
    if (state_ == 0) state_ = 1;
  }
  uint8_t Next() {
    if (pos_ < schedule_.size()) return uint8_t(schedule_[pos_++]);
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return uint8_t(state_ >> 24);
  }

 private:
  absl::string_view schedule_;
  size_t pos_ = 0;
  uint64_t state_;
};

class World {
 public:
  World(std::vector<Script> scripts, absl::string_view schedule)
      : scripts_(std::move(scripts)), choices_(schedule) {
    limits_.max_line_bytes = 600;
    limits_.max_msgs_per_sec = 20;
    limits_.max_burst = 8;
    config_.server_name = "irc.fuzz.test";
    config_.motd = {"welcome to the fuzz", "be nice"};
    config_.has_motd = true;
    config_.created = absl::FromUnixSeconds(1000);
    config_.ping_interval = absl::Seconds(3);
    config_.ping_timeout = absl::Seconds(2);
    password_config_ = config_;
    password_config_.password = "sekrit";
    password_config_.has_motd = false;
    for (int s = 0; s < kShards; ++s) {
      shards_.push_back(
          std::make_unique<ChatShard>(s, &registry_, &transport_));
    }
    for (Script& script : scripts_) Connect(script);
  }

  ~World() {
    // As at shutdown: every connection goes, in an order the input picks.
    std::vector<Script*> order;
    for (Script& script : scripts_) order.push_back(&script);
    for (size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[choices_.Next() % i]);
    }
    for (Script* script : order) {
      if (script->conn == nullptr) continue;
      if (!script->conn->output.closing() && (choices_.Next() & 1) != 0) {
        CheckFinalLine(*script->conn);
      }
      script->conn.reset();
      if ((choices_.Next() & 3) == 0) DeliverPosts();
    }
    DeliverPosts();
    FUZZ_CHECK(registry_.group_count() == 0);
    FUZZ_CHECK(registry_.person_count() == 0);
  }

  void Run() {
    for (int round = 0; round < kMaxRounds && Busy(); ++round) {
      for (Script& script : scripts_) Step(script);
      if ((choices_.Next() & 3) != 0) DeliverPosts();
      ServeClosing();
      Advance(absl::Milliseconds(choices_.Next() * 4));
    }
    DeliverPosts();
    ServeClosing();
    // Sometimes let the idle clients be pinged and then time out.
    if ((choices_.Next() & 1) != 0) {
      Advance(config_.ping_interval);
      Advance(config_.ping_timeout);
      DeliverPosts();
      ServeClosing();
    }
  }

 private:
  bool Busy() const {
    for (const Script& script : scripts_) {
      if (script.conn == nullptr) continue;
      if (!script.done() || script.conn->session->throttled()) return true;
    }
    return !transport_.empty();
  }

  void Connect(Script& script) {
    if (connections_ >= kMaxConnections) {
      script.conn.reset();
      return;
    }
    ++connections_;
    script.conn = std::make_unique<Connection>(
        script.irc, shards_[script.shard].get(), limits_,
        script.password ? &password_config_ : &config_);
  }

  // The session is over: the connection closes, and the client comes back
  // with what is left of its script, if anything.
  void Reconnect(Script& script) {
    script.conn.reset();
    if (!script.done()) Connect(script);
  }

  void Step(Script& script) {
    if (script.conn == nullptr) return;
    Session& session = *script.conn->session;
    if (session.throttled()) {
      // As the connection's timer does.
      if (session.resume_at() <= now_) After(script, session.Resume(now_));
      return;
    }
    if (script.done()) return;
    const uint8_t c = choices_.Next();
    if (c < 12) return;  // Nothing came from this client this round.
    if (c == 255) {      // The connection drops.
      Reconnect(script);
      return;
    }
    const absl::string_view rest = script.bytes.substr(script.pos);
    size_t n = LineEnd(rest, 0);
    if (c % 8 == 0) {
      n = 1 + choices_.Next() % n;  // Part of a line.
    } else if (c % 8 == 1) {
      n = LineEnd(rest, LineEnd(rest, n));  // Up to three lines.
    }
    script.pos += n;
    After(script, session.OnInput(rest.substr(0, n), now_));
  }

  // The end of the line that starts at `from` in `bytes`, its '\n' included.
  static size_t LineEnd(absl::string_view bytes, size_t from) {
    if (from >= bytes.size()) return bytes.size();
    const size_t lf = bytes.find('\n', from);
    return lf == absl::string_view::npos ? bytes.size() : lf + 1;
  }

  void After(Script& script, Session::InputState state) {
    if (state == Session::InputState::kOver) {
      FUZZ_CHECK(script.conn->session->over());
      Reconnect(script);
      return;
    }
    const Session& session = *script.conn->session;
    FUZZ_CHECK((state == Session::InputState::kThrottled) ==
               session.throttled());
    if (session.throttled()) FUZZ_CHECK(session.resume_at() > now_);
  }

  // Sessions the shard ended (a kicked line member) are closed.
  void ServeClosing() {
    for (Script& script : scripts_) {
      if (script.conn != nullptr && script.conn->output.closing()) {
        Reconnect(script);
      }
    }
  }

  void DeliverPosts() {
    for (auto posts = transport_.Take(); !posts.empty();
         posts = transport_.Take()) {
      for (const auto& post : posts) {
        FUZZ_CHECK(post.worker >= 0 && post.worker < kShards);
        shards_[post.worker]->Deliver(post.post);
      }
    }
  }

  // The clock moves on; the connections' timers fire for the deadlines
  // passed (IRC's ping of an idle client, and its timeout).
  void Advance(absl::Duration d) {
    now_ += d;
    for (Script& script : scripts_) {
      if (script.conn == nullptr || script.conn->output.closing()) continue;
      Session& session = *script.conn->session;
      // A timer that fires late finds both the ping and its timeout due:
      // it fires again at once, and the second time must end the session.
      for (int fired = 0; !session.over() && session.deadline() <= now_;
           ++fired) {
        FUZZ_CHECK(fired < 2);
        if (session.OnDeadline(now_)) {
          FUZZ_CHECK(session.over());
          Reconnect(script);
          break;
        }
      }
    }
  }

  static void CheckFinalLine(const Connection& conn) {
    const PayloadRef line =
        conn.session->FinalLine(Payload::Line({"* server shutting down"}));
    FUZZ_CHECK(line);
    if (conn.output.irc()) {
      CheckIrcPayload(line->view());
    } else {
      CheckLinePayload(line->view());
    }
  }

  SessionLimits limits_;
  IrcConfig config_;
  IrcConfig password_config_;
  GroupRegistry registry_;
  QueuedTransport transport_;
  std::vector<std::unique_ptr<ChatShard>> shards_;
  std::vector<Script> scripts_;
  Choices choices_;
  absl::Time now_ = absl::FromUnixSeconds(100000);
  int connections_ = 0;
};

// Splits the input into scripts and the schedule (see the top).
void ParseInput(absl::string_view input, std::vector<Script>* scripts,
                absl::string_view* schedule) {
  size_t line_clients = 0;
  auto add = [&](absl::string_view header, absl::string_view body) {
    if (absl::StrContains(header, 's')) {
      *schedule = body;
      return;
    }
    if (scripts->size() >= kMaxClients) return;
    Script script;
    script.irc = !absl::StrContains(header, 'l');
    if (!script.irc && line_clients++ >= kMaxLineClients) return;
    script.password = absl::StrContains(header, 'p');
    script.shard = static_cast<int>(scripts->size()) % kShards;
    for (char c : header) {
      if (c >= '0' && c <= '9') script.shard = (c - '0') % kShards;
    }
    script.bytes = body;
    scripts->push_back(std::move(script));
  };
  // A header is "%%" at the start of the input or of a line, up to the
  // end of its line.
  absl::string_view header;
  size_t start = 0;
  bool has_header = absl::StartsWith(input, kHeader);
  size_t at = has_header ? 0 : input.find("\n%%");
  if (!has_header && at != absl::string_view::npos) ++at;
  if (!has_header && at == absl::string_view::npos) at = input.size();
  if (!has_header && at > 0) add("i", input.substr(0, at));
  while (at < input.size()) {
    const size_t header_end = input.find('\n', at);
    header = input.substr(at + kHeader.size(),
                          header_end == absl::string_view::npos
                              ? absl::string_view::npos
                              : header_end - at - kHeader.size());
    header = header.substr(0, 8);
    start =
        header_end == absl::string_view::npos ? input.size() : header_end + 1;
    // From the header's own '\n': a header may follow at once.
    size_t next = input.find("\n%%", start - 1);
    next = next == absl::string_view::npos ? input.size() : next + 1;
    if (next < start) next = start;
    add(header, input.substr(start, next - start));
    at = next;
  }
}

}  // namespace
}  // namespace chatd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatd;
  absl::string_view input(reinterpret_cast<const char*>(data),
                          std::min(size, kMaxInputBytes));
  std::vector<Script> scripts;
  absl::string_view schedule;
  ParseInput(input, &scripts, &schedule);
  World world(std::move(scripts), schedule);
  world.Run();
  return 0;
}
