// The IRC front end (docs/IRC.md) over real sockets: registration, CAP,
// every command with its replies and errors, the capabilities, the limits
// on lines, the server's pings and the registration timeout.
//
// As in protocol_test.cc, absence is never proven by waiting. Every command
// of a connection is answered in order, so a client proves that nothing
// came for it by a PING whose PONG is the very next line (Sync()); and a
// member proves it got nothing from a sender by that sender's next message
// being its very next line (per-sender order).

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/irc_client.h"
#include "tests/server_process.h"
#include "tests/status_macros.h"

namespace chatd_test {
namespace {

constexpr char kSrv[] = "irc.test";
constexpr char kIsupport[] =
    "AWAYLEN=200 CASEMAPPING=ascii CHANLIMIT=#:50 CHANMODES=,,,nt "
    "CHANNELLEN=33 CHANTYPES=# KICKLEN=307 MODES=4 NETWORK=chatd NICKLEN=32 "
    "PREFIX=(ov)@+ TARGMAX=JOIN:,KICK:1,NAMES:1,NOTICE:4,PART:,PRIVMSG:4,"
    "TAGMSG:4,WHOIS:1 TOPICLEN=307";
const std::set<std::string> kAllCaps = {
    "away-notify",  "cap-notify",  "echo-message",     "message-tags",
    "multi-prefix", "server-time", "userhost-in-names"};

// ":irc.test <rest>".
std::string FromSrv(absl::string_view rest) {
  return absl::StrCat(":", kSrv, " ", rest);
}

// The words of `text` as a set (NAMES lists, CAP lists, ISON replies).
std::set<std::string> Words(absl::string_view text) {
  std::set<std::string> words;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    words.emplace(word);
  }
  return words;
}

std::vector<std::string> Commands(const std::vector<IrcMessage>& lines) {
  std::vector<std::string> commands;
  for (const IrcMessage& line : lines) commands.push_back(line.command);
  return commands;
}

std::vector<std::string> Raws(const std::vector<IrcMessage>& lines) {
  std::vector<std::string> raws;
  for (const IrcMessage& line : lines) raws.push_back(line.raw);
  return raws;
}

// The names of every 353 in `lines`, as a set.
std::set<std::string> NamesIn(const std::vector<IrcMessage>& lines) {
  std::set<std::string> names;
  for (const IrcMessage& line : lines) {
    if (line.command != "353") continue;
    for (const std::string& name : Words(line.Last())) names.insert(name);
  }
  return names;
}

// Sorted, for comparing sets of lines that may come in any order.
std::vector<std::string> Sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

// `client`'s replies to `command`, through the line `done` accepts (the
// end numeric of the reply); fails the test when they don't come.
std::vector<IrcMessage> Ask(IrcClient& client, absl::string_view command,
                            absl::string_view end_numeric) {
  EXPECT_OK(client.Send(command));
  absl::StatusOr<std::vector<IrcMessage>> lines = client.ReadUntil(
      [end_numeric](const IrcMessage& m) { return m.command == end_numeric; });
  EXPECT_OK(lines) << " asking " << command;
  return lines.ok() ? *std::move(lines) : std::vector<IrcMessage>{};
}

class IrcTest : public ChatServerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.irc = true;
    options.irc_server_name = kSrv;
    Configure(options);
    return options;
  }
  // For subclasses: more flags.
  virtual void Configure(ServerProcess::Options& options) const {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ChatServerTest::SetUp());
    ASSERT_GT(irc_port(), 0);
  }

  int irc_port() { return server().irc_port(); }

  // Connected, nothing sent.
  absl::StatusOr<IrcClient> ConnectIrc() {
    IrcClient client;
    absl::Status status = client.Connect(irc_port());
    if (!status.ok()) return status;
    return client;
  }
  absl::StatusOr<IrcClient> Registered(
      absl::string_view nick, const std::vector<std::string>& caps = {}) {
    return IrcClient::Registered(irc_port(), nick, "u", caps);
  }
  // Registered and in `channel` (JoinChannel done).
  absl::StatusOr<IrcClient> InChannel(
      absl::string_view nick, absl::string_view channel,
      const std::vector<std::string>& caps = {}) {
    absl::StatusOr<IrcClient> client = Registered(nick, caps);
    if (!client.ok()) return client;
    absl::StatusOr<std::vector<IrcMessage>> joined =
        client->JoinChannel(channel);
    if (!joined.ok()) return joined.status();
    return client;
  }
};

// Nothing more for `client`: the PONG to a PING comes next.
void ExpectNothingMore(IrcClient& client) {
  absl::StatusOr<std::vector<IrcMessage>> before = client.Sync("nothing");
  ASSERT_OK(before);
  EXPECT_TRUE(before->empty()) << client.nick() << " got:\n"
                               << DescribeLines(*before);
}

// ---------------------------------------------------------------------------
// Registration.

TEST_F(IrcTest, WelcomeBurstInOrderWithExactTexts) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> burst, alice.Register("alice"));
  EXPECT_EQ(Commands(burst),
            (std::vector<std::string>{"001", "002", "003", "004", "005", "251",
                                      "254", "255", "265", "266", "422"}))
      << DescribeLines(burst);
  ASSERT_EQ(burst.size(), 11u);
  EXPECT_EQ(
      burst[0].raw,
      FromSrv(
          "001 alice :Welcome to the chatd IRC network, alice!u@irc.chatd"));
  EXPECT_EQ(burst[1].raw,
            FromSrv("002 alice :Your host is irc.test, running version "
                    "chatd-1.0"));
  EXPECT_TRUE(absl::StartsWith(burst[2].raw,
                               FromSrv("003 alice :This server was created ")))
      << burst[2].raw;
  EXPECT_GT(burst[2].raw.size(),
            FromSrv("003 alice :This server was created ").size());
  EXPECT_EQ(burst[3].raw, FromSrv("004 alice irc.test chatd-1.0 i nt ov"));
  EXPECT_EQ(burst[4].raw, FromSrv(absl::StrCat("005 alice ", kIsupport,
                                               " :are supported by this "
                                               "server")));
  EXPECT_EQ(burst[5].raw,
            FromSrv("251 alice :There are 1 users and 0 invisible on 1 "
                    "servers"));
  EXPECT_EQ(burst[6].raw, FromSrv("254 alice 0 :channels formed"));
  EXPECT_EQ(burst[7].raw, FromSrv("255 alice :I have 1 clients and 1 servers"));
  EXPECT_EQ(burst[8].raw,
            FromSrv("265 alice 1 1 :Current local users 1, max 1"));
  EXPECT_EQ(burst[9].raw,
            FromSrv("266 alice 1 1 :Current global users 1, max 1"));
  EXPECT_EQ(burst[10].raw, FromSrv("422 alice :MOTD File is missing"));
}

// The 005 tokens one by one, so a failure names the token that differs.
TEST_F(IrcTest, IsupportTokensExact) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> burst, alice.Register("alice"));
  std::vector<std::string> tokens;
  for (const IrcMessage& line : burst) {
    if (line.command != "005") continue;
    ASSERT_GE(line.params.size(), 3u) << line.raw;
    EXPECT_EQ(line.Last(), "are supported by this server");
    tokens.insert(tokens.end(), line.params.begin() + 1, line.params.end() - 1);
  }
  const std::vector<std::string> expected = absl::StrSplit(kIsupport, ' ');
  EXPECT_EQ(tokens, expected);
}

TEST_F(IrcTest, LusersCountLineUsersAndGroups) {
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient ann, Join("baking", "ann", 1));
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> burst, alice.Register("alice"));
  std::vector<std::string> raws = Raws(burst);
  auto has = [&raws](const std::string& line) {
    return std::find(raws.begin(), raws.end(), line) != raws.end();
  };
  EXPECT_TRUE(
      has(FromSrv("251 alice :There are 3 users and 0 invisible on 1 servers")))
      << DescribeLines(burst);
  EXPECT_TRUE(has(FromSrv("254 alice 2 :channels formed")))
      << DescribeLines(burst);
  EXPECT_TRUE(has(FromSrv("255 alice :I have 3 clients and 1 servers")));
  EXPECT_TRUE(has(FromSrv("265 alice 3 3 :Current local users 3, max 3")));
  EXPECT_TRUE(has(FromSrv("266 alice 3 3 :Current global users 3, max 3")));

  // LUSERS after registration: the same lines, now with bob.
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  std::vector<IrcMessage> lusers = Ask(alice, "LUSERS", "266");
  EXPECT_EQ(Commands(lusers),
            (std::vector<std::string>{"251", "254", "255", "265", "266"}));
  raws = Raws(lusers);
  EXPECT_TRUE(
      has(FromSrv("251 alice :There are 4 users and 0 invisible on 1 servers")))
      << DescribeLines(lusers);
  EXPECT_TRUE(has(FromSrv("265 alice 4 4 :Current local users 4, max 4")));
}

class IrcMotdTest : public IrcTest {
 protected:
  IrcMotdTest() {
    const char* dir = std::getenv("TEST_TMPDIR");
    motd_file_ = absl::StrCat(dir != nullptr ? dir : "/tmp", "/irc_motd_",
                              getpid(), ".txt");
    std::ofstream(motd_file_) << "Welcome to chatd.\nBe nice.\n";
  }
  ~IrcMotdTest() override { std::remove(motd_file_.c_str()); }
  void Configure(ServerProcess::Options& options) const override {
    options.extra_flags.push_back(absl::StrCat("--motd_file=", motd_file_));
  }
  std::string motd_file_;
};

TEST_F(IrcMotdTest, MotdFileLinesAtRegistrationAndOnMotd) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> burst, alice.Register("alice"));
  ASSERT_GE(burst.size(), 4u);
  const std::vector<std::string> raws = Raws(burst);
  const std::vector<std::string> tail(raws.end() - 4, raws.end());
  const std::vector<std::string> motd = {
      FromSrv("375 alice :- irc.test Message of the day -"),
      FromSrv("372 alice :- Welcome to chatd."),
      FromSrv("372 alice :- Be nice."),
      FromSrv("376 alice :End of /MOTD command.")};
  EXPECT_EQ(tail, motd) << DescribeLines(burst);
  EXPECT_EQ(Raws(Ask(alice, "MOTD", "376")), motd);
}

