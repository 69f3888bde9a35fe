// chatd over WebSocket (RFC 6455 at /ws on the HTTP port), end to end: line
// and WebSocket members of one group, the group guarantees across both
// transports and all four workers, WebSocket framing rules (pings, close
// handshake, bad frames), server pings, limits, shutdown and handshake
// refusals.
//
// The acceptor hands connections to the 4 workers round-robin, counting
// connections of both ports, so consecutive joins land on different workers.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/mixed_members.h"
#include "tests/numbered_message.h"
#include "tests/status_macros.h"
#include "tests/transcript.h"
#include "tests/ws_client.h"

namespace chatd_test {
namespace {

constexpr absl::Duration kDeliveryTimeout = absl::Seconds(30);

class WebSocketTest : public MixedMembersTest {
 protected:
  WebSocketTest() : MixedMembersTest(/*expect_open=*/false) {}

  int http_port() { return server().http_port(); }

  absl::StatusOr<WsClient> WsJoin(absl::string_view group,
                                  absl::string_view name, int online) {
    return WsClient::Join(http_port(), group, name, online);
  }

  // Joins members of group "room" in order, each on the transport its flag
  // says (true: WebSocket); `others` are in the room besides members_.
  void JoinAll(const std::vector<std::pair<std::string, bool>> &who,
               int others = 0) {
    for (const auto &[name, ws] : who) {
      const int online = static_cast<int>(members_.size()) + 1 + others;
      std::unique_ptr<Member> member =
          Newcomer(name, ws, ws ? "WebSocket" : "line");
      if (ws) {
        ASSERT_OK_AND_ASSIGN(member->socket, WsJoin("room", name, online));
      } else {
        ASSERT_OK_AND_ASSIGN(member->line, Join("room", name, online));
      }
      Add(std::move(member));
    }
  }
};

// Members of both transports, named by kind: w00 l01 w02 l03 l04 w05 l06
// w07 for 8. Joined in a row, member i lands on worker i % 4, so every
// worker has one of each kind, and members 0-3 (WebSocket on workers 0 and
// 2, line on 1 and 3) span all workers, as do members 4-7.
std::vector<std::pair<std::string, bool>> MixedGroup(int count) {
  std::vector<std::pair<std::string, bool>> who;
  for (int i = 0; i < count; ++i) {
    // Shift the pattern every 4, so worker k gets both kinds: w l w l l w l w.
    const bool ws = ((i + i / 4) % 2) == 0;
    who.emplace_back(absl::StrFormat("%s%02d", ws ? "w" : "l", i), ws);
  }
  return who;
}

// ---------------------------------------------------------------------------
// 1. Line and WebSocket members see each other.

TEST_F(WebSocketTest, LineAndWebSocketMembersSeeEachOther) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  ASSERT_OK(ws.SendText("hello from the browser"));
  EXPECT_EQ(line.NextLine(), "wes: hello from the browser");
  ASSERT_OK(line.SendLine("hello from the terminal"));
  EXPECT_EQ(ws.NextLine(), "liz: hello from the terminal");
  ASSERT_OK(ws.SendText("/who"));
  EXPECT_EQ(ws.NextLine(), "* online in room: liz, wes");

  // A second line member joins: the WebSocket member hears it, and leaves.
  ASSERT_OK_AND_ASSIGN(ChatClient line2, Join("room", "lou", 3));
  EXPECT_EQ(line.NextLine(), "* lou has joined");
  EXPECT_EQ(ws.NextLine(), "* lou has joined");
  line2.Close();
  EXPECT_EQ(line.NextLine(), "* lou has left");
  EXPECT_EQ(ws.NextLine(), "* lou has left");

  // A second WebSocket member joins and leaves; both others hear it.
  ASSERT_OK_AND_ASSIGN(WsClient ws2, WsJoin("room", "wil", 3));
  EXPECT_EQ(line.NextLine(), "* wil has joined");
  EXPECT_EQ(ws.NextLine(), "* wil has joined");
  ASSERT_OK(ws2.SendText("bye all"));
  EXPECT_EQ(line.NextLine(), "wil: bye all");
  EXPECT_EQ(ws.NextLine(), "wil: bye all");
  ASSERT_OK(ws2.SendClose(1000));
  EXPECT_OK(ws2.ExpectClose(1000));
  EXPECT_EQ(line.NextLine(), "* wil has left");
  EXPECT_EQ(ws.NextLine(), "* wil has left");

