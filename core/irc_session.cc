#include "core/irc_session.h"

#include <glog/logging.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/protocol.h"

namespace chatd {
namespace {

constexpr absl::string_view kVersion = "chatd-1.0";
// The most of a client's word a reply repeats as a middle parameter.
constexpr size_t kMaxEchoedBytes = 100;
// What the server keeps of a real name.
constexpr size_t kMaxRealnameBytes = 100;

// The caps offered, in CAP LS order.
struct CapName {
  absl::string_view name;
  IrcCap bit;
};
constexpr CapName kCaps[] = {
    {"away-notify", kIrcCapAwayNotify},
    {"cap-notify", kIrcCapCapNotify},
    {"echo-message", kIrcCapEchoMessage},
    {"message-tags", kIrcCapMessageTags},
    {"multi-prefix", kIrcCapMultiPrefix},
    {"server-time", kIrcCapServerTime},
    {"userhost-in-names", kIrcCapUserhostInNames},
};

// An IRC user name: what USER gave, kept to characters that are safe in
// a source, at most 10 of them; the nick when nothing is left.
std::string CleanUser(absl::string_view user, absl::string_view nick) {
  std::string clean;
  for (char c : user) {
    if (absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.') {
      clean += c;
    }
    if (clean.size() == 10) break;
  }
  return clean.empty() ? std::string(nick) : clean;
}

}  // namespace

IrcSession::IrcSession(ChatShard* shard, SessionOutput* output,
                       const SessionLimits& limits, const IrcConfig* config)
    : Session(shard, output, limits, kMaxLineBytes,
              LineFramer::LongLines::kSkip),
      config_(config) {
  shard_->SetDelivery(&member_, WireClass::kIrcPlain, 0);
}

IrcSession::~IrcSession() {
  DCHECK(!member_.named()) << "session destroyed while named";
}

absl::string_view IrcSession::nick_or_star() const {
  if (member_.named()) return member_.name();
  return "*";
}

void IrcSession::Reply(absl::string_view numeric,
                       std::initializer_list<absl::string_view> params,
                       bool trailing) {
  std::string line = absl::StrCat(":", config_->server_name, " ", numeric, " ",
                                  nick_or_star());
  size_t i = 0;
  for (absl::string_view p : params) {
    const bool last = ++i == params.size();
    if (last && trailing) {
      absl::StrAppend(&line, " :", p);
    } else {
      // A middle parameter is often the client's own word echoed back (a
      // bad nick, an unknown command): never a reason for a long reply.
      absl::StrAppend(&line, " ", TruncateForIrc(p, kMaxEchoedBytes));
    }
  }
  Raw(line);
}

void IrcSession::Raw(absl::string_view line) {
  // Every line the server sends fits 512 bytes with its CR LF.
  absl::StrAppend(&replies_, TruncateForIrc(line, kIrcMaxBodyBytes), "\r\n");
}

void IrcSession::FlushReplies() {
  if (replies_.empty()) return;
  output().Send(Payload::Copy(replies_));
  // Freed, not kept: an idle IRC connection holds no reply buffer.
  std::string().swap(replies_);
}

ChatEvent IrcSession::Event(ChatEvent::Kind kind) const {
  ChatEvent event;
  event.kind = kind;
  event.source = SourceOf(member_);
  return event;
}

void IrcSession::SendSelf(const ChatEvent& event) {
  EventStamp stamp{absl::Now(), ""};
  const Rendition r = RenderEvent(event, ClassBit(member_.wire_class()), stamp);
  FlushReplies();
  if (const PayloadRef& line = r.For(member_.wire_class())) {
    output().Send(line);
  }
}

void IrcSession::SendFailure(absl::string_view reason) {
  Raw(absl::StrCat("ERROR :Closing Link: ", nick_or_star(), " (", reason, ")"));
  FlushReplies();
}

PayloadRef IrcSession::FinalLine(PayloadRef line) const {
  // The line protocol's words for why the server closes, in IRC's form.
  absl::string_view text = line->view();
  absl::ConsumeSuffix(&text, "\n");
  if (!absl::ConsumePrefix(&text, "ERROR ")) absl::ConsumePrefix(&text, "* ");
  if (text == kErrorJoinTimeout) text = "Registration timeout";
  return Payload::Copy(absl::StrCat("ERROR :Closing Link: ", nick_or_star(),
                                    " (", text, ")\r\n"));
}

absl::Time IrcSession::deadline() const {
  if (!registered_) return absl::InfiniteFuture();
  const absl::Time ping_at = last_input_ + config_->ping_interval;
  return ping_sent_ ? ping_at + config_->ping_timeout : ping_at;
}

bool IrcSession::OnDeadline(absl::Time now) {
  if (over() || now < deadline()) return false;
  if (!ping_sent_) {
    ping_sent_ = true;
    Raw(absl::StrCat("PING :", config_->server_name));
    FlushReplies();
    return false;
  }
  const std::string reason = absl::StrCat(
      "Ping timeout: ",
      absl::ToInt64Seconds(config_->ping_interval + config_->ping_timeout),
      " seconds");
  quit_reason_ = reason;
  Fail(reason);
  return true;
}

LineFramer::Verdict IrcSession::HandleOverlong() {
  Reply("417", {"Input line was too long"});
  FlushReplies();
  return LineFramer::Verdict::kNext;
}

LineFramer::Verdict IrcSession::HandleLine(absl::string_view line,
                                           absl::Time now) {
  // On the stack: its parameters' storage is inline, and an idle session
  // should not carry it.
  IrcMessage message;
  const IrcParseResult parsed = ParseIrcMessage(line, &message);
  if (parsed == IrcParseResult::kEmpty) return LineFramer::Verdict::kNext;
  // Fakelag: every command takes a token, and waits for one.
  if (!TakeToken(now)) return LineFramer::Verdict::kHold;
  last_input_ = now;
  ping_sent_ = false;
  SingleWriterAdd(shard_->stats().lines_received, uint64_t{1});
  LineFramer::Verdict verdict = LineFramer::Verdict::kNext;
  switch (parsed) {
    case IrcParseResult::kOk:
      verdict = Dispatch(message, now);
      break;
    case IrcParseResult::kTooLong:
      Reply("417", {"Input line was too long"});
      break;
    case IrcParseResult::kMalformed:
      Reply("400", {"Malformed message"});
      break;
    case IrcParseResult::kEmpty:
      break;
  }
  FlushReplies();
  return verdict;
}

LineFramer::Verdict IrcSession::Dispatch(const IrcMessage& m, absl::Time now) {
  const std::string command = absl::AsciiStrToUpper(m.command);
  // Allowed at any time.
  if (command == "CAP") {
    HandleCap(m);
    return registered_ ? LineFramer::Verdict::kNext : TryRegister();
  }
  if (command == "PING") {
    if (m.params.empty() || m.params[0].empty()) {
      Reply("409", {"No origin specified"});
    } else {
      Raw(absl::StrCat(":", config_->server_name, " PONG ",
                       config_->server_name, " :", m.params[0]));
    }
    return LineFramer::Verdict::kNext;
  }
  if (command == "PONG") return LineFramer::Verdict::kNext;
  if (command == "QUIT") return HandleQuit(m);
  if (!registered_) {
    if (command == "NICK") {
      HandleNick(m);
    } else if (command == "USER") {
      HandleUser(m);
    } else if (command == "PASS") {
      if (m.params.empty()) {
        Reply("461", {"PASS", "Not enough parameters"});
      } else if (password_given_) {
        Reply("462", {"You may not reregister"});
      } else {
        password_given_ = true;
        password_ = std::string(m.params[0]);
      }
      return LineFramer::Verdict::kNext;
    } else {
      Reply("451", {"You have not registered"});
      return LineFramer::Verdict::kNext;
    }
    return TryRegister();
  }
  if (command == "PRIVMSG") {
    HandleMessage(m, ChatEvent::Kind::kMessage);
  } else if (command == "NOTICE") {
    HandleMessage(m, ChatEvent::Kind::kNotice);
  } else if (command == "TAGMSG") {
    HandleMessage(m, ChatEvent::Kind::kTagMsg);
  } else if (command == "JOIN") {
    HandleJoin(m);
  } else if (command == "PART") {
    HandlePart(m);
  } else if (command == "NAMES") {
    HandleNames(m);
  } else if (command == "WHO") {
    HandleWho(m);
  } else if (command == "WHOIS") {
    HandleWhois(m);
  } else if (command == "TOPIC") {
    HandleTopic(m, now);
  } else if (command == "MODE") {
    HandleMode(m);
  } else if (command == "KICK") {
    HandleKick(m);
  } else if (command == "NICK") {
    if (m.params.empty() || m.params[0].empty()) {
      Reply("431", {"No nickname given"});
    } else {
      HandleNickChange(m.params[0]);
    }
  } else if (command == "AWAY") {
    HandleAway(m);
  } else if (command == "LIST") {
    HandleList();
  } else if ((command == "ISON" || command == "USERHOST") && m.params.empty()) {
    Reply("461", {command, "Not enough parameters"});
  } else if (command == "ISON") {
    HandleIson(m);
  } else if (command == "USERHOST") {
    HandleUserhost(m);
  } else if (command == "MOTD") {
    SendMotd();
  } else if (command == "LUSERS") {
    SendLusers();
  } else if (command == "USER" || command == "PASS") {
    Reply("462", {"You may not reregister"});
  } else {
    Reply("421", {command, "Unknown command"});
  }
  return LineFramer::Verdict::kNext;
}

void IrcSession::HandleCap(const IrcMessage& m) {
  if (m.params.empty()) {
    Reply("461", {"CAP", "Not enough parameters"});
    return;
  }
  const std::string sub = absl::AsciiStrToUpper(m.params[0]);
  const std::string target(nick_or_star());
  if (sub == "LS") {
    if (!registered_) cap_negotiating_ = true;
    std::vector<absl::string_view> names;
    for (const CapName& c : kCaps) names.push_back(c.name);
    Raw(absl::StrCat(":", config_->server_name, " CAP ", target,
                     " LS :", absl::StrJoin(names, " ")));
  } else if (sub == "LIST") {
    std::vector<absl::string_view> names;
    for (const CapName& c : kCaps) {
      if (caps_ & c.bit) names.push_back(c.name);
    }
    Raw(absl::StrCat(":", config_->server_name, " CAP ", target,
                     " LIST :", absl::StrJoin(names, " ")));
  } else if (sub == "REQ") {
    if (!registered_) cap_negotiating_ = true;
    const absl::string_view wanted = m.params.size() > 1 ? m.params[1] : "";
    uint16_t caps = caps_;
    bool known = true;
    for (absl::string_view word :
         absl::StrSplit(wanted, ' ', absl::SkipEmpty())) {
      const bool remove = absl::ConsumePrefix(&word, "-");
      uint16_t bit = 0;
      for (const CapName& c : kCaps) {
        if (c.name == word) bit = c.bit;
      }
      if (bit == 0) known = false;
      caps = remove ? (caps & ~bit) : (caps | bit);
    }
    Raw(absl::StrCat(":", config_->server_name, " CAP ", target,
                     known ? " ACK :" : " NAK :", wanted));
    if (known) {
      caps_ = caps;
      ApplyCaps();
    }
  } else if (sub == "END") {
    cap_negotiating_ = false;
  } else {
    Reply("410", {m.params[0], "Invalid CAP command"});
  }
}

void IrcSession::ApplyCaps() {
  WireClass wire_class = WireClass::kIrcPlain;
  if (caps_ & kIrcCapMessageTags) {
    wire_class = WireClass::kIrcTags;
  } else if (caps_ & kIrcCapServerTime) {
    wire_class = WireClass::kIrcTime;
  }
  uint8_t member_caps = 0;
  if (caps_ & kIrcCapEchoMessage) member_caps |= kCapEchoMessage;
  if (caps_ & kIrcCapAwayNotify) member_caps |= kCapAwayNotify;
  shard_->SetDelivery(&member_, wire_class, member_caps);
}

void IrcSession::HandleNick(const IrcMessage& m) {
  if (m.params.empty() || m.params[0].empty()) {
    Reply("431", {"No nickname given"});
    return;
  }
  const absl::string_view nick = m.params[0];
  if (!IsValidName(nick)) {
    Reply("432", {nick, "Erroneous nickname"});
    return;
  }
  // Claimed when registration completes; a nick taken now is refused now.
  if (shard_->registry().FindRecipient(nick).has_value()) {
    Reply("433", {nick, "Nickname is already in use"});
    return;
  }
  nick_ = std::string(nick);
}

void IrcSession::HandleUser(const IrcMessage& m) {
  if (m.params.size() < 4 || m.params[0].empty() || m.params[3].empty()) {
    Reply("461", {"USER", "Not enough parameters"});
    return;
  }
  if (!user_.empty()) {
    Reply("462", {"You may not reregister"});
    return;
  }
  user_ = std::string(m.params[0]);
  realname_ = std::string(TruncateForIrc(m.params[3], kMaxRealnameBytes));
}

LineFramer::Verdict IrcSession::TryRegister() {
  if (registered_ || nick_.empty() || user_.empty() || cap_negotiating_) {
    return LineFramer::Verdict::kNext;
  }
  if (!config_->password.empty() && password_ != config_->password) {
    Reply("464", {"Password incorrect"});
    return Fail("Bad password");
  }
  const std::string user = CleanUser(user_, nick_);
  absl::Status claimed = shard_->Claim(&member_, nick_, user, realname_);
  if (!claimed.ok()) {
    Reply("433", {nick_, "Nickname is already in use"});
    nick_.clear();
    return LineFramer::Verdict::kNext;
  }
  registered_ = true;
  nick_.clear();
  VLOG(1) << member_.name() << " registered over IRC";
  SendWelcome();
  return LineFramer::Verdict::kNext;
}

void IrcSession::SendWelcome() {
  const std::string& nick = member_.name();
  Reply("001", {absl::StrCat("Welcome to the chatd IRC network, ", nick, "!",
                             member_.user(), "@", member_.host())});
  Reply("002", {absl::StrCat("Your host is ", config_->server_name,
                             ", running version ", kVersion)});
  Reply("003", {absl::StrCat(
                   "This server was created ",
                   absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", config_->created,
                                    absl::UTCTimeZone()))});
  Reply("004", {config_->server_name, kVersion, "i", "nt", "ov"}, false);
  Reply("005",
        {"AWAYLEN=200", "CASEMAPPING=ascii", "CHANLIMIT=#:50",
         "CHANMODES=,,,nt", "CHANNELLEN=33", "CHANTYPES=#", "KICKLEN=307",
         "MODES=4", "NETWORK=chatd", "NICKLEN=32", "PREFIX=(ov)@+",
         "TARGMAX=JOIN:,KICK:1,NAMES:1,NOTICE:4,PART:,PRIVMSG:4,TAGMSG:4,"
         "WHOIS:1",
         "TOPICLEN=307", "are supported by this server"});
  SendLusers();
  SendMotd();
}