TEST_F(IrcTest, MotdCommandWithoutFileIs422) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.Send("MOTD"));
  EXPECT_EQ(alice.NextLine(), FromSrv("422 alice :MOTD File is missing"));
}

TEST_F(IrcTest, CapLsListsEveryCapAndPausesRegistrationUntilEnd) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("CAP LS 302"));
  ASSERT_OK(alice.Send("NICK alice"));
  ASSERT_OK(alice.Send("USER u 0 * :Test User"));
  ASSERT_OK_AND_ASSIGN(IrcMessage ls, alice.ReadMessage());
  EXPECT_EQ(ls.source, kSrv) << ls.raw;
  EXPECT_EQ(ls.command, "CAP") << ls.raw;
  EXPECT_EQ(ls.Param(0), "*") << ls.raw;
  EXPECT_EQ(ls.Param(1), "LS") << ls.raw;
  EXPECT_EQ(ls.params.size(), 3u) << ls.raw;
  EXPECT_EQ(Words(ls.Last()), kAllCaps) << ls.raw;
  // NICK and USER are in, but registration waits for CAP END: the PONG
  // comes before any 001.
  ASSERT_OK(alice.Send("PING :paused"));
  EXPECT_EQ(alice.NextLine(), FromSrv("PONG irc.test :paused"));
  ASSERT_OK(alice.Send("CAP END"));
  ASSERT_OK_AND_ASSIGN(IrcMessage welcome, alice.ReadMessage());
  EXPECT_EQ(welcome.command, "001") << welcome.raw;
}

TEST_F(IrcTest, CapLsWithoutVersionListsTheSameCaps) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("CAP LS"));
  ASSERT_OK_AND_ASSIGN(IrcMessage ls, alice.ReadMessage());
  EXPECT_EQ(ls.command, "CAP") << ls.raw;
  EXPECT_EQ(ls.Param(1), "LS") << ls.raw;
  EXPECT_EQ(Words(ls.Last()), kAllCaps) << ls.raw;
}

// The set of caps a CAP LIST reply names.
std::set<std::string> CapList(IrcClient& client) {
  EXPECT_OK(client.Send("CAP LIST"));
  absl::StatusOr<IrcMessage> list = client.ReadMessage();
  EXPECT_OK(list);
  if (!list.ok()) return {};
  EXPECT_EQ(list->command, "CAP") << list->raw;
  EXPECT_EQ(list->Param(1), "LIST") << list->raw;
  return list->params.size() >= 3 ? Words(list->Last())
                                  : std::set<std::string>{};
}

TEST_F(IrcTest, CapReqAckListAndRemove) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("CAP LS 302"));
  ASSERT_OK(alice.ReadMessage());
  EXPECT_EQ(CapList(alice), std::set<std::string>{});
  ASSERT_OK(alice.Send("CAP REQ :server-time echo-message cap-notify"));
  ASSERT_OK_AND_ASSIGN(IrcMessage ack, alice.ReadMessage());
  EXPECT_EQ(ack.command, "CAP") << ack.raw;
  EXPECT_EQ(ack.Param(0), "*") << ack.raw;
  EXPECT_EQ(ack.Param(1), "ACK") << ack.raw;
  EXPECT_EQ(ack.Last(), "server-time echo-message cap-notify") << ack.raw;
  EXPECT_EQ(CapList(alice), (std::set<std::string>{
                                "server-time", "echo-message", "cap-notify"}));
  ASSERT_OK(alice.Send("CAP REQ :-echo-message"));
  ASSERT_OK_AND_ASSIGN(IrcMessage removed, alice.ReadMessage());
  EXPECT_EQ(removed.Param(1), "ACK") << removed.raw;
  EXPECT_EQ(removed.Last(), "-echo-message") << removed.raw;
  EXPECT_EQ(CapList(alice),
            (std::set<std::string>{"server-time", "cap-notify"}));
}

TEST_F(IrcTest, CapReqWithAnUnknownCapIsNakedAndChangesNothing) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("CAP REQ :server-time"));
  ASSERT_OK_AND_ASSIGN(IrcMessage ack, alice.ReadMessage());
  EXPECT_EQ(ack.Param(1), "ACK") << ack.raw;
  ASSERT_OK(alice.Send("CAP REQ :echo-message sasl"));
  ASSERT_OK_AND_ASSIGN(IrcMessage nak, alice.ReadMessage());
  EXPECT_EQ(nak.command, "CAP") << nak.raw;
  EXPECT_EQ(nak.Param(0), "*") << nak.raw;
  EXPECT_EQ(nak.Param(1), "NAK") << nak.raw;
  EXPECT_EQ(nak.Last(), "echo-message sasl") << nak.raw;
  // echo-message was not added although it alone is known.
  EXPECT_EQ(CapList(alice), std::set<std::string>{"server-time"});
}

TEST_F(IrcTest, UnknownCapSubcommandIs410) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("CAP FOO"));
  EXPECT_EQ(alice.NextLine(), FromSrv("410 * FOO :Invalid CAP command"));
  ASSERT_OK(alice.Register("alice", "u", {"server-time"}));
  ASSERT_OK(alice.Send("CAP BAR"));
  EXPECT_EQ(alice.NextLine(), FromSrv("410 alice BAR :Invalid CAP command"));
}

TEST_F(IrcTest, CapWorksAfterRegistration) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.Send("CAP REQ :away-notify"));
  ASSERT_OK_AND_ASSIGN(IrcMessage ack, alice.ReadMessage());
  EXPECT_EQ(ack.command, "CAP") << ack.raw;
  EXPECT_EQ(ack.Param(0), "alice") << ack.raw;
  EXPECT_EQ(ack.Param(1), "ACK") << ack.raw;
  EXPECT_EQ(ack.Last(), "away-notify") << ack.raw;
  EXPECT_EQ(CapList(alice), std::set<std::string>{"away-notify"});
  // CAP END after registration changes nothing and sends no second welcome.
  ASSERT_OK(alice.Send("CAP END"));
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));
}

TEST_F(IrcTest, CommandsAreCaseInsensitive) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("nick alice"));
  ASSERT_OK(alice.Send("user u 0 * :Test User"));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> burst,
                       alice.ReadUntil([](const IrcMessage& m) {
                         return m.command == "422" || m.IsErrorNumeric();
                       }));
  EXPECT_EQ(burst.front().command, "001") << DescribeLines(burst);
  EXPECT_EQ(burst.back().command, "422") << DescribeLines(burst);
  ASSERT_OK(alice.Send("PiNg :x"));
  EXPECT_EQ(alice.NextLine(), FromSrv("PONG irc.test :x"));
}

TEST_F(IrcTest, BareNewlineEndsALineAndEmptyLinesAreIgnored) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.SendRaw("\r\n\n\r\nPING :bare\n"));
  EXPECT_EQ(alice.NextLine(), FromSrv("PONG irc.test :bare"));
}

// ---------------------------------------------------------------------------
// PASS.

class IrcPasswordTest : public IrcTest {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.extra_flags.push_back("--irc_password=sesame");
  }
};

TEST_F(IrcPasswordTest, RightPasswordRegisters) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("PASS sesame"));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> burst, alice.Register("alice"));
  EXPECT_EQ(burst.front().command, "001") << DescribeLines(burst);
}

TEST_F(IrcPasswordTest, WrongPasswordIs464ThenClosingLink) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("PASS wrong"));
  ASSERT_OK(alice.Send("NICK alice"));
  ASSERT_OK(alice.Send("USER u 0 * :Test User"));
  ASSERT_OK_AND_ASSIGN(IrcMessage refused, alice.ReadMessage());
  EXPECT_EQ(refused.source, kSrv) << refused.raw;
  EXPECT_EQ(refused.command, "464") << refused.raw;
  EXPECT_EQ(refused.Last(), "Password incorrect") << refused.raw;
  std::string error = alice.NextLine();
  EXPECT_TRUE(absl::StartsWith(error, "ERROR :Closing Link: ")) << error;
  EXPECT_OK(alice.ExpectClosed());
}

TEST_F(IrcPasswordTest, NoPasswordNeverRegisters) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("NICK alice"));
  ASSERT_OK(alice.Send("USER u 0 * :Test User"));
  // Whatever comes (464, ERROR), no welcome; the connection ends or stays
  // unregistered.
  absl::StatusOr<IrcMessage> first = alice.ReadMessage(absl::Seconds(2));
  if (first.ok()) {
    EXPECT_NE(first->command, "001") << first->raw;
    EXPECT_TRUE(first->command == "464" || first->command == "ERROR")
        << first->raw;
  } else {
    EXPECT_TRUE(absl::IsDeadlineExceeded(first.status()) ||
                absl::IsUnavailable(first.status()))
        << first.status();
  }
}

TEST_F(IrcPasswordTest, SecondPassIs462) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, ConnectIrc());
  ASSERT_OK(alice.Send("PASS sesame"));
  ASSERT_OK(alice.Send("PASS sesame"));
  EXPECT_EQ(alice.NextLine(), FromSrv("462 * :You may not reregister"));
  ASSERT_OK(alice.Register("alice"));
  ASSERT_OK(alice.Send("PASS sesame"));
  EXPECT_EQ(alice.NextLine(), FromSrv("462 alice :You may not reregister"));
}

// ---------------------------------------------------------------------------
// Before registration.

TEST_F(IrcTest, NickWithoutParameterIs431) {
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send("NICK"));
  EXPECT_EQ(client.NextLine(), FromSrv("431 * :No nickname given"));
}

class IrcBadNickTest : public IrcTest,
                       public ::testing::WithParamInterface<std::string> {};

TEST_P(IrcBadNickTest, Is432AndTheConnectionStaysUsable) {
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send(absl::StrCat("NICK ", GetParam())));
  EXPECT_EQ(client.NextLine(), FromSrv(absl::StrCat("432 * ", GetParam(),
                                                    " :Erroneous nickname")));
  EXPECT_OK(client.Register("good"));
}

INSTANTIATE_TEST_SUITE_P(Nicks, IrcBadNickTest,
                         ::testing::Values("b@d", "n!ck", "#chan", "na,me",
                                           "n\xc3\xa4me", "*",
                                           std::string(33, 'n')));