  // The WebSocket member leaves; the line member hears it.
  ws.Close();
  EXPECT_EQ(line.NextLine(), "* wes has left");
}

// ---------------------------------------------------------------------------
// 2. Guarantees across transports and workers.

TEST_F(WebSocketTest, MixedSendersArriveExactlyOnceAndInOrder) {
  constexpr int kMessages = 500;
  // w00 l01 w02 l03 l04 w05 l06 w07: positions 0, 2 are WebSocket on
  // workers 0 and 2, positions 1, 3 line on workers 1 and 3; the receivers
  // 4..7 are line on 0, WebSocket on 1, line on 2, WebSocket on 3.
  ASSERT_NO_FATAL_FAILURE(JoinAll(MixedGroup(8)));
  std::vector<Member *> senders = {members_[0].get(), members_[1].get(),
                                   members_[2].get(), members_[3].get()};
  ASSERT_TRUE(senders[0]->ws && !senders[1]->ws && senders[2]->ws &&
              !senders[3]->ws);
  std::vector<absl::Status> results = SendNumberedAtOnce(senders, kMessages);
  for (const absl::Status &result : results) EXPECT_OK(result);
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.back()));
}

TEST_F(WebSocketTest, WebSocketJoinBeforeFirstMessageAndCloseAfterLast) {
  ASSERT_NO_FATAL_FAILURE(JoinAll(MixedGroup(8)));
  // Four WebSocket newcomers on four workers, each pipelining its whole
  // life (JOIN, two messages, a close frame) in one write after the
  // handshake.
  std::vector<WsClient> newcomers(4);
  for (size_t k = 0; k < newcomers.size(); ++k) {
    std::string name = absl::StrCat("new", k);
    ASSERT_OK(newcomers[k].Connect(http_port()));
    ASSERT_OK(newcomers[k].SendRaw(
        absl::StrCat(EncodeWsFrame(kWsText, absl::StrCat("JOIN room ", name)),
                     EncodeWsFrame(kWsText, absl::StrCat("first from ", name)),
                     EncodeWsFrame(kWsText, absl::StrCat("second from ", name)),
                     EncodeWsFrame(kWsClose, ClosePayload(1000)))));
    for (auto &member : members_) {
      member->expected[name] = {kJoined, absl::StrCat("first from ", name),
                                absl::StrCat("second from ", name), kLeft};
    }
  }
  for (size_t k = 0; k < newcomers.size(); ++k) {
    absl::StatusOr<std::string> welcome = newcomers[k].ReadLine();
    ASSERT_OK(welcome);
    EXPECT_TRUE(
        absl::StartsWith(*welcome, absl::StrCat("* you joined room as new", k)))
        << *welcome;
    absl::StatusOr<std::string> line;
    do {
      line = newcomers[k].ReadLine();
    } while (line.ok());
    EXPECT_EQ(newcomers[k].close_code(), 1000) << line.status();
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
}

TEST_F(WebSocketTest, WebSocketDropAnnouncesLeaveAfterLastMessage) {
  constexpr int kMessages = 40;
  ASSERT_NO_FATAL_FAILURE(JoinAll(MixedGroup(8)));
  // Four WebSocket leavers in a row (four workers), each sending long lines
  // and then dropping the TCP connection without a close frame.
  for (int k = 0; k < 4; ++k) {
    const std::string name = absl::StrCat("drop", k);
    const int online = static_cast<int>(members_.size()) + 1;
    ASSERT_OK_AND_ASSIGN(WsClient leaver, WsJoin("room", name, online));
    for (auto &member : members_) member->expected[name] = {kJoined};
    std::string padding(3000, 'p');
    std::string burst;
    for (int seq = 0; seq < kMessages; ++seq) {
      std::string text = absl::StrCat("last words ", seq, " ", padding);
      absl::StrAppend(&burst, EncodeWsFrame(kWsText, text));
      for (auto &member : members_) member->expected[name].push_back(text);
    }
    ASSERT_OK(leaver.SendRaw(burst));
    leaver.Close();  // FIN, no close frame: everything sent still counts.
    for (auto &member : members_) member->expected[name].push_back(kLeft);
    ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts()) << " after " << name;
  }
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
}

// ---------------------------------------------------------------------------
// 3. WebSocket specifics.

