// IRC members together with line (TCP) and WebSocket members in one group,
// over four workers: every guarantee of docs/PROTOCOL.md for each pair of
// transports, and how each side looks to the other (docs/IRC.md, "How the
// other side looks"): joins, messages, actions, nick changes, leaves, quits,
// kicks, private messages both ways, line messages too long for one IRC
// line, and the member counts.
//
// As in protocol_test.cc, absence is never proven by waiting: a member
// proves it got nothing from a sender by that sender's next message being
// its very next line.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/irc_client.h"
#include "tests/line_recorder.h"
#include "tests/numbered_message.h"
#include "tests/server_process.h"
#include "tests/status_macros.h"
#include "tests/transcript.h"
#include "tests/ws_client.h"

namespace chatd_test {
namespace {

constexpr char kSrv[] = "irc.test";
constexpr absl::Duration kDeliveryTimeout = absl::Seconds(30);

// An IRC line as the line protocol would show it, for transcripts:
// JOIN -> "* n has joined", PRIVMSG/NOTICE to a channel -> "n: text",
// PART/QUIT -> "* n has left", KICK -> "* <kicked> has left"; anything else
// stays as it is (and is filed as unparsed).
std::string AsChatLine(const std::string& raw) {
  absl::StatusOr<IrcMessage> m = ParseIrcMessage(raw);
  if (!m.ok()) return raw;
  const std::string nick = m->Nick();
  if (m->command == "JOIN") return absl::StrCat("* ", nick, " has joined");
  if ((m->command == "PRIVMSG" || m->command == "NOTICE") &&
      absl::StartsWith(m->Param(0), "#") && m->params.size() == 2) {
    return absl::StrCat(nick, ": ", m->Param(1));
  }
  if (m->command == "PART" || m->command == "QUIT") {
    return absl::StrCat("* ", nick, " has left");
  }
  if (m->command == "KICK") return absl::StrCat("* ", m->Param(1), " has left");
  return raw;
}

// The IRC mask of a line or web member.
std::string LineMask(absl::string_view name) {
  return absl::StrCat(name, "!", name, "@", kLineHost);
}

// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or values
// past U+10FFFF).
bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = text[i];
    size_t extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const unsigned char next = text[i + k];
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

enum class Kind { kIrc, kLine, kWs };

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kIrc:
      return "IRC";
    case Kind::kLine:
      return "line";
    case Kind::kWs:
      return "WebSocket";
  }
  return "?";
}

// A member of the group on any of the three transports, with a recorder
// reading all the time. IRC lines are recorded as AsChatLine() shows them,
// so one transcript check serves every kind.
struct Peer {
  std::string name;
  Kind kind = Kind::kLine;
  IrcClient irc;
  ChatClient line;
  WsClient ws;
  std::unique_ptr<LineRecorder> recorder;
  Transcript expected;

  absl::Status Send(const std::string& text,
                    absl::Duration timeout = kDeliveryTimeout) {
    switch (kind) {
      case Kind::kIrc:
        return irc.Send(absl::StrCat("PRIVMSG #room :", text), timeout);
      case Kind::kLine:
        return line.SendLine(text, timeout);
      case Kind::kWs:
        return ws.SendText(text, timeout);
    }
    return absl::InternalError("bad kind");
  }
  void StartRecording() {
    switch (kind) {
      case Kind::kIrc: {
        IrcClient* client = &irc;
        recorder = std::make_unique<LineRecorder>(
            [client](absl::Duration timeout) {
              return client->ReadLine(timeout);
            },
            [](std::string line) { return AsChatLine(line); });
        break;
      }
      case Kind::kLine:
        recorder = std::make_unique<LineRecorder>(&line);
        break;
      case Kind::kWs: {
        WsClient* client = &ws;
        recorder =
            std::make_unique<LineRecorder>([client](absl::Duration timeout) {
              return client->ReadLine(timeout);
            });
        break;
      }
    }
  }
  std::string Describe() const {
    return absl::StrCat(name, " (", KindName(kind), ")");
  }
};