TEST_F(IrcTest, LongestNickWithEveryAllowedCharacterRegisters) {
  const std::string nick = "[]\\`^{|}_.-Az09" + std::string(17, 'n');
  ASSERT_EQ(nick.size(), 32u);
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> burst, client.Register(nick));
  EXPECT_EQ(
      burst.front().raw,
      FromSrv(absl::StrCat("001 ", nick, " :Welcome to the chatd IRC network, ",
                           nick, "!u@irc.chatd")));
}

TEST_F(IrcTest, NickInUseByIrcUserIs433) {
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK_AND_ASSIGN(IrcClient other, ConnectIrc());
  ASSERT_OK(other.Send("NICK bob"));
  EXPECT_EQ(other.NextLine(), FromSrv("433 * bob :Nickname is already in use"));
  ASSERT_OK(other.Send("NICK BoB"));
  EXPECT_EQ(other.NextLine(), FromSrv("433 * BoB :Nickname is already in use"));
  EXPECT_OK(other.Register("bobby"));
}

TEST_F(IrcTest, NickInUseByLineUserInAnyCaseIs433) {
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send("NICK TIM"));
  EXPECT_EQ(client.NextLine(),
            FromSrv("433 * TIM :Nickname is already in use"));
  // And the other way: a line JOIN with an IRC user's nick in another case.
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(ChatClient line, Connect());
  ASSERT_OK(line.SendLine("JOIN cooking ALICE"));
  EXPECT_EQ(line.NextLine(), "ERROR name taken");
  EXPECT_OK(line.ExpectClosed());
}

// The nick is claimed when registration completes: a NICK alone holds
// nothing, and whoever completes first has it.
TEST_F(IrcTest, NickIsClaimedAtRegistration) {
  ASSERT_OK_AND_ASSIGN(IrcClient first, ConnectIrc());
  ASSERT_OK(first.Send("NICK bob"));
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(first));
  ASSERT_OK_AND_ASSIGN(ChatClient line, Connect());
  ASSERT_OK(line.SendLine("JOIN g bob"));
  EXPECT_EQ(line.NextLine(), "* you joined g as bob (1 online)");
  ASSERT_OK(first.Send("USER u 0 * :Bob"));
  EXPECT_EQ(first.NextLine(), FromSrv("433 * bob :Nickname is already in use"));
  // Still unregistered, it may pick another.
  ASSERT_OK(first.Send("NICK bob2"));
  EXPECT_EQ(first.NextLine(),
            FromSrv("001 bob2 :Welcome to the chatd IRC network, "
                    "bob2!u@irc.chatd"));
  ASSERT_OK_AND_ASSIGN(IrcClient second, ConnectIrc());
  ASSERT_OK(second.Send("NICK bob"));
  EXPECT_EQ(second.NextLine(),
            FromSrv("433 * bob :Nickname is already in use"));
}

TEST_F(IrcTest, TwoClientsRacingForANickExactlyOneWins) {
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string nick = absl::StrCat("racer", round);
    ASSERT_OK_AND_ASSIGN(IrcClient a, ConnectIrc());
    ASSERT_OK_AND_ASSIGN(IrcClient b, ConnectIrc());
    const std::string lines =
        absl::StrCat("NICK ", nick, "\r\nUSER u 0 * :Test User\r\n");
    ASSERT_OK(a.SendRaw(lines));
    ASSERT_OK(b.SendRaw(lines));
    ASSERT_OK_AND_ASSIGN(IrcMessage from_a, a.ReadMessage());
    ASSERT_OK_AND_ASSIGN(IrcMessage from_b, b.ReadMessage());
    std::multiset<std::string> outcomes = {from_a.command, from_b.command};
    EXPECT_EQ(outcomes, (std::multiset<std::string>{"001", "433"}))
        << from_a.raw << "\n"
        << from_b.raw;
  }
}

class IrcUserParamsTest : public IrcTest,
                          public ::testing::WithParamInterface<std::string> {};

TEST_P(IrcUserParamsTest, Is461) {
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send(GetParam()));
  EXPECT_EQ(client.NextLine(), FromSrv("461 * USER :Not enough parameters"));
}

INSTANTIATE_TEST_SUITE_P(Users, IrcUserParamsTest,
                         ::testing::Values("USER", "USER u", "USER u 0 *",
                                           "USER u 0 * :"));

TEST_F(IrcTest, SecondUserIs462) {
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send("USER u 0 * :Test User"));
  ASSERT_OK(client.Send("USER v 0 * :Test User"));
  EXPECT_EQ(client.NextLine(), FromSrv("462 * :You may not reregister"));
  ASSERT_OK(client.Send("NICK alice"));
  ASSERT_OK_AND_ASSIGN(IrcMessage welcome, client.ReadMessage());
  // The first USER counts.
  EXPECT_EQ(welcome.raw, FromSrv("001 alice :Welcome to the chatd IRC network, "
                                 "alice!u@irc.chatd"));
  ASSERT_OK(
      client.ReadUntil([](const IrcMessage& m) { return m.command == "422"; }));
  ASSERT_OK(client.Send("USER w 0 * :Test User"));
  EXPECT_EQ(client.NextLine(), FromSrv("462 alice :You may not reregister"));
}

class IrcUnregisteredTest : public IrcTest,
                            public ::testing::WithParamInterface<std::string> {
};

TEST_P(IrcUnregisteredTest, Is451) {
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send(GetParam()));
  EXPECT_EQ(client.NextLine(), FromSrv("451 * :You have not registered"));
  // Also after NICK alone.
  ASSERT_OK(client.Send("NICK half"));
  ASSERT_OK(client.Send(GetParam()));
  ASSERT_OK_AND_ASSIGN(IrcMessage again, client.ReadMessage());
  EXPECT_EQ(again.command, "451") << again.raw;
  EXPECT_EQ(again.Last(), "You have not registered") << again.raw;
}

INSTANTIATE_TEST_SUITE_P(
    Commands, IrcUnregisteredTest,
    ::testing::Values("JOIN :", "JOIN #a", "PRIVMSG bob :hi", "NOTICE bob :hi",
                      "PART #a", "NAMES #a", "WHO #a", "WHOIS bob", "MODE #a",
                      "TOPIC #a", "LIST", "AWAY :x", "ISON bob", "USERHOST bob",
                      "KICK #a bob", "TAGMSG #a", "LUSERS", "MOTD", "FOO"));

TEST_F(IrcTest, PingBeforeRegistrationIsAnswered) {
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send("PING x"));
  EXPECT_EQ(client.NextLine(), FromSrv("PONG irc.test :x"));
}

TEST_F(IrcTest, QuitBeforeRegistrationClosesLink) {
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send("QUIT :leaving"));
  std::string error = client.NextLine();
  EXPECT_TRUE(absl::StartsWith(error, "ERROR :Closing Link: * (Quit: "))
      << error;
  EXPECT_OK(client.ExpectClosed());
}

class IrcRegistrationTimeoutTest : public IrcTest {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.join_timeout_s = 1;
  }
};

TEST_F(IrcRegistrationTimeoutTest, SilentClientIsClosed) {
  ASSERT_OK_AND_ASSIGN(IrcClient silent, ConnectIrc());
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  EXPECT_EQ(silent.NextLine(absl::Seconds(5)),
            "ERROR :Closing Link: * (Registration timeout)");
  EXPECT_OK(silent.ExpectClosed());
  // A registered client is not affected.
  absl::SleepFor(absl::Milliseconds(1500));
  ASSERT_OK(alice.Send("PING :still"));
  EXPECT_EQ(alice.NextLine(), FromSrv("PONG irc.test :still"));
}

TEST_F(IrcRegistrationTimeoutTest, ClientStuckInCapNegotiationIsClosed) {
  ASSERT_OK_AND_ASSIGN(IrcClient client, ConnectIrc());
  ASSERT_OK(client.Send("CAP LS 302"));
  ASSERT_OK(client.Send("NICK stuck"));
  ASSERT_OK(client.Send("USER u 0 * :Test User"));
  ASSERT_OK_AND_ASSIGN(IrcMessage ls, client.ReadMessage());
  EXPECT_EQ(ls.command, "CAP") << ls.raw;
  std::string error = client.NextLine(absl::Seconds(5));
  EXPECT_TRUE(absl::StartsWith(error, "ERROR :Closing Link: ")) << error;
  EXPECT_TRUE(absl::EndsWith(error, "(Registration timeout)")) << error;
  EXPECT_OK(client.ExpectClosed());
}

// ---------------------------------------------------------------------------
// PING, PONG and the server's pings.

TEST_F(IrcTest, PingIsAnsweredWithPong) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.Send("PING token"));
  EXPECT_EQ(alice.NextLine(), FromSrv("PONG irc.test :token"));
  ASSERT_OK(alice.Send("PING :two words"));
  EXPECT_EQ(alice.NextLine(), FromSrv("PONG irc.test :two words"));
  ASSERT_OK(alice.Send("PING"));
  EXPECT_EQ(alice.NextLine(), FromSrv("409 alice :No origin specified"));
  // An unsolicited PONG is taken silently.
  ASSERT_OK(alice.Send("PONG :whatever"));
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));
}

class IrcPingTest : public IrcTest {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.extra_flags.push_back("--irc_ping_interval_s=1");
    options.extra_flags.push_back("--irc_ping_timeout_s=1");
  }
};

TEST_F(IrcPingTest, IdleClientIsPingedAndStaysWhileItAnswers) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    EXPECT_EQ(alice.NextLine(absl::Seconds(5)), "PING :irc.test");
    ASSERT_OK(alice.Send("PONG :irc.test"));
  }
  ASSERT_OK(alice.Send("PING :alive"));
  // A server PING may come first if this round trip was slow.
  ASSERT_OK_AND_ASSIGN(
      std::vector<IrcMessage> lines,
      alice.ReadUntil([](const IrcMessage& m) { return m.command == "PONG"; }));
  EXPECT_EQ(lines.back().raw, FromSrv("PONG irc.test :alive"));
}

TEST_F(IrcPingTest, TalkingClientIsNotPinged) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  // Lines every 300 ms for 3 s keep pushing the 1 s idle deadline back;
  // the timer still fires at the deadlines it was armed for, and must
  // find nothing due.
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(alice.Send(absl::StrCat("PING :busy", i)));
    EXPECT_EQ(alice.NextLine(),
              FromSrv(absl::StrCat("PONG irc.test :busy", i)));
    absl::SleepFor(absl::Milliseconds(300));
  }
  // Silent now: pinged within the interval.
  EXPECT_EQ(alice.NextLine(absl::Seconds(5)), "PING :irc.test");
}