TEST_F(WebSocketTest, PingIsAnsweredWithPongOfSamePayload) {
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 1));
  for (const std::string &payload :
       {std::string(""), std::string("abc"), std::string(125, 'x')}) {
    ASSERT_OK(ws.SendFrame(kWsPing, payload));
    ASSERT_OK_AND_ASSIGN(WsFrame pong, ws.ReadFrame());
    EXPECT_EQ(pong.opcode, kWsPong) << pong.DebugString();
    EXPECT_TRUE(pong.fin);
    EXPECT_FALSE(pong.masked);
    EXPECT_EQ(pong.payload, payload);
  }
  // Before joining too.
  WsClient fresh;
  ASSERT_OK(fresh.Connect(http_port()));
  ASSERT_OK(fresh.SendFrame(kWsPing, "early"));
  ASSERT_OK_AND_ASSIGN(WsFrame pong, fresh.ReadFrame());
  EXPECT_EQ(pong.opcode, kWsPong) << pong.DebugString();
  EXPECT_EQ(pong.payload, "early");
}

TEST_F(WebSocketTest, CloseHandshakeEchoesTheClientsCode) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  int online = 2;
  for (int code : {1000, 3000, 4999, 1001}) {
    const std::string name = absl::StrCat("w", code);
    ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", name, online));
    EXPECT_EQ(line.NextLine(), absl::StrCat("* ", name, " has joined"));
    ASSERT_OK(ws.SendClose(code, "done"));
    EXPECT_OK(ws.ExpectClose(code)) << " closing with " << code;
    EXPECT_EQ(line.NextLine(), absl::StrCat("* ", name, " has left"));
  }
  // A close without a code is answered without one, or with 1000.
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "empty", online));
  EXPECT_EQ(line.NextLine(), "* empty has joined");
  ASSERT_OK(ws.SendFrame(kWsClose, ""));
  ASSERT_OK_AND_ASSIGN(WsFrame close, ws.ReadFrame());
  EXPECT_EQ(close.opcode, kWsClose) << close.DebugString();
  EXPECT_TRUE(close.payload.empty() || close.CloseCode() == 1000)
      << close.DebugString();
  EXPECT_OK(ws.DrainUntilEnd(kDefaultTimeout));
  EXPECT_EQ(line.NextLine(), "* empty has left");
}

// Sends `bytes` from a joined WebSocket member; expects `error` (if any) as
// a text message, then a close frame with `code` and the end of the
// connection, and the line member `line` to hear that member leave.
void ExpectRefused(WsClient &ws, ChatClient &line, const std::string &name,
                   const std::string &bytes, const std::string &error,
                   int code) {
  ASSERT_OK(ws.SendRaw(bytes));
  if (!error.empty()) EXPECT_EQ(ws.NextLine(), error);
  EXPECT_OK(ws.ExpectClose(code));
  EXPECT_EQ(line.NextLine(), absl::StrCat("* ", name, " has left"));
}

struct BadFrameCase {
  std::string label;
  std::string bytes;  // Sent after joining.
  std::string error;  // The ERROR message before the close, if any.
  int code;
};