class IrcCrossTest : public ChatServerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.threads = 4;
    options.irc = true;
    options.irc_server_name = kSrv;
    return options;
  }

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ChatServerTest::SetUp());
    ASSERT_GT(irc_port(), 0);
  }

  int irc_port() { return server().irc_port(); }
  int http_port() { return server().http_port(); }

  absl::StatusOr<IrcClient> Irc(absl::string_view nick,
                                const std::vector<std::string>& caps = {}) {
    return IrcClient::Registered(irc_port(), nick, "u", caps);
  }
  absl::StatusOr<IrcClient> IrcIn(absl::string_view nick,
                                  absl::string_view channel,
                                  const std::vector<std::string>& caps = {}) {
    absl::StatusOr<IrcClient> client = Irc(nick, caps);
    if (!client.ok()) return client;
    absl::StatusOr<std::vector<IrcMessage>> joined =
        client->JoinChannel(channel);
    if (!joined.ok()) return joined.status();
    return client;
  }

  // Joins members of "room" (#room) in order, each of its kind; consecutive
  // connections land on consecutive workers.
  void JoinAll(const std::vector<std::pair<std::string, Kind>>& who) {
    for (const auto& [name, kind] : who) {
      const int online = static_cast<int>(peers_.size()) + 1;
      for (auto& peer : peers_) peer->expected[name].push_back(kJoined);
      auto peer = std::make_unique<Peer>();
      peer->name = name;
      peer->kind = kind;
      switch (kind) {
        case Kind::kIrc: {
          ASSERT_OK_AND_ASSIGN(peer->irc, IrcIn(name, "#room"));
          break;
        }
        case Kind::kLine: {
          ASSERT_OK_AND_ASSIGN(peer->line, Join("room", name, online));
          break;
        }
        case Kind::kWs: {
          ASSERT_OK_AND_ASSIGN(
              peer->ws, WsClient::Join(http_port(), "room", name, online));
          break;
        }
      }
      peer->StartRecording();
      peers_.push_back(std::move(peer));
    }
  }

  void ExpectDelivered(const Peer& sender, const std::string& text) {
    for (auto& peer : peers_) {
      if (peer.get() != &sender) peer->expected[sender.name].push_back(text);
    }
  }

  // Waits until every peer has as many lines as expected, then compares
  // per sender; one fatal failure at the end.
  void CheckAllTranscripts() {
    const absl::Time deadline = absl::Now() + kDeliveryTimeout;
    bool all_good = true;
    for (auto& peer : peers_) {
      size_t count = 0;
      for (const auto& [subject, entries] : peer->expected) {
        count += entries.size();
      }
      absl::Status arrived =
          peer->recorder->WaitForCount(count, deadline - absl::Now());
      EXPECT_OK(arrived) << " at " << peer->Describe();
      const std::string diff = DescribeDifference(
          peer->expected, BySubject(peer->recorder->Lines()));
      EXPECT_EQ(diff, "") << " at " << peer->Describe();
      const bool ended = peer->recorder->WaitForEnd(absl::ZeroDuration()).ok();
      EXPECT_FALSE(ended) << peer->Describe() << " lost its connection";
      all_good = all_good && arrived.ok() && diff.empty() && !ended;
    }
    if (!all_good) FAIL() << "some members did not get what they should";
  }

  void SendSentinel(Peer& sender) {
    const std::string text = absl::StrCat("sentinel from ", sender.name);
    ASSERT_OK(sender.Send(text));
    ExpectDelivered(sender, text);
    ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  }

  std::vector<std::unique_ptr<Peer>> peers_;
};

// NumberedMessage cut to 300 bytes, so that an IRC line always has room
// for it (a longer one would be split for IRC members).
std::string ShortNumbered(const std::string& sender, int seq) {
  return NumberedMessage(sender, seq).substr(0, 300);
}

// Nine members, three of each kind, spread so that every kind meets every
// other on different workers: i0 l1 w2 i3 l4 w5 i6 l7 w8.
std::vector<std::pair<std::string, Kind>> MixedGroup() {
  const Kind kinds[] = {Kind::kIrc, Kind::kLine, Kind::kWs};
  const char letters[] = {'i', 'l', 'w'};
  std::vector<std::pair<std::string, Kind>> who;
  for (int i = 0; i < 9; ++i) {
    who.emplace_back(absl::StrFormat("%c%d", letters[i % 3], i), kinds[i % 3]);
  }
  return who;
}

