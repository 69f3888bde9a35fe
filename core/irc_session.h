// IrcSession is the IRC front end (docs/IRC.md) as a Session: registration
// with NICK/USER/PASS and IRCv3 CAP negotiation, the channel and query
// commands and their numerics, over the same Member, shard and registry as
// the line protocol. Channel #cooking is the group cooking. An IRC member
// may be in many groups; its caps choose its wire class (plain, with
// server-time, with message-tags), which the fan-out renders for once.
//
// Replies to one command are gathered and queued as one payload, before
// anything the command makes the shard send, so a client sees them in
// order. Owned by its connection, on its worker's thread.
#ifndef CHATD_CORE_IRC_SESSION_H_
#define CHATD_CORE_IRC_SESSION_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_event.h"
#include "core/irc_message.h"
#include "core/session.h"

namespace chatd {

// The IRC port's settings, shared read-only by every IRC session.
struct IrcConfig {
  std::string server_name = "chatd";
  // Required with PASS when not empty.
  std::string password;
  // The message of the day; none sends 422.
  std::vector<std::string> motd;
  bool has_motd = false;
  absl::Time created = absl::UnixEpoch();
  // A registered client silent this long is sent a PING, and is closed
  // when nothing comes `ping_timeout` later.
  absl::Duration ping_interval = absl::Seconds(120);
  absl::Duration ping_timeout = absl::Seconds(60);
};

// The IRCv3 caps a client can ask for, as bits of IrcSession::caps_.
enum IrcCap : uint16_t {
  kIrcCapServerTime = 1 << 0,
  kIrcCapMessageTags = 1 << 1,
  kIrcCapEchoMessage = 1 << 2,
  kIrcCapMultiPrefix = 1 << 3,
  kIrcCapUserhostInNames = 1 << 4,
  kIrcCapCapNotify = 1 << 5,
  kIrcCapAwayNotify = 1 << 6,
};

class IrcSession final : public Session {
 public:
  // Lines longer than this (tags and body, without CR LF) are skipped
  // with 417.
  static constexpr size_t kMaxLineBytes =
      kIrcMaxTagBytes + 2 + kIrcMaxBodyBytes;
  // CHANLIMIT: groups one IRC member may be in.
  static constexpr size_t kMaxChannels = 50;
  // TOPICLEN and KICKLEN, AWAYLEN, and what is kept of a PART or QUIT
  // reason: what is longer is cut, between characters.
  static constexpr size_t kMaxTopicBytes = 307;
  static constexpr size_t kMaxAwayBytes = 200;
  static constexpr size_t kMaxReasonBytes = 300;

  IrcSession(ChatShard* shard, SessionOutput* output,
             const SessionLimits& limits, const IrcConfig* config);
  ~IrcSession() override;

  bool joined() const override { return registered_; }
  absl::Time deadline() const override;
  bool OnDeadline(absl::Time now) override;
  PayloadRef FinalLine(PayloadRef line) const override;

 private:
  LineFramer::Verdict HandleLine(absl::string_view line,
                                 absl::Time now) override;
  LineFramer::Verdict HandleOverlong() override;
  void SendFailure(absl::string_view reason) override;
  absl::string_view quit_reason() const override {
    if (quit_reason_.empty()) return "Connection closed";
    return quit_reason_;
  }
  LineFramer::Verdict Dispatch(const IrcMessage& m, absl::Time now);

  // Registration (irc_session.cc).
  void HandleCap(const IrcMessage& m);
  void HandleNick(const IrcMessage& m);
  void HandleUser(const IrcMessage& m);
  LineFramer::Verdict TryRegister();
  void SendWelcome();
  void SendLusers();
  void SendMotd();
  void ApplyCaps();
  LineFramer::Verdict HandleQuit(const IrcMessage& m);

  // Commands of a registered client (irc_commands.cc, and the queries in
  // irc_queries.cc).
  void HandleJoin(const IrcMessage& m);
  void JoinOne(absl::string_view channel);
  void HandlePart(const IrcMessage& m);
  void PartAll();
  void HandleMessage(const IrcMessage& m, ChatEvent::Kind kind);
  void SendTo(absl::string_view target, const ChatEvent& event, bool notice);
  void HandleNames(const IrcMessage& m);
  void SendNames(absl::string_view channel);
  void HandleWho(const IrcMessage& m);
  void HandleWhois(const IrcMessage& m);
  void HandleTopic(const IrcMessage& m, absl::Time now);
  void HandleMode(const IrcMessage& m);
  void HandleUserMode(const IrcMessage& m);
  void HandleKick(const IrcMessage& m);
  void HandleNickChange(absl::string_view nick);
  void HandleAway(const IrcMessage& m);
  void HandleList();
  void HandleIson(const IrcMessage& m);
  void HandleUserhost(const IrcMessage& m);

  static bool IsChannel(absl::string_view target);
  // The group of a valid channel name ("#name"), or empty.
  static absl::string_view GroupOf(absl::string_view channel);
  // A comma list's items.
  static std::vector<absl::string_view> Targets(absl::string_view list);
  // 403 when `channel` does not exist, else 442: for a command on a channel
  // this member is not in.
  void ReplyNotOnChannel(absl::string_view channel);
  // The membership of `channel` ("#name"), or null.
  Membership* FindChannel(absl::string_view channel);
  // "@", "+", "@+" or "" for MemberFlag bits, as the caps want it.
  std::string Prefix(uint8_t flags) const;
  // An event with this member as its source.
  ChatEvent Event(ChatEvent::Kind kind) const;
  // Sends a channel event (TOPIC, MODE) to every member, this one too.
  void Announce(const Membership& membership, ChatEvent::Kind kind,
                absl::string_view text);
  // Renders `event` for this member alone and queues it (its own JOIN,
  // PART, NICK).
  void SendSelf(const ChatEvent& event);

  // Queues ":<server> <numeric> <nick> <params...>", the last param
  // prefixed with ':' when `trailing`.
  void Reply(absl::string_view numeric,
             std::initializer_list<absl::string_view> params,
             bool trailing = true);
  // Queues a raw line (CR LF added).
  void Raw(absl::string_view line);
  // Sends what Reply() and Raw() gathered, as one payload.
  void FlushReplies();
  absl::string_view nick_or_star() const;

  const IrcConfig* const config_;
  std::string replies_;
  // Registration: the nick asked for, until claimed; the user and real
  // name from USER; the password from PASS.
  std::string nick_;
  std::string user_;
  std::string realname_;
  std::string password_;
  std::string away_;
  std::string quit_reason_;
  absl::Time last_input_;
  uint16_t caps_ = 0;  // IrcCap bits.
  bool registered_ = false;
  bool cap_negotiating_ = false;
  bool ping_sent_ = false;
  bool invisible_ = false;
  bool password_given_ = false;
};

}  // namespace chatd

#endif  // CHATD_CORE_IRC_SESSION_H_