TEST_F(WebSocketTest, BadFramesCloseWithTheRightCode) {
  WsFrameOptions unmasked;
  unmasked.mask = false;
  WsFrameOptions rsv1;
  rsv1.rsv = 4;
  WsFrameOptions rsv3;
  rsv3.rsv = 1;
  WsFrameOptions partial;
  partial.fin = false;
  WsFrameOptions ping_fragment;
  ping_fragment.fin = false;
  const std::vector<BadFrameCase> cases = {
      {"close 1005", EncodeWsFrame(kWsClose, ClosePayload(1005)), "", 1002},
      {"close 999", EncodeWsFrame(kWsClose, ClosePayload(999)), "", 1002},
      {"close 1004", EncodeWsFrame(kWsClose, ClosePayload(1004)), "", 1002},
      {"close 1-byte", EncodeWsFrame(kWsClose, std::string(1, '\x03')), "",
       1002},
      {"close bad utf-8 reason",
       EncodeWsFrame(kWsClose, ClosePayload(1000, "\xff")), "", 1007},
      {"unmasked text", EncodeWsFrame(kWsText, "hi", unmasked), "", 1002},
      {"rsv1", EncodeWsFrame(kWsText, "hi", rsv1), "", 1002},
      {"rsv3", EncodeWsFrame(kWsText, "hi", rsv3), "", 1002},
      {"opcode 3", EncodeWsFrame(3, "hi"), "", 1002},
      {"opcode 11", EncodeWsFrame(11, "hi"), "", 1002},
      {"binary", EncodeWsFrame(kWsBinary, "hi"), "", 1003},
      {"invalid utf-8", EncodeWsFrame(kWsText, "caf\xc3"), "", 1007},
      {"invalid utf-8 across fragments",
       absl::StrCat(EncodeWsFrame(kWsText, "\xe2\x82", partial),
                    EncodeWsFrame(kWsContinuation, "\x28")),
       "", 1007},
      {"lone continuation", EncodeWsFrame(kWsContinuation, "hi"), "", 1002},
      {"text inside a fragmented message",
       absl::StrCat(EncodeWsFrame(kWsText, "a", partial),
                    EncodeWsFrame(kWsText, "b")),
       "", 1002},
      {"fragmented ping", EncodeWsFrame(kWsPing, "p", ping_fragment), "", 1002},
      {"ping of 126 bytes", EncodeWsFrame(kWsPing, std::string(126, 'p')), "",
       1002},
      {"bad JOIN", EncodeWsFrame(kWsText, "JOIN room"),
       "ERROR expected JOIN <group> <name>", 1008},
  };
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  for (size_t i = 0; i < cases.size(); ++i) {
    const BadFrameCase &c = cases[i];
    SCOPED_TRACE(c.label);
    const std::string name = absl::StrCat("w", i);
    if (c.label == "bad JOIN") {
      // Not joined: the JOIN itself is refused.
      WsClient ws;
      ASSERT_OK(ws.Connect(http_port()));
      ASSERT_OK(ws.SendRaw(c.bytes));
      EXPECT_EQ(ws.NextLine(), c.error);
      EXPECT_OK(ws.ExpectClose(c.code));
      continue;
    }
    ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", name, 2));
    EXPECT_EQ(line.NextLine(), absl::StrCat("* ", name, " has joined"));
    ExpectRefused(ws, line, name, c.bytes, c.error, c.code);
  }
  // The line member saw nothing else, e.g. no fragment of a bad message.
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "last", 2));
  EXPECT_EQ(line.NextLine(), "* last has joined");
  ASSERT_OK(ws.SendText("still here"));
  EXPECT_EQ(line.NextLine(), "last: still here");
}

TEST_F(WebSocketTest, FragmentedMessagesAreReassembled) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  WsFrameOptions more;
  more.fin = false;
  // "hel" + ping + "lo" + " w€" (the euro sign split across fragments).
  ASSERT_OK(ws.SendRaw(absl::StrCat(
      EncodeWsFrame(kWsText, "hel", more), EncodeWsFrame(kWsPing, "p1"),
      EncodeWsFrame(kWsContinuation, "lo w\xe2\x82", more),
      EncodeWsFrame(kWsContinuation, "\xac"))));
  ASSERT_OK_AND_ASSIGN(WsFrame pong, ws.ReadFrame());
  EXPECT_EQ(pong.opcode, kWsPong) << pong.DebugString();
  EXPECT_EQ(pong.payload, "p1");
  EXPECT_EQ(line.NextLine(), "wes: hello w\xe2\x82\xac");
  // Byte by byte, header included.
  std::string frame = EncodeWsFrame(kWsText, "slowly");
  for (char c : frame) {
    ASSERT_OK(ws.SendRaw(std::string(1, c)));
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_EQ(line.NextLine(), "wes: slowly");
  // Empty fragments and an empty message (ignored, as an empty line).
  ASSERT_OK(ws.SendRaw(absl::StrCat(EncodeWsFrame(kWsText, "", more),
                                    EncodeWsFrame(kWsContinuation, "x", more),
                                    EncodeWsFrame(kWsContinuation, ""),
                                    EncodeWsFrame(kWsText, ""),
                                    EncodeWsFrame(kWsText, "after"))));
  EXPECT_EQ(line.NextLine(), "wes: x");
  EXPECT_EQ(line.NextLine(), "wes: after");
}