// ---------------------------------------------------------------------------
// The guarantees of docs/PROTOCOL.md across IRC, line and WebSocket.

TEST_F(IrcCrossTest, MixedSendersArriveExactlyOnceAndInOrder) {
  constexpr int kMessages = 300;
  ASSERT_NO_FATAL_FAILURE(JoinAll(MixedGroup()));
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  // Senders i0 l1 w2 i3 (four workers, every kind); all nine receive.
  std::vector<Peer*> senders = {peers_[0].get(), peers_[1].get(),
                                peers_[2].get(), peers_[3].get()};
  std::vector<absl::Status> results(senders.size());
  std::vector<std::thread> threads;
  for (size_t s = 0; s < senders.size(); ++s) {
    threads.emplace_back([&, s] {
      for (int seq = 0; seq < kMessages && results[s].ok(); ++seq) {
        results[s] = senders[s]->Send(ShortNumbered(senders[s]->name, seq));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t s = 0; s < senders.size(); ++s) {
    EXPECT_OK(results[s]) << " sending from " << senders[s]->Describe();
    for (int seq = 0; seq < kMessages; ++seq) {
      ExpectDelivered(*senders[s], ShortNumbered(senders[s]->name, seq));
    }
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*peers_.front()));
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*peers_.back()));
}

TEST_F(IrcCrossTest, JoinBeforeFirstMessageAndLeaveAfterLast) {
  ASSERT_NO_FATAL_FAILURE(JoinAll(MixedGroup()));
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  // Newcomers of each kind pipeline their join, two messages and their
  // leave in one write (WebSocket: back to back).
  std::vector<std::pair<std::string, Kind>> newcomers = {
      {"ni0", Kind::kIrc}, {"nl1", Kind::kLine}, {"nw2", Kind::kWs},
      {"ni3", Kind::kIrc}, {"nl4", Kind::kLine}, {"nw5", Kind::kWs}};
  std::vector<IrcClient> ircs;
  std::vector<ChatClient> lines;
  std::vector<WsClient> wss;
  for (const auto& [name, kind] : newcomers) {
    const std::string first = absl::StrCat("first from ", name);
    const std::string second = absl::StrCat("second from ", name);
    switch (kind) {
      case Kind::kIrc: {
        IrcClient client;
        ASSERT_OK(client.Connect(irc_port()));
        ASSERT_OK(client.SendRaw(absl::StrCat(
            "NICK ", name, "\r\nUSER u 0 * :x\r\nJOIN #room\r\nPRIVMSG #room :",
            first, "\r\nPRIVMSG #room :", second, "\r\nQUIT :done\r\n")));
        ircs.push_back(std::move(client));
        break;
      }
      case Kind::kLine: {
        ChatClient client;
        ASSERT_OK(client.Connect(port()));
        ASSERT_OK(client.SendRaw(absl::StrCat("JOIN room ", name, "\n", first,
                                              "\n", second, "\n/quit\n")));
        lines.push_back(std::move(client));
        break;
      }
      case Kind::kWs: {
        WsClient client;
        ASSERT_OK(client.Connect(http_port()));
        ASSERT_OK(client.SendText(absl::StrCat("JOIN room ", name)));
        ASSERT_OK(client.SendText(first));
        ASSERT_OK(client.SendText(second));
        ASSERT_OK(client.SendText("/quit"));
        wss.push_back(std::move(client));
        break;
      }
    }
    for (auto& peer : peers_) {
      peer->expected[name] = {kJoined, first, second, kLeft};
    }
  }
  // Each newcomer's connection ends after its own quit.
  for (IrcClient& client : ircs) {
    absl::StatusOr<std::string> line;
    std::string last;
    while ((line = client.ReadLine()).ok()) last = *line;
    EXPECT_TRUE(absl::IsUnavailable(line.status())) << line.status();
    EXPECT_TRUE(absl::StartsWith(last, "ERROR :Closing Link: ")) << last;
  }
  for (ChatClient& client : lines) {
    absl::StatusOr<std::string> line;
    while ((line = client.ReadLine()).ok()) {
    }
    EXPECT_TRUE(absl::IsUnavailable(line.status())) << line.status();
  }
  for (WsClient& client : wss) EXPECT_OK(client.DrainUntilEnd(kDefaultTimeout));
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());

  // Leavers of each kind send a burst of long lines and then drop the
  // connection without a word: all of it arrives, then the leave.
  constexpr int kLastWords = 30;
  const std::string padding(400, 'p');
  const std::vector<std::pair<std::string, Kind>> leavers = {
      {"di", Kind::kIrc}, {"dl", Kind::kLine}, {"dw", Kind::kWs}};
  for (const auto& [name, kind] : leavers) {
    SCOPED_TRACE(name);
    const int online = static_cast<int>(peers_.size()) + 1;
    for (auto& peer : peers_) peer->expected[name] = {kJoined};
    std::vector<std::string> texts;
    for (int seq = 0; seq < kLastWords; ++seq) {
      texts.push_back(absl::StrCat("last words ", seq, " ", padding));
      for (auto& peer : peers_) peer->expected[name].push_back(texts.back());
    }
    switch (kind) {
      case Kind::kIrc: {
        ASSERT_OK_AND_ASSIGN(IrcClient leaver, IrcIn(name, "#room"));
        std::string burst;
        for (const std::string& text : texts) {
          absl::StrAppend(&burst, "PRIVMSG #room :", text, "\r\n");
        }
        ASSERT_OK(leaver.SendRaw(burst));
        leaver.Close();
        break;
      }
      case Kind::kLine: {
        ASSERT_OK_AND_ASSIGN(ChatClient leaver, Join("room", name, online));
        std::string burst;
        for (const std::string& text : texts)
          absl::StrAppend(&burst, text, "\n");
        ASSERT_OK(leaver.SendRaw(burst));
        leaver.Close();
        break;
      }
      case Kind::kWs: {
        ASSERT_OK_AND_ASSIGN(WsClient leaver,
                             WsClient::Join(http_port(), "room", name, online));
        for (const std::string& text : texts) ASSERT_OK(leaver.SendText(text));
        leaver.Close();
        break;
      }
    }
    for (auto& peer : peers_) peer->expected[name].push_back(kLeft);
    ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts()) << " after " << name;
  }
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*peers_.front()));
}

