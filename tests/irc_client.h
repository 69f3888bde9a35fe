// A blocking IRC client for chatd's IRC front end (docs/IRC.md), for
// integration tests: ChatClient underneath, IRC framing on top.
//
// Lines go out with "\r\n"; lines come back without "\r\n" (a bare "\n"
// works too). IrcMessage is a parsed line: tags, source, command and
// parameters, parsed here by a small parser of the test's own (it does not
// use the server's core/ code, so a bug there cannot hide in both).
//
// Every call that waits is bounded by a timeout, as in ChatClient. The
// helpers that read a reply (ReadUntil, ExpectNumeric, Register,
// JoinChannel, Sync) fail with a status that quotes what did come, so a test
// log says what the server sent instead.
//
// Thread safety: as ChatClient, one thread may read (ReadLine and the
// helpers built on it) while another writes (Send, SendRaw).

#ifndef CHATD_TESTS_IRC_CLIENT_H_
#define CHATD_TESTS_IRC_CLIENT_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"

namespace chatd_test {

// The realname Register() sends: USER <user> 0 * :Test User.
inline constexpr char kIrcRealName[] = "Test User";
// The host part of an IRC user's mask, and of a line or web user's.
inline constexpr char kIrcHost[] = "irc.chatd";
inline constexpr char kLineHost[] = "line.chatd";

// One IRC line, parsed.
struct IrcMessage {
  std::string raw;  // The whole line, without "\r\n".
  // In order; values unescaped (IRCv3 message-tags: "\s" is a space, ...).
  // A tag without "=" has the value "".
  std::vector<std::pair<std::string, std::string>> tags;
  std::string source;   // Without the ":"; "" when the line has none.
  std::string command;  // As sent ("PRIVMSG", "001").
  // Middle parameters, then the trailing one (without its ":"), if any.
  std::vector<std::string> params;

  // The value of tag `key`, if the line has it.
  std::optional<std::string> Tag(absl::string_view key) const;
  bool HasTag(absl::string_view key) const { return Tag(key).has_value(); }
  // The source up to "!" ("alice" of "alice!u@irc.chatd").
  std::string Nick() const;
  // Parameter `i`, or "" when there are fewer.
  std::string Param(size_t i) const;
  // The last parameter, or "" when there is none.
  std::string Last() const;
  // Whether the command is a three-digit numeric of 400 or more.
  bool IsErrorNumeric() const;
};

// Parses one line (without "\r\n"). InvalidArgument when it has no command.
absl::StatusOr<IrcMessage> ParseIrcMessage(absl::string_view line);

// Lines for a status message, one per line, at most the last 30.
std::string DescribeLines(const std::vector<IrcMessage>& lines);

class IrcClient {
 public:
  using Predicate = std::function<bool(const IrcMessage&)>;

  IrcClient() = default;
  IrcClient(IrcClient&&) noexcept = default;
  IrcClient& operator=(IrcClient&&) noexcept = default;
  IrcClient(const IrcClient&) = delete;
  IrcClient& operator=(const IrcClient&) = delete;

  // Connects to 127.0.0.1:`port`, or to `endpoint` (TLS when it says so).
  absl::Status Connect(int port, absl::Duration timeout = kDefaultTimeout);
  absl::Status Connect(const Endpoint& endpoint,
                       absl::Duration timeout = kDefaultTimeout);

  // Connects and registers (see Register()).
  static absl::StatusOr<IrcClient> Registered(
      int port, absl::string_view nick, absl::string_view user = "u",
      const std::vector<std::string>& caps = {});
  static absl::StatusOr<IrcClient> Registered(
      const Endpoint& endpoint, absl::string_view nick,
      absl::string_view user = "u", const std::vector<std::string>& caps = {});

  // Writes `line` followed by "\r\n".
  absl::Status Send(absl::string_view line,
                    absl::Duration timeout = kDefaultTimeout);
  // Writes `bytes` as they are.
  absl::Status SendRaw(absl::string_view bytes,
                       absl::Duration timeout = kDefaultTimeout);

  // The next line without "\n" and a "\r" before it. Errors as in
  // ChatClient::ReadLine.
  absl::StatusOr<std::string> ReadLine(
      absl::Duration timeout = kDefaultTimeout);
  // ReadLine() flattened for assertions: the line or "<no line: STATUS>".
  std::string NextLine(absl::Duration timeout = kDefaultTimeout);
  // The next line, parsed.
  absl::StatusOr<IrcMessage> ReadMessage(
      absl::Duration timeout = kDefaultTimeout);

  // Reads lines until one satisfies `done`, all within `timeout`. Returns
  // every line read, the satisfying one last; on timeout or a closed
  // connection, an error listing what came.
  absl::StatusOr<std::vector<IrcMessage>> ReadUntil(
      const Predicate& done, absl::Duration timeout = kDefaultTimeout);

  // The next line, which must be numeric `numeric` ("433"); otherwise an
  // error quoting it.
  absl::StatusOr<IrcMessage> ExpectNumeric(
      absl::string_view numeric, absl::Duration timeout = kDefaultTimeout);

  // Registers as `nick`: with `caps`, first "CAP LS 302" and
  // "CAP REQ :<caps>" (which must be ACKed), then NICK and USER
  // (`USER <user> 0 * :Test User`), then "CAP END"; reads through 376 or
  // 422. Returns the lines from 001 on (the welcome burst). Fails on an
  // error numeric or ERROR, quoting it.
  absl::StatusOr<std::vector<IrcMessage>> Register(
      absl::string_view nick, absl::string_view user = "u",
      const std::vector<std::string>& caps = {},
      absl::Duration timeout = kDefaultTimeout);

  // Sends "JOIN <channel>" and reads through its 366; returns those lines
  // (the JOIN, any 332/333, the 353s, the 366). Fails on an error numeric.
  absl::StatusOr<std::vector<IrcMessage>> JoinChannel(
      absl::string_view channel, absl::Duration timeout = kDefaultTimeout);

  // Reads the JOINs of every one of `nicks` (to any channel), in any
  // order: joins by different members may arrive in either order. Fails on
  // any other line, quoting it.
  absl::Status AwaitJoins(const std::vector<std::string>& nicks,
                          absl::Duration timeout = kDefaultTimeout);

  // Sends "PING <token>" and reads through the PONG: since every command is
  // answered in order, everything before it has been handled. Returns the
  // lines that came before the PONG.
  absl::StatusOr<std::vector<IrcMessage>> Sync(
      absl::string_view token = "sync",
      absl::Duration timeout = kDefaultTimeout);

  // As ChatClient: OK when the server ends the connection with nothing
  // more sent.
  absl::Status ExpectClosed(absl::Duration timeout = kDefaultTimeout) {
    return tcp_.ExpectClosed(timeout);
  }
  void Close() { tcp_.Close(); }

  // What Register() registered as (empty before).
  const std::string& nick() const { return nick_; }
  const std::string& user() const { return user_; }
  // nick!user@irc.chatd.
  std::string Mask() const;

  ChatClient& tcp() { return tcp_; }

 private:
  ChatClient tcp_;
  std::string nick_;
  std::string user_;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_IRC_CLIENT_H_