TEST_F(WebSocketTest, MessageOverMaxLineBytesIsRefusedWith1009) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  // Exactly the limit is fine.
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  ASSERT_OK(ws.SendText(std::string(4096, 'a')));
  EXPECT_EQ(line.NextLine(), absl::StrCat("wes: ", std::string(4096, 'a')));
  ExpectRefused(ws, line, "wes", EncodeWsFrame(kWsText, std::string(4097, 'b')),
                "ERROR line too long", 1009);

  // Over the limit across fragments.
  ASSERT_OK_AND_ASSIGN(WsClient ws2, WsJoin("room", "wil", 2));
  EXPECT_EQ(line.NextLine(), "* wil has joined");
  WsFrameOptions more;
  more.fin = false;
  ExpectRefused(
      ws2, line, "wil",
      absl::StrCat(EncodeWsFrame(kWsText, std::string(3000, 'c'), more),
                   EncodeWsFrame(kWsContinuation, std::string(3000, 'd'))),
      "ERROR line too long", 1009);

  // A header announcing a huge frame is refused at once, without the payload.
  ASSERT_OK_AND_ASSIGN(WsClient ws3, WsJoin("room", "wyn", 2));
  EXPECT_EQ(line.NextLine(), "* wyn has joined");
  std::string header = EncodeWsFrame(kWsText, std::string(70000, 'e'));
  header.resize(14);  // 2 + 8 length + 4 mask.
  ExpectRefused(ws3, line, "wyn", header, "ERROR line too long", 1009);
}

TEST_F(WebSocketTest, SessionErrorsCloseWith1008) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  // The name is taken by a line member.
  {
    WsClient ws;
    ASSERT_OK(ws.Connect(http_port()));
    ASSERT_OK(ws.SendText("JOIN room liz"));
    EXPECT_EQ(ws.NextLine(), "ERROR name taken");
    EXPECT_OK(ws.ExpectClose(1008));
  }
  // ...and one taken by a WebSocket member, for a line client.
  ASSERT_OK_AND_ASSIGN(WsClient wes, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  {
    ASSERT_OK_AND_ASSIGN(ChatClient other, Connect());
    ASSERT_OK(other.SendLine("JOIN room wes"));
    EXPECT_EQ(other.NextLine(), "ERROR name taken");
    EXPECT_OK(other.ExpectClosed());
  }
  // Invalid names.
  {
    WsClient ws;
    ASSERT_OK(ws.Connect(http_port()));
    ASSERT_OK(ws.SendText("JOIN room bad!name"));
    EXPECT_EQ(ws.NextLine(), "ERROR invalid name");
    EXPECT_OK(ws.ExpectClose(1008));
  }
  // A line break inside a message would forge a line for line members.
  ASSERT_OK(wes.SendText("hi\nliz: forged"));
  EXPECT_EQ(wes.NextLine(), "ERROR line break inside a message");
  EXPECT_OK(wes.ExpectClose(1008));
  EXPECT_EQ(line.NextLine(), "* wes has left");
  // A lone "\r" inside, too.
  ASSERT_OK_AND_ASSIGN(WsClient wil, WsJoin("room", "wil", 2));
  EXPECT_EQ(line.NextLine(), "* wil has joined");
  ExpectRefused(wil, line, "wil", EncodeWsFrame(kWsText, "a\rb"),
                "ERROR line break inside a message", 1008);
  // A line break in the JOIN.
  {
    WsClient ws;
    ASSERT_OK(ws.Connect(http_port()));
    ASSERT_OK(ws.SendText("JOIN room a\nJOIN room b"));
    EXPECT_EQ(ws.NextLine(), "ERROR line break inside a message");
    EXPECT_OK(ws.ExpectClose(1008));
  }
}

TEST_F(WebSocketTest, TrailingLineBreakIsTolerated) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  WsClient ws;
  ASSERT_OK(ws.Connect(http_port()));
  ASSERT_OK(ws.SendText("JOIN room wes\n"));
  EXPECT_EQ(ws.NextLine(), "* you joined room as wes (2 online)");
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  ASSERT_OK(ws.SendText("with newline\n"));
  EXPECT_EQ(line.NextLine(), "wes: with newline");
  ASSERT_OK(ws.SendText("with crlf\r\n"));
  EXPECT_EQ(line.NextLine(), "wes: with crlf");
  ASSERT_OK(ws.SendText("/who\n"));
  EXPECT_EQ(ws.NextLine(), "* online in room: liz, wes");
  // "\n" alone is an empty line: ignored.
  ASSERT_OK(ws.SendText("\n"));
  ASSERT_OK(ws.SendText("next"));
  EXPECT_EQ(line.NextLine(), "wes: next");
}