// ---------------------------------------------------------------------------
// An IRC user as line and web members see it.

TEST_F(IrcCrossTest, IrcJoinMessagesAndActionsAsLineAndWebSeeThem) {
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "cooking", "wendy", 2));
  EXPECT_EQ(tim.NextLine(), "* wendy has joined");
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Irc("alice"));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> joined,
                       alice.JoinChannel("#cooking"));
  EXPECT_EQ(joined.front().raw, ":alice!u@irc.chatd JOIN #cooking");
  EXPECT_EQ(tim.NextLine(), "* alice has joined");
  EXPECT_EQ(wendy.NextLine(), "* alice has joined");

  ASSERT_OK(alice.Send("PRIVMSG #cooking :hi"));
  EXPECT_EQ(tim.NextLine(), "alice: hi");
  EXPECT_EQ(wendy.NextLine(), "alice: hi");
  ASSERT_OK(alice.Send("NOTICE #cooking :hi"));
  EXPECT_EQ(tim.NextLine(), "alice: hi");
  EXPECT_EQ(wendy.NextLine(), "alice: hi");
  ASSERT_OK(
      alice.Send("PRIVMSG #cooking :\x01"
                 "ACTION waves\x01"));
  EXPECT_EQ(tim.NextLine(), "* alice waves");
  EXPECT_EQ(wendy.NextLine(), "* alice waves");
}

TEST_F(IrcCrossTest, IrcOnlyCommandsShowNothingToLineAndWeb) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice,
                       IrcIn("alice", "#cooking", {"message-tags"}));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 2));
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "cooking", "wendy", 3));
  EXPECT_EQ(tim.NextLine(), "* wendy has joined");
  for (const char* line :
       {"PRIVMSG #cooking :\x01VERSION\x01", "NOTICE #cooking :\x01PING 1\x01",
        "@+typing=active TAGMSG #cooking", "MODE #cooking +t",
        "MODE #cooking +v tim", "TOPIC #cooking :what's cooking",
        "AWAY :stirring", "AWAY"}) {
    ASSERT_OK(alice.Send(line));
  }
  ASSERT_OK(alice.Send("PRIVMSG #cooking :sentinel"));
  EXPECT_EQ(tim.NextLine(), "alice: sentinel");
  EXPECT_EQ(wendy.NextLine(), "alice: sentinel");
}