TEST_F(IrcPingTest, SilentClientIsClosedWithPingTimeout) {
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#cooking"));
  EXPECT_EQ(tim.NextLine(), "* alice has joined");
  EXPECT_EQ(alice.NextLine(absl::Seconds(5)), "PING :irc.test");
  std::string error = alice.NextLine(absl::Seconds(5));
  EXPECT_TRUE(absl::StartsWith(error,
                               "ERROR :Closing Link: alice (Ping "
                               "timeout: "))
      << error;
  EXPECT_TRUE(absl::EndsWith(error, " seconds)")) << error;
  EXPECT_OK(alice.ExpectClosed());
  EXPECT_EQ(tim.NextLine(), "* alice has left");
}

// ---------------------------------------------------------------------------
// JOIN, PART, NAMES.

TEST_F(IrcTest, JoinSeveralChannelsAtOnce) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.Send("JOIN #a,#b"));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> lines,
                       alice.ReadUntil([](const IrcMessage& m) {
                         return m.command == "366" && m.Param(1) == "#b";
                       }));
  EXPECT_EQ(Raws(lines), (std::vector<std::string>{
                             ":alice!u@irc.chatd JOIN #a",
                             FromSrv("353 alice = #a :@alice"),
                             FromSrv("366 alice #a :End of /NAMES list."),
                             ":alice!u@irc.chatd JOIN #b",
                             FromSrv("353 alice = #b :@alice"),
                             FromSrv("366 alice #b :End of /NAMES list."),
                         }));
}

TEST_F(IrcTest, JoinAnnouncedToMembersCreatorIsOp) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> joined, bob.JoinChannel("#a"));
  EXPECT_EQ(joined.front().raw, ":bob!u@irc.chatd JOIN #a");
  EXPECT_EQ(NamesIn(joined), (std::set<std::string>{"@alice", "bob"}))
      << DescribeLines(joined);
  for (const IrcMessage& line : joined) {
    if (line.command == "353") {
      EXPECT_EQ(line.Param(1), "=") << line.raw;
      EXPECT_EQ(line.Param(2), "#a") << line.raw;
    }
  }
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  // Joining again: nothing, for either.
  ASSERT_OK(bob.Send("JOIN #a"));
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(bob));
  ASSERT_OK(bob.Send("PRIVMSG #a :after"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :after");
}

TEST_F(IrcTest, ChannelIsShownAsFirstWritten) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#Cooking"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> joined,
                       bob.JoinChannel("#COOKING"));
  EXPECT_EQ(joined.front().raw, ":bob!u@irc.chatd JOIN #Cooking");
  EXPECT_EQ(joined.back().raw,
            FromSrv("366 bob #Cooking :End of /NAMES list."));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #Cooking");
}

class IrcBadChannelTest : public IrcTest,
                          public ::testing::WithParamInterface<std::string> {};

TEST_P(IrcBadChannelTest, JoinIs403) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.Send(absl::StrCat("JOIN ", GetParam())));
  EXPECT_EQ(alice.NextLine(), FromSrv(absl::StrCat("403 alice ", GetParam(),
                                                   " :No such channel")));
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));
}

INSTANTIATE_TEST_SUITE_P(Channels, IrcBadChannelTest,
                         ::testing::Values("nohash", "#", "#b@d", "#a:b",
                                           "&local", "#gr\xc3\xbcn",
                                           "#" + std::string(33, 'c')));

TEST_F(IrcTest, LongestChannelNameIsAccepted) {
  const std::string channel = "#Az09_.-" + std::string(25, 'c');
  ASSERT_EQ(channel.size(), 33u);
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  EXPECT_OK(alice.JoinChannel(channel));
}

TEST_F(IrcTest, OverFiftyChannelsIs405) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  std::vector<std::string> channels;
  for (int i = 1; i <= 50; ++i) channels.push_back(absl::StrCat("#c", i));
  ASSERT_OK(alice.Send(absl::StrCat("JOIN ", absl::StrJoin(channels, ","))));
  ASSERT_OK(alice.ReadUntil([](const IrcMessage& m) {
    return m.IsErrorNumeric() || (m.command == "366" && m.Param(1) == "#c50");
  }));
  ASSERT_OK(alice.Send("JOIN #c51"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("405 alice #c51 :You have joined too many channels"));
}

TEST_F(IrcTest, JoinZeroPartsEveryChannel) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.JoinChannel("#a"));
  ASSERT_OK(alice.JoinChannel("#b"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(bob.JoinChannel("#b"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #b");
  ASSERT_OK(alice.Send("JOIN 0"));
  for (IrcClient* who : {&alice, &bob}) {
    std::vector<std::string> parts;
    for (int i = 0; i < 2; ++i) {
      ASSERT_OK_AND_ASSIGN(IrcMessage part, who->ReadMessage());
      EXPECT_EQ(part.source, "alice!u@irc.chatd") << part.raw;
      EXPECT_EQ(part.command, "PART") << part.raw;
      parts.push_back(part.Param(0));
    }
    EXPECT_EQ(Sorted(parts), (std::vector<std::string>{"#a", "#b"}));
  }
  ASSERT_OK(alice.Send("PRIVMSG #a :still here?"));
  EXPECT_EQ(alice.NextLine(), FromSrv("404 alice #a :Cannot send to channel"));
}

TEST_F(IrcTest, PartWithReasonReachesMembersAndParter) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  ASSERT_OK(bob.Send("PART #a :gone cooking"));
  EXPECT_EQ(bob.NextLine(), ":bob!u@irc.chatd PART #a :gone cooking");
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd PART #a :gone cooking");
  ASSERT_OK(bob.Send("PART #a"));
  EXPECT_EQ(bob.NextLine(), FromSrv("442 bob #a :You're not on that channel"));
  ASSERT_OK(bob.Send("PART #nosuch"));
  EXPECT_EQ(bob.NextLine(), FromSrv("403 bob #nosuch :No such channel"));
  EXPECT_EQ(NamesIn(Ask(alice, "NAMES #a", "366")),
            std::set<std::string>{"@alice"});
}

TEST_F(IrcTest, PartSeveralChannels) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.JoinChannel("#a"));
  ASSERT_OK(alice.JoinChannel("#b"));
  ASSERT_OK(alice.Send("PART #a,#b :bye"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd PART #a :bye");
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd PART #b :bye");
}

TEST_F(IrcTest, NamesListsMembersAndUnknownChannelIsJust366) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("a", "tim", 3));
  ASSERT_OK(bob.AwaitJoins({"tim"}));
  std::vector<IrcMessage> names = Ask(bob, "NAMES #a", "366");
  EXPECT_EQ(NamesIn(names), (std::set<std::string>{"@alice", "bob", "tim"}))
      << DescribeLines(names);
  EXPECT_EQ(names.back().raw, FromSrv("366 bob #a :End of /NAMES list."));
  ASSERT_OK(bob.Send("NAMES #nosuch"));
  EXPECT_EQ(bob.NextLine(), FromSrv("366 bob #nosuch :End of /NAMES list."));
}

// ---------------------------------------------------------------------------
// PRIVMSG, NOTICE.

TEST_F(IrcTest, PrivmsgToChannelReachesEveryOtherMemberWithoutEcho) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, InChannel("carol", "#a"));
  ASSERT_OK(alice.AwaitJoins({"bob", "carol"}));
  ASSERT_OK(bob.AwaitJoins({"carol"}));
  ASSERT_OK(alice.Send("PRIVMSG #a :hello there: all"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG #a :hello there: all");
  EXPECT_EQ(carol.NextLine(),
            ":alice!u@irc.chatd PRIVMSG #a :hello there: all");
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));
  // A one-word text without ":" is a text too.
  ASSERT_OK(alice.Send("PRIVMSG #a word"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG #a :word");
}

TEST_F(IrcTest, NoticeToChannelReachesEveryOtherMember) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(alice.AwaitJoins({"bob"}));
  ASSERT_OK(alice.Send("NOTICE #a :heads up"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd NOTICE #a :heads up");
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));
}