TEST_F(WebSocketTest, QuitSaysByeAndCloses1000) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  ASSERT_OK(ws.SendText("/nope"));
  EXPECT_EQ(ws.NextLine(), "ERROR unknown command /nope");
  ASSERT_OK(ws.SendText("/quit"));
  EXPECT_EQ(ws.NextLine(), "* bye");
  EXPECT_OK(ws.ExpectClose(1000));
  EXPECT_EQ(line.NextLine(), "* wes has left");
}

// ---------------------------------------------------------------------------
// 4. Server pings.

class WebSocketPingTest : public WebSocketTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.extra_flags = {"--ws_ping_interval_s=1"};
    return options;
  }
};

TEST_F(WebSocketPingTest, SilentClientIsPinged) {
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 1));
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(WsFrame ping, ws.ReadFrame(absl::Seconds(3)));
  EXPECT_EQ(ping.opcode, kWsPing) << ping.DebugString();
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(2500));
}

TEST_F(WebSocketPingTest, ClientThatAnswersStaysConnected) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  // ReadLine answers every ping; nothing else comes for 4.5 s.
  absl::StatusOr<std::string> got = ws.ReadLine(absl::Milliseconds(4500));
  EXPECT_TRUE(absl::IsDeadlineExceeded(got.status())) << got.status();
  ASSERT_OK(ws.SendText("still here"));
  EXPECT_EQ(line.NextLine(), "wes: still here");
  ASSERT_OK(ws.SendText("/who"));
  EXPECT_EQ(ws.NextLine(), "* online in room: liz, wes");
}

TEST_F(WebSocketPingTest, ClientThatDoesNotAnswerIsClosed1001) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  ws.set_auto_pong(false);
  const absl::Time start = absl::Now();
  EXPECT_OK(ws.ExpectClose(1001, absl::Seconds(6)));
  EXPECT_LE(absl::Now() - start, absl::Seconds(4));
  EXPECT_EQ(line.NextLine(), "* wes has left");
}

// ---------------------------------------------------------------------------
// 5. Limits.

class WebSocketSlowReaderTest : public WebSocketTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.max_output_bytes = 65536;
    return options;
  }
};

TEST_F(WebSocketSlowReaderTest, WebSocketReaderThatNeverReadsIsDropped) {
  constexpr int kMessages = 20000;
  // The stalled reader first, then a line sender, a line reader and a
  // WebSocket reader, on four workers.
  ASSERT_OK_AND_ASSIGN(WsClient stalled, WsJoin("room", "stalled", 1));
  ASSERT_OK(stalled.tcp().SetReceiveBuffer(4096));
  ASSERT_NO_FATAL_FAILURE(
      JoinAll({{"sender", false}, {"lreader", false}, {"wreader", true}}, 1));
  Member &sender = *members_[0];
  ASSERT_OK_AND_ASSIGN(const int fds_before, server().OpenFdCount());
  std::string padding(900, 'f');
  // In batches of about 28 KB, each sent once the live readers have the
  // one before: they read all the time but are not faster than the sender,
  // and must stay under the 64 KB limit; the stalled one falls behind.
  std::string batch;
  for (int seq = 0; seq < kMessages; ++seq) {
    absl::StrAppend(&batch, "flood ", seq, " ", padding, "\n");
    if ((seq + 1) % 30 == 0 || seq == kMessages - 1) {
      ASSERT_OK(sender.line.SendRaw(batch, kDeliveryTimeout));
      batch.clear();
      for (int r = 1; r <= 2; ++r) {
        // Recorders start after the welcome: lreader has seen wreader's
        // join, wreader nothing; "* stalled has left" only adds slack.
        Member &reader = *members_[r];
        const size_t joins = r == 1 ? 1 : 0;
        const size_t want = joins + static_cast<size_t>(seq + 1);
        ASSERT_OK(reader.WaitForCount(want, kDeliveryTimeout))
            << " at " << reader.Describe() << " after " << seq + 1;
      }
    }
  }
  for (int seq = 0; seq < kMessages; ++seq) {
    ExpectDelivered(sender, absl::StrCat("flood ", seq, " ", padding));
  }
  // Everybody but the stalled one hears it leave, somewhere in the flood.
  for (auto &member : members_) {
    EXPECT_OK(member->WaitForLine("* stalled has left", kDeliveryTimeout))
        << " at " << member->Describe();
    member->expected["stalled"] = {kLeft};
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  // The server has closed the stalled reader's socket (within its 2 s
  // drain limit): its open descriptors go down by one. Reading the socket
  // to its end is no test of that: the kernel still holds up to megabytes
  // for it, and after a long zero window it trickles them out slowly.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<int> fds = server().OpenFdCount();
  while (fds.ok() && *fds > fds_before - 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    fds = server().OpenFdCount();
  }
  ASSERT_OK(fds);
  EXPECT_EQ(*fds, fds_before - 1) << "the stalled reader's socket is open";
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.back()));
}