TEST_F(IrcCrossTest, IrcNickChangeAndPartAsLineAndWebSeeThem) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 2));
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "cooking", "wendy", 3));
  EXPECT_EQ(tim.NextLine(), "* wendy has joined");
  ASSERT_OK(alice.Send("NICK al"));
  EXPECT_EQ(tim.NextLine(), "* alice is now known as al");
  EXPECT_EQ(wendy.NextLine(), "* alice is now known as al");
  ASSERT_OK(alice.Send("PRIVMSG #cooking :new name"));
  EXPECT_EQ(tim.NextLine(), "al: new name");
  EXPECT_EQ(wendy.NextLine(), "al: new name");
  ASSERT_OK(tim.SendLine("/who"));
  EXPECT_EQ(tim.NextLine(), "* online in cooking: al, tim, wendy");
  ASSERT_OK(alice.Send("PART #cooking :bye"));
  EXPECT_EQ(tim.NextLine(), "* al has left");
  EXPECT_EQ(wendy.NextLine(), "* al has left");
}

TEST_F(IrcCrossTest, IrcQuitKickAndDisconnectAreLeaves) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, IrcIn("bob", "#cooking"));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, IrcIn("carol", "#cooking"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 4));
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "cooking", "wendy", 5));
  EXPECT_EQ(tim.NextLine(), "* wendy has joined");

  ASSERT_OK(bob.Send("QUIT :dinner"));
  EXPECT_EQ(tim.NextLine(), "* bob has left");
  EXPECT_EQ(wendy.NextLine(), "* bob has left");
  ASSERT_OK(alice.Send("KICK #cooking carol :out"));
  EXPECT_EQ(tim.NextLine(), "* carol has left");
  EXPECT_EQ(wendy.NextLine(), "* carol has left");
  alice.Close();
  EXPECT_EQ(tim.NextLine(), "* alice has left");
  EXPECT_EQ(wendy.NextLine(), "* alice has left");
}

// ---------------------------------------------------------------------------
// Line and web users as IRC members see them.

TEST_F(IrcCrossTest, LineAndWebUsersAsIrcSeesThem) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 2));
  EXPECT_EQ(alice.NextLine(), ":tim!tim@line.chatd JOIN #cooking");
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "cooking", "wendy", 3));
  EXPECT_EQ(alice.NextLine(), ":wendy!wendy@line.chatd JOIN #cooking");
  ASSERT_OK(tim.SendLine("hi"));
  EXPECT_EQ(alice.NextLine(), ":tim!tim@line.chatd PRIVMSG #cooking :hi");
  ASSERT_OK(wendy.SendText("hello from the web"));
  EXPECT_EQ(alice.NextLine(),
            ":wendy!wendy@line.chatd PRIVMSG #cooking :hello from the web");
  // "//x" is sent as "/x".
  ASSERT_OK(tim.SendLine("//slash"));
  EXPECT_EQ(alice.NextLine(), ":tim!tim@line.chatd PRIVMSG #cooking :/slash");
  EXPECT_EQ(tim.NextLine(), "* wendy has joined");
  EXPECT_EQ(tim.NextLine(), "wendy: hello from the web");
  ASSERT_OK(tim.SendLine("/quit"));
  EXPECT_EQ(tim.NextLine(), "* bye");
  EXPECT_EQ(alice.NextLine(), ":tim!tim@line.chatd QUIT :Quit: bye");
  wendy.Close();
  EXPECT_EQ(alice.NextLine(),
            ":wendy!wendy@line.chatd QUIT :Connection closed");
}