void IrcSession::SendLusers() {
  const GroupRegistry& registry = shard_->registry();
  const std::string users = absl::StrCat(registry.person_count());
  const std::string max = absl::StrCat(registry.max_person_count());
  Reply("251", {absl::StrCat("There are ", users,
                             " users and 0 invisible on 1 servers")});
  Reply("254", {absl::StrCat(registry.group_count()), "channels formed"});
  Reply("255", {absl::StrCat("I have ", users, " clients and 1 servers")});
  Reply("265", {users, max,
                absl::StrCat("Current local users ", users, ", max ", max)});
  Reply("266", {users, max,
                absl::StrCat("Current global users ", users, ", max ", max)});
}

void IrcSession::SendMotd() {
  if (!config_->has_motd) {
    Reply("422", {"MOTD File is missing"});
    return;
  }
  Reply("375",
        {absl::StrCat("- ", config_->server_name, " Message of the day -")});
  for (const std::string& line : config_->motd) {
    Reply("372", {absl::StrCat("- ", line)});
  }
  Reply("376", {"End of /MOTD command."});
}

LineFramer::Verdict IrcSession::HandleQuit(const IrcMessage& m) {
  const absl::string_view said =
      m.params.empty() || m.params[0].empty() ? "Client Quit" : m.params[0];
  const std::string reason =
      absl::StrCat("Quit: ", TruncateForIrc(said, kMaxReasonBytes));
  Raw(absl::StrCat("ERROR :Closing Link: ", nick_or_star(), " (", reason, ")"));
  quit_reason_ = reason;
  return Quit();
}

}  // namespace chatd