class WebSocketThrottleTest : public WebSocketTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.max_msgs_per_sec = 20;
    options.max_burst = 5;
    return options;
  }
};

TEST_F(WebSocketThrottleTest, BurstIsDelayedNeverRefused) {
  constexpr int kLines = 40;
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  std::string burst;
  for (int i = 0; i < kLines; ++i) {
    absl::StrAppend(&burst, EncodeWsFrame(kWsText, absl::StrCat("paste ", i)));
  }
  const absl::Time start = absl::Now();
  ASSERT_OK(ws.SendRaw(burst));
  for (int i = 0; i < kLines; ++i) {
    ASSERT_EQ(line.NextLine(absl::Seconds(20)), absl::StrCat("wes: paste ", i));
  }
  // (40 - 5) / 20 = 1.75 s of refill at least; 80% for clock slack.
  EXPECT_GE(absl::Now() - start, absl::Seconds(0.8 * (kLines - 5) / 20.0));
  // No ERROR and no close reached the WebSocket member; it is still in.
  absl::StatusOr<std::string> nothing = ws.ReadLine(absl::Milliseconds(200));
  EXPECT_TRUE(absl::IsDeadlineExceeded(nothing.status())) << nothing.status();
  ASSERT_OK(ws.SendText("/who"));
  EXPECT_EQ(ws.NextLine(), "* online in room: liz, wes");
}

// ---------------------------------------------------------------------------
// 6. Shutdown.

TEST_F(WebSocketTest, ShutdownSaysSoAndCloses1001) {
  ASSERT_OK_AND_ASSIGN(ChatClient line, Join("room", "liz", 1));
  ASSERT_OK_AND_ASSIGN(WsClient ws, WsJoin("room", "wes", 2));
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  WsClient idle;  // Upgraded but not joined.
  ASSERT_OK(idle.Connect(http_port()));
  ASSERT_OK_AND_ASSIGN(int code, StopServer(SIGTERM));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(ws.NextLine(), "* server shutting down");
  EXPECT_OK(ws.ExpectClose(1001));
  EXPECT_EQ(line.NextLine(), "* server shutting down");
  EXPECT_OK(line.ExpectClosed());
  EXPECT_EQ(idle.NextLine(), "* server shutting down");
  EXPECT_OK(idle.ExpectClose(1001));
}

// ---------------------------------------------------------------------------
// 7. Handshake refusals, over raw TCP.

// Sends `request` to the HTTP port and returns everything up to the
// server's close (or the 101 head).
absl::StatusOr<std::string> RawExchange(int port, const std::string &request) {
  ChatClient tcp;
  absl::Status status = tcp.Connect(port);
  if (!status.ok()) return status;
  status = tcp.SendRaw(request);
  if (!status.ok()) return status;
  std::string response;
  while (true) {
    absl::StatusOr<std::string> line = tcp.ReadLine(absl::Seconds(5));
    if (!line.ok()) {
      if (absl::IsUnavailable(line.status())) return response;  // Closed.
      if (absl::StartsWith(response, "HTTP/1.1 101 ") &&
          absl::StrContains(response, "\r\n\r\n")) {
        return response;  // Upgraded: the connection stays open.
      }
      return absl::Status(
          line.status().code(),
          absl::StrCat(line.status().message(), " after \"", response, "\""));
    }
    absl::StrAppend(&response, *line, "\n");
    if (*line == "\r" && absl::StartsWith(response, "HTTP/1.1 101 ")) {
      return response;  // Upgraded: the connection stays open.
    }
  }
}

std::string UpgradeRequest(int port, const std::string &extra) {
  return absl::StrCat("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:", port,
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                      extra, "\r\n");
}