TEST_F(IrcCrossTest, CreatorIsOpOnEitherTransport) {
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Irc("alice"));
  ASSERT_OK_AND_ASSIGN(std::vector<IrcMessage> joined,
                       alice.JoinChannel("#cooking"));
  std::set<std::string> names;
  for (const IrcMessage& line : joined) {
    if (line.command != "353") continue;
    for (absl::string_view name :
         absl::StrSplit(line.Last(), ' ', absl::SkipEmpty())) {
      names.emplace(name);
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"@tim", "alice"}))
      << DescribeLines(joined);
  // alice is no op here.
  ASSERT_OK(alice.Send("KICK #cooking tim :mine"));
  EXPECT_EQ(alice.NextLine(),
            absl::StrCat(":", kSrv,
                         " 482 alice #cooking :You're not channel operator"));
  ASSERT_OK(tim.SendLine("still here"));
  EXPECT_EQ(tim.NextLine(), "* alice has joined");
  EXPECT_EQ(alice.NextLine(),
            ":tim!tim@line.chatd PRIVMSG #cooking :still here");
}

TEST_F(IrcCrossTest, OnlineCountAndWhoCountIrcMembers) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, IrcIn("bob", "#cooking"));
  ASSERT_OK_AND_ASSIGN(IrcClient carol, IrcIn("carol", "#elsewhere"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 3));
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "cooking", "wendy", 4));
  EXPECT_EQ(tim.NextLine(), "* wendy has joined");
  ASSERT_OK(tim.SendLine("/who"));
  EXPECT_EQ(tim.NextLine(), "* online in cooking: alice, bob, tim, wendy");
  ASSERT_OK(wendy.SendText("/who"));
  EXPECT_EQ(wendy.NextLine(), "* online in cooking: alice, bob, tim, wendy");
}

// ---------------------------------------------------------------------------
// Private messages.

TEST_F(IrcCrossTest, PrivateMessagesBothWays) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 2));
  EXPECT_EQ(alice.NextLine(), ":tim!tim@line.chatd JOIN #cooking");
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "baking", "wendy", 1));

  ASSERT_OK(tim.SendLine("/msg alice psst"));
  EXPECT_EQ(alice.NextLine(), ":tim!tim@line.chatd PRIVMSG alice :psst");
  ASSERT_OK(wendy.SendText("/msg alice from the web"));
  EXPECT_EQ(alice.NextLine(),
            ":wendy!wendy@line.chatd PRIVMSG alice :from the web");

  ASSERT_OK(alice.Send("PRIVMSG tim :psst"));
  EXPECT_EQ(tim.NextLine(), "(private) alice: psst");
  ASSERT_OK(alice.Send("PRIVMSG wendy :psst web"));
  EXPECT_EQ(wendy.NextLine(), "(private) alice: psst web");
  ASSERT_NO_FATAL_FAILURE({
    absl::StatusOr<std::vector<IrcMessage>> before = alice.Sync();
    ASSERT_OK(before);
    EXPECT_TRUE(before->empty()) << DescribeLines(*before);
  });

  ASSERT_OK(tim.SendLine("/msg nobody x"));
  EXPECT_EQ(tim.NextLine(), "ERROR no such name");
  // Still open and in the group.
  ASSERT_OK(tim.SendLine("still here"));
  EXPECT_EQ(alice.NextLine(),
            ":tim!tim@line.chatd PRIVMSG #cooking :still here");
  ASSERT_OK(wendy.SendText("/msg nobody x"));
  EXPECT_EQ(wendy.NextLine(), "ERROR no such name");
  ASSERT_OK(wendy.SendText("/msg alice after the error"));
  EXPECT_EQ(alice.NextLine(),
            ":wendy!wendy@line.chatd PRIVMSG alice :after the error");
}