TEST_F(IrcTest, PrivmsgAndNoticeToNick) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK(alice.Send("PRIVMSG bob :psst"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG bob :psst");
  ASSERT_OK(alice.Send("NOTICE bob :fyi"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd NOTICE bob :fyi");
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));
}

TEST_F(IrcTest, PrivmsgErrors) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#b"));
  ASSERT_OK(alice.Send("PRIVMSG nobody :x"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("401 alice nobody :No such nick/channel"));
  ASSERT_OK(alice.Send("PRIVMSG #nosuch :x"));
  EXPECT_EQ(alice.NextLine(), FromSrv("403 alice #nosuch :No such channel"));
  ASSERT_OK(alice.Send("PRIVMSG #b :x"));
  EXPECT_EQ(alice.NextLine(), FromSrv("404 alice #b :Cannot send to channel"));
  ASSERT_OK(alice.Send("PRIVMSG"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("411 alice :No recipient given (PRIVMSG)"));
  ASSERT_OK(alice.Send("PRIVMSG bob"));
  EXPECT_EQ(alice.NextLine(), FromSrv("412 alice :No text to send"));
  ASSERT_OK(alice.Send("PRIVMSG bob :"));
  EXPECT_EQ(alice.NextLine(), FromSrv("412 alice :No text to send"));
  // Nothing reached bob: alice's next message is his next line.
  ASSERT_OK(alice.Send("PRIVMSG bob :only this"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG bob :only this");
}

TEST_F(IrcTest, NoticeNeverGetsAnErrorReply) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#b"));
  for (const char* line :
       {"NOTICE nobody :x", "NOTICE #nosuch :x", "NOTICE #b :x", "NOTICE",
        "NOTICE bob", "NOTICE bob :", "NOTICE #bad@name :x"}) {
    ASSERT_OK(alice.Send(line));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));
  ASSERT_OK(alice.Send("PRIVMSG bob :only this"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG bob :only this");
}

TEST_F(IrcTest, PrivmsgToSeveralTargets) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, Registered("carol"));
  ASSERT_OK(alice.Send("PRIVMSG #a,carol :both"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG #a :both");
  EXPECT_EQ(carol.NextLine(), ":alice!u@irc.chatd PRIVMSG carol :both");
}

// ---------------------------------------------------------------------------
// WHO, WHOIS.

TEST_F(IrcTest, WhoChannelListsEveryMemberThen315) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("a", "tim", 3));
  ASSERT_OK(bob.AwaitJoins({"tim"}));
  std::vector<IrcMessage> who = Ask(bob, "WHO #a", "315");
  ASSERT_FALSE(who.empty());
  EXPECT_EQ(who.back().raw, FromSrv("315 bob #a :End of WHO list"));
  who.pop_back();
  std::vector<std::string> rows;
  for (const IrcMessage& line : who) {
    EXPECT_EQ(line.command, "352") << line.raw;
    // The realname of a line user is not in the contract; the rest is.
    rows.push_back(
        absl::StrJoin(line.params.begin(), line.params.end() - 1, " "));
    EXPECT_TRUE(absl::StartsWith(line.Last(), "0 ")) << line.raw;
  }
  EXPECT_EQ(Sorted(rows), (std::vector<std::string>{
                              "bob #a tim line.chatd irc.test tim H",
                              "bob #a u irc.chatd irc.test alice H@",
                              "bob #a u irc.chatd irc.test bob H",
                          }));
  for (const IrcMessage& line : who) {
    if (line.Param(5) != "tim") {
      EXPECT_EQ(line.Last(), absl::StrCat("0 ", kIrcRealName)) << line.raw;
    }
  }
}

TEST_F(IrcTest, WhoNickAndOtherMasks) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  std::vector<IrcMessage> who = Ask(bob, "WHO alice", "315");
  ASSERT_EQ(who.size(), 2u) << DescribeLines(who);
  EXPECT_EQ(who[0].command, "352");
  EXPECT_EQ(who[0].Param(2), "u");
  EXPECT_EQ(who[0].Param(3), "irc.chatd");
  EXPECT_EQ(who[0].Param(4), kSrv);
  EXPECT_EQ(who[0].Param(5), "alice");
  EXPECT_TRUE(absl::StartsWith(who[0].Param(6), "H")) << who[0].raw;
  EXPECT_EQ(who[0].Last(), "0 Test User");
  EXPECT_EQ(who[1].raw, FromSrv("315 bob alice :End of WHO list"));
  ASSERT_OK(bob.Send("WHO *.example"));
  EXPECT_EQ(bob.NextLine(), FromSrv("315 bob *.example :End of WHO list"));
  ASSERT_OK(bob.Send("WHO nobody"));
  EXPECT_EQ(bob.NextLine(), FromSrv("315 bob nobody :End of WHO list"));
}

TEST_F(IrcTest, WhoisKnownAndUnknownNick) {
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#b"));
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK(bob.JoinChannel("#a"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  std::vector<IrcMessage> whois = Ask(alice, "WHOIS bob", "318");
  EXPECT_EQ(Commands(whois),
            (std::vector<std::string>{"311", "319", "312", "318"}))
      << DescribeLines(whois);
  ASSERT_EQ(whois.size(), 4u);
  EXPECT_EQ(whois[0].raw, FromSrv("311 alice bob u irc.chatd * :Test User"));
  EXPECT_EQ(whois[1].Param(0), "alice");
  EXPECT_EQ(whois[1].Param(1), "bob");
  EXPECT_EQ(Words(whois[1].Last()), (std::set<std::string>{"#a", "@#b"}))
      << whois[1].raw;
  EXPECT_EQ(whois[2].raw, FromSrv("312 alice bob irc.test :chatd"));
  EXPECT_EQ(whois[3].raw, FromSrv("318 alice bob :End of /WHOIS list."));

  ASSERT_OK(alice.Send("WHOIS nobody"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("401 alice nobody :No such nick/channel"));
  EXPECT_EQ(alice.NextLine(), FromSrv("318 alice nobody :End of /WHOIS list."));
}

TEST_F(IrcTest, WhoisLineUser) {
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  std::vector<IrcMessage> whois = Ask(alice, "WHOIS tim", "318");
  ASSERT_FALSE(whois.empty());
  EXPECT_EQ(whois[0].command, "311") << DescribeLines(whois);
  EXPECT_EQ(whois[0].Param(1), "tim");
  EXPECT_EQ(whois[0].Param(2), "tim");
  EXPECT_EQ(whois[0].Param(3), "line.chatd");
  bool saw_channels = false;
  for (const IrcMessage& line : whois) {
    if (line.command == "319") {
      saw_channels = true;
      EXPECT_EQ(Words(line.Last()), std::set<std::string>{"@#cooking"})
          << line.raw;
    }
  }
  EXPECT_TRUE(saw_channels) << DescribeLines(whois);
}

// ---------------------------------------------------------------------------
// TOPIC.

TEST_F(IrcTest, TopicQuerySetAndClear) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  ASSERT_OK(alice.Send("TOPIC #a"));
  EXPECT_EQ(alice.NextLine(), FromSrv("331 alice #a :No topic is set"));

  const int64_t before = absl::ToUnixSeconds(absl::Now());
  ASSERT_OK(alice.Send("TOPIC #a :Dinner: pasta"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd TOPIC #a :Dinner: pasta");
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd TOPIC #a :Dinner: pasta");
  ASSERT_OK(bob.Send("TOPIC #a"));
  EXPECT_EQ(bob.NextLine(), FromSrv("332 bob #a :Dinner: pasta"));
  ASSERT_OK_AND_ASSIGN(IrcMessage who_when, bob.ExpectNumeric("333"));
  EXPECT_EQ(who_when.Param(0), "bob");
  EXPECT_EQ(who_when.Param(1), "#a");
  EXPECT_TRUE(absl::StartsWith(who_when.Param(2), "alice")) << who_when.raw;
  int64_t when = 0;
  EXPECT_TRUE(absl::SimpleAtoi(who_when.Param(3), &when)) << who_when.raw;
  EXPECT_GE(when, before - 2);
  EXPECT_LE(when, absl::ToUnixSeconds(absl::Now()) + 2);

  // A newcomer gets 332 and 333 between its JOIN and the names.
  ASSERT_OK_AND_ASSIGN(IrcClient carol, Registered("carol"));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> joined, carol.JoinChannel("#a"));
  ASSERT_GE(joined.size(), 5u) << DescribeLines(joined);
  EXPECT_EQ(joined[0].command, "JOIN");
  EXPECT_EQ(joined[1].raw, FromSrv("332 carol #a :Dinner: pasta"));
  EXPECT_EQ(joined[2].command, "333");
  EXPECT_EQ(joined[3].command, "353");

  ASSERT_OK(alice.AwaitJoins({"carol"}));
  ASSERT_OK(alice.Send("TOPIC #a :"));
  ASSERT_OK_AND_ASSIGN(IrcMessage cleared, alice.ReadMessage());
  EXPECT_EQ(cleared.source, "alice!u@irc.chatd") << cleared.raw;
  EXPECT_EQ(cleared.command, "TOPIC") << cleared.raw;
  EXPECT_EQ(cleared.Param(0), "#a") << cleared.raw;
  EXPECT_EQ(cleared.Param(1), "") << cleared.raw;
  ASSERT_OK(alice.Send("TOPIC #a"));
  EXPECT_EQ(alice.NextLine(), FromSrv("331 alice #a :No topic is set"));
  ASSERT_OK(alice.Send("TOPIC"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("461 alice TOPIC :Not enough parameters"));
}

// Sets the channel's +t (on) or -t through `op`, whatever it was, and
// checks it with MODE; then, if that changed the mode, reads the MODE line
// at each of `others`.
void SetTopicLock(IrcClient& op, const std::string& channel, bool on,
                  const std::vector<IrcClient*>& others) {
  const std::string change = on ? "+t" : "-t";
  ASSERT_OK(op.Send(absl::StrCat("MODE ", channel, " ", change)));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> before, op.Sync("mode"));
  const bool changed = !before.empty();
  if (changed) {
    EXPECT_EQ(Raws(before),
              std::vector<std::string>{absl::StrCat(":", op.Mask(), " MODE ",
                                                    channel, " ", change)});
  }
  for (IrcClient* other : others) {
    if (!changed) break;
    EXPECT_EQ(other->NextLine(),
              absl::StrCat(":", op.Mask(), " MODE ", channel, " ", change));
  }
  ASSERT_OK(op.Send(absl::StrCat("MODE ", channel)));
  ASSERT_OK_AND_ASSIGN(IrcMessage modes, op.ExpectNumeric("324"));
  EXPECT_EQ(modes.Param(2), on ? "+nt" : "+n") << modes.raw;
  ASSERT_OK(op.ExpectNumeric("329"));
}

TEST_F(IrcTest, TopicLockLetsOnlyOpsSetTheTopic) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  ASSERT_NO_FATAL_FAILURE(SetTopicLock(alice, "#a", true, {&bob}));
  ASSERT_OK(bob.Send("TOPIC #a :mine now"));
  EXPECT_EQ(bob.NextLine(), FromSrv("482 bob #a :You're not channel operator"));
  ASSERT_OK(bob.Send("TOPIC #a"));
  EXPECT_EQ(bob.NextLine(), FromSrv("331 bob #a :No topic is set"));
  ASSERT_OK(alice.Send("TOPIC #a :ops only"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd TOPIC #a :ops only");

  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd TOPIC #a :ops only");
  ASSERT_NO_FATAL_FAILURE(SetTopicLock(alice, "#a", false, {&bob}));
  ASSERT_OK(bob.Send("TOPIC #a :anyone"));
  EXPECT_EQ(bob.NextLine(), ":bob!u@irc.chatd TOPIC #a :anyone");
}

// ---------------------------------------------------------------------------
// MODE.

TEST_F(IrcTest, ChannelModeQueryAndBanList) {
  const int64_t before = absl::ToUnixSeconds(absl::Now());
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK(alice.Send("MODE #a"));
  ASSERT_OK_AND_ASSIGN(IrcMessage modes, alice.ExpectNumeric("324"));
  EXPECT_EQ(modes.Param(0), "alice");
  EXPECT_EQ(modes.Param(1), "#a");
  EXPECT_TRUE(modes.Param(2) == "+n" || modes.Param(2) == "+nt") << modes.raw;
  ASSERT_OK_AND_ASSIGN(IrcMessage created, alice.ExpectNumeric("329"));
  EXPECT_EQ(created.Param(0), "alice");
  EXPECT_EQ(created.Param(1), "#a");
  int64_t when = 0;
  EXPECT_TRUE(absl::SimpleAtoi(created.Param(2), &when)) << created.raw;
  EXPECT_GE(when, before - 2);
  EXPECT_LE(when, absl::ToUnixSeconds(absl::Now()) + 2);
  ASSERT_OK(alice.Send("MODE #a b"));
  EXPECT_EQ(alice.NextLine(), FromSrv("368 alice #a :End of channel ban list"));
  ASSERT_OK(alice.Send("MODE #a +b"));
  EXPECT_EQ(alice.NextLine(), FromSrv("368 alice #a :End of channel ban list"));
}

TEST_F(IrcTest, OpAndVoiceAreGivenAndTakenByOps) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  ASSERT_OK(bob.Send("MODE #a +o bob"));
  EXPECT_EQ(bob.NextLine(), FromSrv("482 bob #a :You're not channel operator"));
  ASSERT_OK(bob.Send("MODE #a -o alice"));
  EXPECT_EQ(bob.NextLine(), FromSrv("482 bob #a :You're not channel operator"));

  ASSERT_OK(alice.Send("MODE #a +v bob"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd MODE #a +v bob");
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd MODE #a +v bob");
  EXPECT_EQ(NamesIn(Ask(bob, "NAMES #a", "366")),
            (std::set<std::string>{"@alice", "+bob"}));

  ASSERT_OK(alice.Send("MODE #a +o bob"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd MODE #a +o bob");
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd MODE #a +o bob");
  // Without multi-prefix only the highest prefix shows.
  EXPECT_EQ(NamesIn(Ask(bob, "NAMES #a", "366")),
            (std::set<std::string>{"@alice", "@bob"}));

  // Now bob is an op too, and takes alice's.
  ASSERT_OK(bob.Send("MODE #a -o alice"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd MODE #a -o alice");
  EXPECT_EQ(bob.NextLine(), ":bob!u@irc.chatd MODE #a -o alice");
  ASSERT_OK(alice.Send("MODE #a +o alice"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("482 alice #a :You're not channel operator"));

  ASSERT_OK(bob.Send("MODE #a -v bob"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd MODE #a -v bob");
  EXPECT_EQ(bob.NextLine(), ":bob!u@irc.chatd MODE #a -v bob");
  EXPECT_EQ(NamesIn(Ask(alice, "NAMES #a", "366")),
            (std::set<std::string>{"alice", "@bob"}));
}

TEST_F(IrcTest, ModeTOnAndOffIsBroadcast) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  ASSERT_NO_FATAL_FAILURE(SetTopicLock(alice, "#a", false, {&bob}));
  ASSERT_OK(alice.Send("MODE #a +t"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd MODE #a +t");
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd MODE #a +t");
  ASSERT_OK(bob.Send("MODE #a -t"));
  EXPECT_EQ(bob.NextLine(), FromSrv("482 bob #a :You're not channel operator"));
  ASSERT_OK(alice.Send("MODE #a -t"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd MODE #a -t");
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd MODE #a -t");
}

TEST_F(IrcTest, ModeErrors441And472) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, Registered("carol"));
  ASSERT_OK(alice.Send("MODE #a +o carol"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("441 alice carol #a :They aren't on that channel"));
  ASSERT_OK(alice.Send("MODE #a +x"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("472 alice x :is unknown mode char to me"));
  ASSERT_OK(alice.Send("MODE #a +k secret"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("472 alice k :is unknown mode char to me"));
  ASSERT_OK(alice.Send("MODE"));
  EXPECT_EQ(alice.NextLine(), FromSrv("461 alice MODE :Not enough parameters"));
}

TEST_F(IrcTest, UserModes) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK(alice.Send("MODE alice"));
  ASSERT_OK_AND_ASSIGN(IrcMessage none, alice.ExpectNumeric("221"));
  EXPECT_EQ(none.params, (std::vector<std::string>{"alice", "+"})) << none.raw;
  ASSERT_OK(alice.Send("MODE alice +i"));
  ASSERT_OK_AND_ASSIGN(IrcMessage set, alice.ReadMessage());
  EXPECT_EQ(set.raw, ":alice MODE alice :+i");
  ASSERT_OK(alice.Send("MODE alice"));
  ASSERT_OK_AND_ASSIGN(IrcMessage invisible, alice.ExpectNumeric("221"));
  EXPECT_EQ(invisible.params, (std::vector<std::string>{"alice", "+i"}))
      << invisible.raw;
  ASSERT_OK(alice.Send("MODE alice -i"));
  EXPECT_EQ(alice.NextLine(), ":alice MODE alice :-i");
  ASSERT_OK(alice.Send("MODE alice +w"));
  EXPECT_EQ(alice.NextLine(), FromSrv("501 alice :Unknown MODE flag"));
  ASSERT_OK(alice.Send("MODE bob"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("502 alice :Can't change mode for other users"));
  ASSERT_OK(alice.Send("MODE bob +i"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("502 alice :Can't change mode for other users"));
  // Nothing reached bob.
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(bob));
}

// ---------------------------------------------------------------------------
// KICK.

TEST_F(IrcTest, OpKicksAMember) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, InChannel("carol", "#a"));
  ASSERT_OK(alice.AwaitJoins({"bob", "carol"}));
  ASSERT_OK(bob.AwaitJoins({"carol"}));
  ASSERT_OK(alice.Send("KICK #a bob :behave"));
  for (IrcClient* who : {&alice, &bob, &carol}) {
    EXPECT_EQ(who->NextLine(), ":alice!u@irc.chatd KICK #a bob :behave");
  }
  ASSERT_OK(bob.Send("PRIVMSG #a :let me back"));
  EXPECT_EQ(bob.NextLine(), FromSrv("404 bob #a :Cannot send to channel"));
  EXPECT_EQ(NamesIn(Ask(carol, "NAMES #a", "366")),
            (std::set<std::string>{"@alice", "carol"}));
  // bob may join again.
  ASSERT_OK(bob.JoinChannel("#a"));
  EXPECT_EQ(carol.NextLine(), ":bob!u@irc.chatd JOIN #a");
}

TEST_F(IrcTest, NonOpKickIs482) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  ASSERT_OK(bob.Send("KICK #a alice :coup"));
  EXPECT_EQ(bob.NextLine(), FromSrv("482 bob #a :You're not channel operator"));
  // alice is still in: bob's next message reaches her.
  ASSERT_OK(bob.Send("PRIVMSG #a :sorry"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :sorry");
}

// ---------------------------------------------------------------------------
// NICK after registration.

TEST_F(IrcTest, NickChangeSeenOnceByAUserSharingTwoChannels) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK(alice.JoinChannel("#b"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(bob.JoinChannel("#b"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #b");
  ASSERT_OK(alice.Send("NICK al"));
  ASSERT_OK_AND_ASSIGN(IrcMessage own, alice.ReadMessage());
  EXPECT_EQ(own.source, "alice!u@irc.chatd") << own.raw;
  EXPECT_EQ(own.command, "NICK") << own.raw;
  EXPECT_EQ(own.params, std::vector<std::string>{"al"}) << own.raw;
  ASSERT_OK_AND_ASSIGN(IrcMessage seen, bob.ReadMessage());
  EXPECT_EQ(seen.raw, own.raw);
  // Once: al's next message is bob's next line.
  ASSERT_OK(alice.Send("PRIVMSG #b :renamed"));
  EXPECT_EQ(bob.NextLine(), ":al!u@irc.chatd PRIVMSG #b :renamed");
  // The old nick is free, the new one taken.
  ASSERT_OK_AND_ASSIGN(IrcClient again, Registered("alice"));
  ASSERT_OK(again.Send("NICK AL"));
  EXPECT_EQ(again.NextLine(),
            FromSrv("433 alice AL :Nickname is already in use"));
}

TEST_F(IrcTest, NickChangeErrorsAndCaseChange) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK(alice.Send("NICK Bob"));
  EXPECT_EQ(alice.NextLine(),
            FromSrv("433 alice Bob :Nickname is already in use"));
  ASSERT_OK(alice.Send("NICK b@d"));
  EXPECT_EQ(alice.NextLine(), FromSrv("432 alice b@d :Erroneous nickname"));
  ASSERT_OK(alice.Send("NICK"));
  EXPECT_EQ(alice.NextLine(), FromSrv("431 alice :No nickname given"));
  ASSERT_OK(alice.Send("NICK Alice"));
  ASSERT_OK_AND_ASSIGN(IrcMessage changed, alice.ReadMessage());
  EXPECT_EQ(changed.source, "alice!u@irc.chatd") << changed.raw;
  EXPECT_EQ(changed.command, "NICK") << changed.raw;
  EXPECT_EQ(changed.params, std::vector<std::string>{"Alice"}) << changed.raw;
  ASSERT_OK(bob.Send("PRIVMSG alice :hi"));
  // Still reachable under the old spelling (names ignore case).
  ASSERT_OK_AND_ASSIGN(IrcMessage hi, alice.ReadMessage());
  EXPECT_EQ(hi.source, "bob!u@irc.chatd") << hi.raw;
  EXPECT_EQ(hi.command, "PRIVMSG") << hi.raw;
  EXPECT_TRUE(absl::EqualsIgnoreCase(hi.Param(0), "alice")) << hi.raw;
  EXPECT_EQ(hi.Param(1), "hi") << hi.raw;
}

// ---------------------------------------------------------------------------
// AWAY.

TEST_F(IrcTest, AwayRepliesAnd301OnPrivmsg) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(bob.Send("AWAY :gone fishing"));
  EXPECT_EQ(bob.NextLine(),
            FromSrv("306 bob :You have been marked as being away"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  ASSERT_OK(alice.Send("PRIVMSG bob :hi"));
  EXPECT_EQ(alice.NextLine(), FromSrv("301 alice bob :gone fishing"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG bob :hi");
  // A channel message gets no 301.
  ASSERT_OK(alice.Send("PRIVMSG #a :all"));
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));

  std::vector<IrcMessage> who = Ask(alice, "WHO #a", "315");
  for (const IrcMessage& line : who) {
    if (line.command == "352" && line.Param(5) == "bob") {
      EXPECT_EQ(line.Param(6), "G") << line.raw;
    }
  }
  std::vector<IrcMessage> whois = Ask(alice, "WHOIS bob", "318");
  EXPECT_EQ(Commands(whois),
            (std::vector<std::string>{"311", "319", "312", "301", "318"}))
      << DescribeLines(whois);

  ASSERT_OK(bob.Send("AWAY"));
  ASSERT_OK_AND_ASSIGN(
      std::vector<IrcMessage> back,
      bob.ReadUntil([](const IrcMessage& m) { return m.command == "305"; }));
  EXPECT_EQ(back.back().raw,
            FromSrv("305 bob :You are no longer marked as being away"));
  ASSERT_OK(alice.Send("PRIVMSG bob :back?"));
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(alice));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG bob :back?");
}

TEST_F(IrcTest, AwayNotifyOnlyToMembersWithTheCap) {
  ASSERT_OK_AND_ASSIGN(IrcClient carol,
                       InChannel("carol", "#a", {"away-notify"}));
  ASSERT_OK_AND_ASSIGN(IrcClient dave, InChannel("dave", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(carol.AwaitJoins({"dave", "bob"}));
  ASSERT_OK(dave.AwaitJoins({"bob"}));
  ASSERT_OK(bob.Send("AWAY :brb"));
  EXPECT_EQ(bob.NextLine(),
            FromSrv("306 bob :You have been marked as being away"));
  EXPECT_EQ(carol.NextLine(), ":bob!u@irc.chatd AWAY :brb");
  ASSERT_OK(bob.Send("AWAY"));
  EXPECT_EQ(carol.NextLine(), ":bob!u@irc.chatd AWAY");
  ASSERT_OK(bob.Send("PRIVMSG #a :sentinel"));
  EXPECT_EQ(carol.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :sentinel");
  EXPECT_EQ(dave.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :sentinel");
}

// ---------------------------------------------------------------------------
// QUIT and lost connections.

TEST_F(IrcTest, QuitSeenOnceByAUserSharingTwoChannels) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK(alice.JoinChannel("#b"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(bob.JoinChannel("#b"));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, InChannel("carol", "#a"));
  ASSERT_OK(bob.AwaitJoins({"carol"}));
  ASSERT_OK(alice.AwaitJoins({"bob", "bob", "carol"}));
  ASSERT_OK(alice.Send("QUIT :dinner"));
  EXPECT_EQ(alice.NextLine(), "ERROR :Closing Link: alice (Quit: dinner)");
  EXPECT_OK(alice.ExpectClosed());
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd QUIT :Quit: dinner");
  EXPECT_EQ(carol.NextLine(), ":alice!u@irc.chatd QUIT :Quit: dinner");
  // No second QUIT before carol's next message.
  ASSERT_OK(carol.Send("PRIVMSG #a :after"));
  EXPECT_EQ(bob.NextLine(), ":carol!u@irc.chatd PRIVMSG #a :after");
  // The nick is free again.
  ASSERT_OK(JoinEventually("g", "alice", 1, "ERROR name taken"));
}

TEST_F(IrcTest, LostConnectionIsQuitConnectionClosed) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  alice.Close();
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd QUIT :Connection closed");
}

// ---------------------------------------------------------------------------
// LIST, ISON, USERHOST, unknown commands and missing parameters.

TEST_F(IrcTest, ListShowsEveryGroup) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(bob.JoinChannel("#b"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK(alice.Send("TOPIC #a :the a team"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd TOPIC #a :the a team");
  std::vector<IrcMessage> list = Ask(bob, "LIST", "323");
  ASSERT_GE(list.size(), 2u) << DescribeLines(list);
  EXPECT_EQ(list.front().raw, FromSrv("321 bob Channel :Users  Name"));
  EXPECT_EQ(list.back().raw, FromSrv("323 bob :End of /LIST"));
  std::vector<std::string> rows;
  for (size_t i = 1; i + 1 < list.size(); ++i) rows.push_back(list[i].raw);
  EXPECT_EQ(Sorted(rows), (std::vector<std::string>{
                              FromSrv("322 bob #a 2 :the a team"),
                              FromSrv("322 bob #b 1 :"),
                              FromSrv("322 bob #cooking 1 :"),
                          }))
      << DescribeLines(list);
}

TEST_F(IrcTest, IsonNamesThoseOnline) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK(alice.Send("ISON bob nobody tim"));
  ASSERT_OK_AND_ASSIGN(IrcMessage ison, alice.ExpectNumeric("303"));
  EXPECT_EQ(ison.Param(0), "alice");
  EXPECT_EQ(Words(ison.Last()), (std::set<std::string>{"bob", "tim"}))
      << ison.raw;
  ASSERT_OK(alice.Send("ISON nobody"));
  EXPECT_EQ(alice.NextLine(), FromSrv("303 alice :"));
}

TEST_F(IrcTest, UserhostGivesUserAndHost) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK(alice.Send("USERHOST bob tim nobody"));
  ASSERT_OK_AND_ASSIGN(IrcMessage reply, alice.ExpectNumeric("302"));
  EXPECT_EQ(reply.Param(0), "alice");
  EXPECT_EQ(Words(reply.Last()),
            (std::set<std::string>{"bob=+u@irc.chatd", "tim=+tim@line.chatd"}))
      << reply.raw;
}

TEST_F(IrcTest, UnknownCommandIs421) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK(alice.Send("FROBNICATE a b"));
  EXPECT_EQ(alice.NextLine(), FromSrv("421 alice FROBNICATE :Unknown command"));
}

class IrcMissingParamsTest : public IrcTest,
                             public ::testing::WithParamInterface<
                                 std::pair<std::string, std::string>> {};

TEST_P(IrcMissingParamsTest, Is461) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK(alice.Send(GetParam().first));
  EXPECT_EQ(alice.NextLine(),
            FromSrv(absl::StrCat("461 alice ", GetParam().second,
                                 " :Not enough parameters")));
}

INSTANTIATE_TEST_SUITE_P(Commands, IrcMissingParamsTest,
                         ::testing::Values(std::make_pair("JOIN", "JOIN"),
                                           std::make_pair("PART", "PART"),
                                           std::make_pair("KICK #a", "KICK"),
                                           std::make_pair("TOPIC", "TOPIC"),
                                           std::make_pair("ISON", "ISON"),
                                           std::make_pair("USERHOST",
                                                          "USERHOST")));

// ---------------------------------------------------------------------------
// Line limits.

TEST_F(IrcTest, OverlongLineIs417AndTheConnectionStaysUsable) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  const std::string prefix = "PRIVMSG bob :";
  // 511 bytes before "\r\n": one too many.
  const std::string too_long = prefix + std::string(511 - prefix.size(), 'x');
  ASSERT_OK(alice.Send(too_long));
  EXPECT_EQ(alice.NextLine(), FromSrv("417 alice :Input line was too long"));
  // Far too long, too.
  ASSERT_OK(alice.Send(prefix + std::string(20000, 'y')));
  EXPECT_EQ(alice.NextLine(), FromSrv("417 alice :Input line was too long"));
  // Tags beyond 4094 bytes.
  ASSERT_OK(alice.Send(
      absl::StrCat("@+big=", std::string(5000, 't'), " PRIVMSG bob :tagged")));
  EXPECT_EQ(alice.NextLine(), FromSrv("417 alice :Input line was too long"));
  // Exactly 510 bytes is taken; relayed with its source it no longer fits
  // one line, so it arrives in two, whole.
  const std::string z_text(510 - prefix.size(), 'z');
  ASSERT_OK(alice.Send(prefix + z_text));
  std::string relayed;
  while (relayed.size() < z_text.size()) {
    ASSERT_OK_AND_ASSIGN(IrcMessage part, bob.ReadMessage());
    ASSERT_EQ(part.command, "PRIVMSG") << part.raw;
    EXPECT_LE(part.raw.size() + 2, 512u);
    relayed += part.Last();
  }
  EXPECT_EQ(relayed, z_text);
  ASSERT_OK(alice.Send("PING :usable"));
  EXPECT_EQ(alice.NextLine(), FromSrv("PONG irc.test :usable"));
}

TEST_F(IrcTest, LineWithNulIs400AndDropped) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Registered("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Registered("bob"));
  ASSERT_OK(alice.SendRaw(std::string("PRIVMSG bob :a\0b\r\n", 18)));
  EXPECT_EQ(alice.NextLine(), FromSrv("400 alice :Malformed message"));
  ASSERT_OK(alice.Send("PRIVMSG bob :clean"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG bob :clean");
}

// ---------------------------------------------------------------------------
// Capabilities.

// Whether `value` is a server-time stamp: 2026-12-02T10:00:00.000Z.
bool IsServerTime(absl::string_view value) {
  if (value.size() != 24) return false;
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? !absl::ascii_isdigit(value[i])
                        : value[i] != shape[i]) {
      return false;
    }
  }
  return true;
}

TEST_F(IrcTest, ServerTimeStampsMessagesOnceAtTheOrigin) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice,
                       InChannel("alice", "#a", {"server-time"}));
  ASSERT_OK_AND_ASSIGN(IrcClient carol,
                       InChannel("carol", "#a", {"server-time"}));
  ASSERT_OK_AND_ASSIGN(IrcClient dave, InChannel("dave", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(alice.AwaitJoins({"carol", "dave", "bob"}));
  ASSERT_OK(carol.AwaitJoins({"dave", "bob"}));
  ASSERT_OK(dave.AwaitJoins({"bob"}));
  const absl::Time before = absl::Now();
  ASSERT_OK(bob.Send("PRIVMSG #a :hi"));
  ASSERT_OK_AND_ASSIGN(IrcMessage at_alice, alice.ReadMessage());
  ASSERT_OK_AND_ASSIGN(IrcMessage at_carol, carol.ReadMessage());
  const absl::Time after = absl::Now();
  std::optional<std::string> stamp = at_alice.Tag("time");
  ASSERT_TRUE(stamp.has_value()) << at_alice.raw;
  EXPECT_TRUE(IsServerTime(*stamp)) << *stamp;
  EXPECT_EQ(at_alice.raw,
            absl::StrCat("@time=", *stamp, " :bob!u@irc.chatd PRIVMSG #a :hi"));
  EXPECT_EQ(at_carol.raw, at_alice.raw);  // The same stamp.
  absl::Time when;
  std::string error;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%E3SZ", *stamp,
                              absl::UTCTimeZone(), &when, &error))
      << error;
  EXPECT_GE(when, before - absl::Seconds(2));
  EXPECT_LE(when, after + absl::Seconds(2));
  // Without the cap, no tags.
  EXPECT_EQ(dave.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :hi");
}

TEST_F(IrcTest, MessageTagsMsgidAndClientTagsOnlyForTheCap) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice,
                       InChannel("alice", "#a", {"message-tags"}));
  ASSERT_OK_AND_ASSIGN(
      IrcClient dave, InChannel("dave", "#a", {"message-tags", "server-time"}));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, InChannel("carol", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a", {"message-tags"}));
  ASSERT_OK(alice.AwaitJoins({"dave", "carol", "bob"}));
  ASSERT_OK(dave.AwaitJoins({"carol", "bob"}));
  ASSERT_OK(carol.AwaitJoins({"bob"}));

  ASSERT_OK(bob.Send("@+example=a\\sb;+flag PRIVMSG #a :tagged"));
  ASSERT_OK_AND_ASSIGN(IrcMessage at_alice, alice.ReadMessage());
  ASSERT_OK_AND_ASSIGN(IrcMessage at_dave, dave.ReadMessage());
  for (const IrcMessage* m : {&at_alice, &at_dave}) {
    EXPECT_EQ(m->source, "bob!u@irc.chatd") << m->raw;
    EXPECT_EQ(m->command, "PRIVMSG") << m->raw;
    EXPECT_EQ(m->params, (std::vector<std::string>{"#a", "tagged"})) << m->raw;
    EXPECT_EQ(m->Tag("+example"), "a b") << m->raw;
    EXPECT_EQ(m->Tag("+flag"), "") << m->raw;
    ASSERT_TRUE(m->HasTag("msgid")) << m->raw;
    EXPECT_FALSE(m->Tag("msgid")->empty()) << m->raw;
  }
  // message-tags members get the server-time stamp too (one class).
  EXPECT_TRUE(at_alice.HasTag("time")) << at_alice.raw;
  EXPECT_TRUE(at_dave.HasTag("time")) << at_dave.raw;
  EXPECT_EQ(at_alice.Tag("msgid"), at_dave.Tag("msgid"));
  // Without the cap: no tags at all.
  EXPECT_EQ(carol.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :tagged");

  // A second message has another msgid; NOTICE carries one too.
  ASSERT_OK(bob.Send("NOTICE #a :second"));
  ASSERT_OK_AND_ASSIGN(IrcMessage second, alice.ReadMessage());
  EXPECT_EQ(second.command, "NOTICE") << second.raw;
  ASSERT_TRUE(second.HasTag("msgid")) << second.raw;
  EXPECT_NE(second.Tag("msgid"), at_alice.Tag("msgid"));
  EXPECT_EQ(carol.NextLine(), ":bob!u@irc.chatd NOTICE #a :second");
}

TEST_F(IrcTest, TagmsgReachesOnlyMessageTagsMembers) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice,
                       InChannel("alice", "#a", {"message-tags"}));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, InChannel("carol", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a", {"message-tags"}));
  ASSERT_OK_AND_ASSIGN(IrcClient erin, Registered("erin", {"message-tags"}));
  ASSERT_OK(alice.AwaitJoins({"carol", "bob"}));
  ASSERT_OK(carol.AwaitJoins({"bob"}));

  ASSERT_OK(bob.Send("@+typing=active TAGMSG #a"));
  ASSERT_OK_AND_ASSIGN(IrcMessage typing, alice.ReadMessage());
  EXPECT_EQ(typing.source, "bob!u@irc.chatd") << typing.raw;
  EXPECT_EQ(typing.command, "TAGMSG") << typing.raw;
  EXPECT_EQ(typing.params, std::vector<std::string>{"#a"}) << typing.raw;
  EXPECT_EQ(typing.Tag("+typing"), "active") << typing.raw;
  EXPECT_TRUE(typing.HasTag("msgid")) << typing.raw;

  ASSERT_OK(bob.Send("@+typing=paused TAGMSG erin"));
  ASSERT_OK_AND_ASSIGN(IrcMessage direct, erin.ReadMessage());
  EXPECT_EQ(direct.command, "TAGMSG") << direct.raw;
  EXPECT_EQ(direct.params, std::vector<std::string>{"erin"}) << direct.raw;
  EXPECT_EQ(direct.Tag("+typing"), "paused") << direct.raw;

  // carol, without the cap, got nothing of it.
  ASSERT_OK(bob.Send("PRIVMSG #a :sentinel"));
  EXPECT_EQ(carol.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :sentinel");
  ASSERT_NO_FATAL_FAILURE(ExpectNothingMore(bob));
}

TEST_F(IrcTest, EchoMessageReturnsOwnMessagesToTheSender) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice,
                       InChannel("alice", "#a", {"echo-message"}));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK(alice.AwaitJoins({"bob"}));
  ASSERT_OK(alice.Send("PRIVMSG #a :mine"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd PRIVMSG #a :mine");
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG #a :mine");
  ASSERT_OK(alice.Send("NOTICE #a :note"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd NOTICE #a :note");
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd NOTICE #a :note");
  ASSERT_OK(alice.Send("PRIVMSG bob :direct"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd PRIVMSG bob :direct");
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG bob :direct");
  // In its place in the channel's order: bob's message, then alice's echo.
  ASSERT_OK(bob.Send("PRIVMSG #a :first"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :first");
  ASSERT_OK(alice.Send("PRIVMSG #a :second"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd PRIVMSG #a :second");
  // bob, without the cap, got no echo of "first".
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG #a :second");
}

TEST_F(IrcTest, EchoWithMessageTagsCarriesTheSameMsgid) {
  ASSERT_OK_AND_ASSIGN(
      IrcClient alice,
      InChannel("alice", "#a", {"echo-message", "message-tags"}));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a", {"message-tags"}));
  ASSERT_OK(alice.AwaitJoins({"bob"}));
  ASSERT_OK(alice.Send("@+example=1 PRIVMSG #a :tagged"));
  ASSERT_OK_AND_ASSIGN(IrcMessage echo, alice.ReadMessage());
  ASSERT_OK_AND_ASSIGN(IrcMessage seen, bob.ReadMessage());
  EXPECT_EQ(echo.command, "PRIVMSG") << echo.raw;
  ASSERT_TRUE(echo.HasTag("msgid")) << echo.raw;
  EXPECT_EQ(echo.Tag("msgid"), seen.Tag("msgid"));
  EXPECT_EQ(echo.Tag("+example"), "1") << echo.raw;
  ASSERT_OK(alice.Send("@+typing=active TAGMSG #a"));
  ASSERT_OK_AND_ASSIGN(IrcMessage tag_echo, alice.ReadMessage());
  EXPECT_EQ(tag_echo.command, "TAGMSG") << tag_echo.raw;
}

TEST_F(IrcTest, MultiPrefixShowsEveryPrefix) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient carol,
                       InChannel("carol", "#a", {"multi-prefix"}));
  ASSERT_OK(alice.AwaitJoins({"bob", "carol"}));
  ASSERT_OK(alice.Send("MODE #a +o bob"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd MODE #a +o bob");
  ASSERT_OK(alice.Send("MODE #a +v bob"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd MODE #a +v bob");
  ASSERT_OK(carol.ReadUntil([](const IrcMessage& m) {
    return m.command == "MODE" && m.Param(1) == "+v";
  }));
  EXPECT_EQ(NamesIn(Ask(carol, "NAMES #a", "366")),
            (std::set<std::string>{"@alice", "@+bob", "carol"}));
  EXPECT_EQ(NamesIn(Ask(alice, "NAMES #a", "366")),
            (std::set<std::string>{"@alice", "@bob", "carol"}));
  for (IrcClient* who : {&carol, &alice}) {
    const bool multi = who == &carol;
    for (const IrcMessage& line : Ask(*who, "WHO #a", "315")) {
      if (line.command == "352" && line.Param(5) == "bob") {
        EXPECT_EQ(line.Param(6), multi ? "H@+" : "H@") << line.raw;
      }
    }
  }
}

TEST_F(IrcTest, UserhostInNamesShowsMasks) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, InChannel("alice", "#a"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("a", "tim", 2));
  ASSERT_OK_AND_ASSIGN(IrcClient carol,
                       Registered("carol", {"userhost-in-names"}));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> joined, carol.JoinChannel("#a"));
  EXPECT_EQ(NamesIn(joined),
            (std::set<std::string>{"@alice!u@irc.chatd", "tim!tim@line.chatd",
                                   "carol!u@irc.chatd"}))
      << DescribeLines(joined);
  // Without the cap, nicks only.
  ASSERT_OK(alice.AwaitJoins({"tim", "carol"}));
  EXPECT_EQ(NamesIn(Ask(alice, "NAMES #a", "366")),
            (std::set<std::string>{"@alice", "tim", "carol"}));
}

// ---------------------------------------------------------------------------
// IRC over TLS.

class IrcTlsTest : public IrcTest {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.tls = true;
  }
};

TEST_F(IrcTlsTest, IrcsPortSpeaksIrcOverTls) {
  ASSERT_GT(server().ircs_port(), 0);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const chatd::TlsContext> trust,
                       TlsClientContext(server().ca_file()));
  Endpoint endpoint;
  endpoint.port = server().ircs_port();
  endpoint.tls = trust;
  ASSERT_OK_AND_ASSIGN(IrcClient alice,
                       IrcClient::Registered(endpoint, "alice"));
  EXPECT_TRUE(alice.tcp().is_tls());
  ASSERT_OK(alice.JoinChannel("#a"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, InChannel("bob", "#a"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd JOIN #a");
  ASSERT_OK(bob.Send("PRIVMSG #a :plain to tls"));
  EXPECT_EQ(alice.NextLine(), ":bob!u@irc.chatd PRIVMSG #a :plain to tls");
  ASSERT_OK(alice.Send("PRIVMSG #a :tls to plain"));
  EXPECT_EQ(bob.NextLine(), ":alice!u@irc.chatd PRIVMSG #a :tls to plain");
}

}  // namespace
}  // namespace chatd_test