TEST_F(WebSocketTest, WrongVersionIs426NamingVersion13) {
  ASSERT_OK_AND_ASSIGN(
      std::string response,
      RawExchange(http_port(),
                  UpgradeRequest(http_port(), "Sec-WebSocket-Version: 8\r\n")));
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 426 ")) << response;
  EXPECT_TRUE(absl::StrContains(response, "\r\nSec-WebSocket-Version: 13\r\n"))
      << response;
  ASSERT_OK_AND_ASSIGN(
      response, RawExchange(http_port(), UpgradeRequest(http_port(), "")));
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 426 ")) << response;
}

TEST_F(WebSocketTest, ForeignOriginIs403AndSameOriginIs101) {
  ASSERT_OK_AND_ASSIGN(
      std::string response,
      RawExchange(http_port(),
                  UpgradeRequest(http_port(),
                                 "Sec-WebSocket-Version: 13\r\n"
                                 "Origin: http://evil.example\r\n")));
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 403 ")) << response;
  ASSERT_OK_AND_ASSIGN(
      response,
      RawExchange(http_port(),
                  UpgradeRequest(http_port(),
                                 absl::StrCat("Sec-WebSocket-Version: 13\r\n"
                                              "Origin: http://127.0.0.1:",
                                              http_port(), "\r\n"))));
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 101 ")) << response;
  // The RFC's sample key.
  EXPECT_TRUE(absl::StrContains(
      response, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
      << response;
  // And through WsClient, which also checks the accept key.
  WsClient ws;
  EXPECT_OK(
      ws.Connect(http_port(), "/ws",
                 {{"Origin", absl::StrCat("http://127.0.0.1:", http_port())}}));
  WsClient evil;
  absl::Status refused =
      evil.Connect(http_port(), "/ws", {{"Origin", "http://evil.example"}});
  EXPECT_TRUE(absl::StrContains(refused.message(), "403")) << refused;
}

TEST_F(WebSocketTest, SubprotocolIsEchoedOnlyWhenOffered) {
  WsClient offered;
  ASSERT_OK(offered.Connect(http_port(), "/ws", {}, "chatd.line"));
  EXPECT_EQ(offered.ResponseHeader("Sec-WebSocket-Protocol"), "chatd.line")
      << offered.handshake_response();
  WsClient among;
  ASSERT_OK(among.Connect(http_port(), "/ws", {}, "foo, chatd.line"));
  EXPECT_EQ(among.ResponseHeader("Sec-WebSocket-Protocol"), "chatd.line")
      << among.handshake_response();
  WsClient none;
  ASSERT_OK(none.Connect(http_port()));
  EXPECT_FALSE(
      absl::StrContains(absl::AsciiStrToLower(none.handshake_response()),
                        "sec-websocket-protocol"))
      << none.handshake_response();
  WsClient other;
  ASSERT_OK(other.Connect(http_port(), "/ws", {}, "foo"));
  EXPECT_EQ(other.ResponseHeader("Sec-WebSocket-Protocol"), "")
      << other.handshake_response();
  // Upgraded with the subprotocol, the connection speaks the chat.
  ASSERT_OK(offered.SendText("JOIN room wes"));
  EXPECT_EQ(offered.NextLine(), "* you joined room as wes (1 online)");
}

class WebSocketOriginListTest : public WebSocketTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.extra_flags = {"--ws_allowed_origins=http://good.example"};
    return options;
  }
};

TEST_F(WebSocketOriginListTest, OnlyListedOriginsAreAllowed) {
  WsClient good;
  EXPECT_OK(
      good.Connect(http_port(), "/ws", {{"Origin", "http://good.example"}}));
  ASSERT_OK_AND_ASSIGN(
      std::string response,
      RawExchange(http_port(),
                  UpgradeRequest(http_port(),
                                 "Sec-WebSocket-Version: 13\r\n"
                                 "Origin: http://evil.example\r\n")));
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 403 ")) << response;
  WsClient evil;
  absl::Status refused =
      evil.Connect(http_port(), "/ws", {{"Origin", "http://evil.example"}});
  EXPECT_TRUE(absl::StrContains(refused.message(), "403")) << refused;
  // No Origin: not a browser page, allowed.
  WsClient tool;
  EXPECT_OK(tool.Connect(http_port()));
}

}  // namespace
}  // namespace chatd_test