TEST_F(IrcCrossTest, PrivateMessagesKeepPerSenderOrder) {
  constexpr int kMessages = 200;
  ASSERT_OK_AND_ASSIGN(IrcClient alice, Irc("alice"));
  ASSERT_OK_AND_ASSIGN(IrcClient bob, Irc("bob"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 1));
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "baking", "wendy", 1));
  // To alice from three senders on three transports at once; from alice to
  // tim.
  std::string from_tim, from_bob, from_alice;
  for (int seq = 0; seq < kMessages; ++seq) {
    absl::StrAppend(&from_tim, "/msg alice ", ShortNumbered("tim", seq), "\n");
    absl::StrAppend(&from_bob, "PRIVMSG alice :", ShortNumbered("bob", seq),
                    "\r\n");
    absl::StrAppend(&from_alice, "PRIVMSG tim :", ShortNumbered("alice", seq),
                    "\r\n");
  }
  std::thread web([&] {
    for (int seq = 0; seq < kMessages; ++seq) {
      ASSERT_OK(wendy.SendText(
          absl::StrCat("/msg alice ", ShortNumbered("wendy", seq))));
    }
  });
  ASSERT_OK(tim.SendRaw(from_tim));
  ASSERT_OK(bob.SendRaw(from_bob));
  ASSERT_OK(alice.SendRaw(from_alice));
  web.join();

  std::map<std::string, std::vector<std::string>> at_alice;
  for (int i = 0; i < 3 * kMessages; ++i) {
    ASSERT_OK_AND_ASSIGN(IrcMessage m, alice.ReadMessage(kDeliveryTimeout));
    ASSERT_EQ(m.command, "PRIVMSG") << m.raw;
    ASSERT_EQ(m.Param(0), "alice") << m.raw;
    at_alice[m.source].push_back(m.Param(1));
  }
  for (const auto& [source, sender] :
       std::vector<std::pair<std::string, std::string>>{
           {LineMask("tim"), "tim"},
           {"bob!u@irc.chatd", "bob"},
           {LineMask("wendy"), "wendy"}}) {
    std::vector<std::string> expected;
    for (int seq = 0; seq < kMessages; ++seq) {
      expected.push_back(ShortNumbered(sender, seq));
    }
    EXPECT_EQ(at_alice[source], expected) << " from " << source;
  }
  for (int seq = 0; seq < kMessages; ++seq) {
    ASSERT_EQ(tim.NextLine(kDeliveryTimeout),
              absl::StrCat("(private) alice: ", ShortNumbered("alice", seq)));
  }
}

// ---------------------------------------------------------------------------
// Kicks of line and web members.

TEST_F(IrcCrossTest, KickedLineUserGetsErrorAndIsClosed) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 2));
  ASSERT_OK_AND_ASSIGN(ChatClient ann, Join("cooking", "ann", 3));
  EXPECT_EQ(tim.NextLine(), "* ann has joined");
  ASSERT_OK(alice.AwaitJoins({"tim", "ann"}));
  ASSERT_OK(alice.Send("KICK #cooking tim :behave yourself"));
  EXPECT_EQ(alice.NextLine(),
            ":alice!u@irc.chatd KICK #cooking tim :behave yourself");
  EXPECT_EQ(tim.NextLine(),
            "ERROR kicked from cooking by alice: behave yourself");
  EXPECT_OK(tim.ExpectClosed());
  EXPECT_EQ(ann.NextLine(), "* tim has left");
  // The name is free again.
  ASSERT_OK(JoinEventually("cooking", "tim", 3, "ERROR name taken"));
}

TEST_F(IrcCrossTest, KickedWebUserGetsErrorAndClose1008) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(WsClient wendy,
                       WsClient::Join(http_port(), "cooking", "wendy", 2));
  EXPECT_EQ(alice.NextLine(), ":wendy!wendy@line.chatd JOIN #cooking");
  ASSERT_OK(alice.Send("KICK #cooking wendy :spam"));
  EXPECT_EQ(alice.NextLine(), ":alice!u@irc.chatd KICK #cooking wendy :spam");
  EXPECT_EQ(wendy.NextLine(), "ERROR kicked from cooking by alice: spam");
  EXPECT_OK(wendy.ExpectClose(1008));
}

// ---------------------------------------------------------------------------
// A line message longer than an IRC line allows.

// The pieces `alice` receives of `sender`'s message to #cooking until
// their text adds up to `total` bytes (spaces not counted when
// `ignore_spaces`); each checked for size and UTF-8.
std::vector<std::string> ReadPieces(IrcClient& alice, const std::string& total,
                                    bool ignore_spaces) {
  const std::string prefix = ":tim!tim@line.chatd PRIVMSG #cooking :";
  auto strip = [ignore_spaces](const std::string& s) {
    return ignore_spaces ? absl::StrReplaceAll(s, {{" ", ""}}) : s;
  };
  const size_t want = strip(total).size();
  std::vector<std::string> pieces;
  size_t got = 0;
  while (got < want && pieces.size() < 100) {
    absl::StatusOr<std::string> line = alice.ReadLine();
    EXPECT_OK(line);
    if (!line.ok()) break;
    EXPECT_LE(line->size() + 2, 512u) << *line;
    EXPECT_TRUE(absl::StartsWith(*line, prefix)) << *line;
    std::string text = line->substr(std::min(prefix.size(), line->size()));
    EXPECT_FALSE(text.empty());
    EXPECT_TRUE(IsValidUtf8(text))
        << "piece " << pieces.size() << " \"" << absl::CHexEscape(text) << "\"";
    got += strip(text).size();
    pieces.push_back(std::move(text));
  }
  return pieces;
}

TEST_F(IrcCrossTest, LongLineMessageIsSplitAtCharacterBoundaries) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 2));
  EXPECT_EQ(alice.NextLine(), ":tim!tim@line.chatd JOIN #cooking");
  // 1-, 2-, 3- and 4-byte characters, no spaces: 4096 bytes, the longest
  // line the line port takes.
  std::string text;
  const std::string unit = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";  // 10 B
  while (text.size() + unit.size() <= 4096) text += unit;
  while (text.size() < 4096) text += "z";
  ASSERT_EQ(text.size(), 4096u);
  ASSERT_OK(tim.SendLine(text));
  std::vector<std::string> pieces = ReadPieces(alice, text, false);
  EXPECT_GE(pieces.size(), 9u);
  EXPECT_EQ(absl::StrJoin(pieces, ""), text);
  // Nothing more of it: tim's next message is alice's next line.
  ASSERT_OK(tim.SendLine("after"));
  EXPECT_EQ(alice.NextLine(), ":tim!tim@line.chatd PRIVMSG #cooking :after");
}

TEST_F(IrcCrossTest, LongLineMessageWithSpacesIsSplitIntoWholeCharacters) {
  ASSERT_OK_AND_ASSIGN(IrcClient alice, IrcIn("alice", "#cooking"));
  ASSERT_OK_AND_ASSIGN(IrcClient dave, IrcIn("dave", "#cooking",
                                             {"server-time", "message-tags"}));
  ASSERT_OK_AND_ASSIGN(ChatClient tim, Join("cooking", "tim", 3));
  ASSERT_OK(alice.AwaitJoins({"dave", "tim"}));
  // dave's class carries the server-time stamp on everything.
  EXPECT_THAT(dave.NextLine(),
              ::testing::EndsWith(" :tim!tim@line.chatd JOIN #cooking"));
  // Words of varying length in 2-, 3- and 4-byte characters.
  std::string text;
  const std::vector<std::string> chars = {"\xc3\xa9", "\xe2\x82\xac",
                                          "\xf0\x9d\x84\x9e", "x"};
  for (int word = 0; text.size() < 4000; ++word) {
    if (!text.empty()) text += " ";
    for (int k = 0; k < 3 + word % 17; ++k) text += chars[(word + k) % 4];
  }
  ASSERT_LE(text.size(), 4096u);
  ASSERT_OK(tim.SendLine(text));
  std::vector<std::string> pieces = ReadPieces(alice, text, true);
  EXPECT_GE(pieces.size(), 8u);
  EXPECT_EQ(absl::StrReplaceAll(absl::StrJoin(pieces, ""), {{" ", ""}}),
            absl::StrReplaceAll(text, {{" ", ""}}));
  // With tags, the 512 bytes are those after the tags.
  std::string seen;
  size_t without_spaces = 0;
  const size_t want = absl::StrReplaceAll(text, {{" ", ""}}).size();
  while (without_spaces < want) {
    ASSERT_OK_AND_ASSIGN(IrcMessage piece, dave.ReadMessage());
    ASSERT_EQ(piece.command, "PRIVMSG") << piece.raw;
    const size_t space = piece.raw.find(" :tim!");
    ASSERT_NE(space, std::string::npos) << piece.raw;
    EXPECT_LE(piece.raw.size() - (space + 1) + 2, 512u) << piece.raw;
    EXPECT_TRUE(IsValidUtf8(piece.Param(1)));
    without_spaces += absl::StrReplaceAll(piece.Param(1), {{" ", ""}}).size();
  }
  EXPECT_EQ(without_spaces, want);
}

}  // namespace
}  // namespace chatd_test
