// Tests for loadgen's client-side WebSocket: the upgrade request and the
// check of the 101 answer, masked client frames, server frames parsed from
// data cut anywhere, and WebSocketSession carrying chatd (lines in TEXT
// messages) and NATS (a byte stream in BINARY frames).
#include "tools/loadgen/websocket_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/websocket_handshake.h"
#include "tools/loadgen/chatd_protocol.h"
#include "tools/loadgen/nats_protocol.h"
#include "tools/loadgen/protocol_test_util.h"
#include "tools/loadgen/websocket_session.h"

namespace chatd::loadgen {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The RFC 6455 section 1.3 example.
constexpr char kRfcKey[] = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr char kRfcAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// An unmasked server frame.
std::string ServerFrameBytes(WsOpcode opcode, absl::string_view payload,
                             bool fin = true) {
  std::string out;
  out.push_back(
      static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(opcode)));
  const size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(126);
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>(static_cast<uint64_t>(n) >> shift));
    }
  }
  out.append(payload.data(), payload.size());
  return out;
}

// Decodes the masked client frames in `bytes` as "<opcode> <payload>"
// ("text", "binary", "pong", ...), or "bad frame" at the first one that is
// not a whole, FIN, masked frame.
std::vector<std::string> DecodeClientFrames(absl::string_view bytes) {
  std::vector<std::string> out;
  while (!bytes.empty()) {
    if (bytes.size() < 2) return {"bad frame"};
    const uint8_t b0 = static_cast<uint8_t>(bytes[0]);
    const uint8_t b1 = static_cast<uint8_t>(bytes[1]);
    if ((b0 & 0xF0) != 0x80 || (b1 & 0x80) == 0) return {"bad frame"};
    uint64_t n = b1 & 0x7F;
    size_t pos = 2;
    if (n == 126) {
      n = (static_cast<uint8_t>(bytes[2]) << 8) |
          static_cast<uint8_t>(bytes[3]);
      pos = 4;
    } else if (n == 127) {
      n = 0;
      for (int i = 2; i < 10; ++i)
        n = (n << 8) | static_cast<uint8_t>(bytes[i]);
      pos = 10;
    }
    if (bytes.size() < pos + 4 + n) return {"bad frame"};
    const absl::string_view key = bytes.substr(pos, 4);
    std::string payload(bytes.substr(pos + 4, n));
    for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= key[i % 4];
    const char* name = "?";
    switch (static_cast<WsOpcode>(b0 & 0x0F)) {
      case WsOpcode::kText:
        name = "text";
        break;
      case WsOpcode::kBinary:
        name = "binary";
        break;
      case WsOpcode::kPong:
        name = "pong";
        break;
      case WsOpcode::kPing:
        name = "ping";
        break;
      case WsOpcode::kClose:
        name = "close";
        break;
      case WsOpcode::kContinuation:
        name = "continuation";
        break;
    }
    out.push_back(absl::StrCat(name, " ", payload));
    bytes.remove_prefix(pos + 4 + n);
  }
  return out;
}

// Replaces each "send <frames>" event with the frames it holds, decoded.
std::vector<std::string> DecodeSends(const std::vector<std::string>& events) {
  std::vector<std::string> out;
  for (const std::string& e : events) {
    if (e.rfind("send ", 0) != 0) {
      out.push_back(e);
      continue;
    }
    for (const std::string& f :
         DecodeClientFrames(absl::string_view(e).substr(5))) {
      out.push_back("sent " + f);
    }
  }
  return out;
}

std::string UpgradeResponse(absl::string_view accept,
                            absl::string_view extra = "") {
  return absl::StrCat(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: ",
      accept, "\r\n", extra, "\r\n");
}

// ---- Handshake ----

TEST(WebSocketHandshakeTest, AcceptIsTheRfcExample) {
  EXPECT_EQ(::chatd::websocket::AcceptKey(kRfcKey), kRfcAccept);
}

TEST(WebSocketHandshakeTest, KeyIsBase64OfSixteenBytes) {
  const char nonce[] = "the sample nonce";
  uint8_t bytes[16];
  memcpy(bytes, nonce, 16);
  EXPECT_EQ(WebSocketKey(bytes), kRfcKey);
}

TEST(WebSocketHandshakeTest, RequestHasTheUpgradeHeaders) {
  EXPECT_EQ(BuildUpgradeRequest("127.0.0.1:8080", "/ws", kRfcKey, "chatd.line"),
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
            "Origin: http://127.0.0.1:8080\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
            "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: "
            "chatd.line\r\n\r\n");
  EXPECT_THAT(BuildUpgradeRequest("h:1", "/", kRfcKey, ""),
              Not(HasSubstr("Protocol")));
  // Under TLS the page a browser came from is an https one.
  EXPECT_THAT(BuildUpgradeRequest("h:1", "/", kRfcKey, "", "https"),
              HasSubstr("\r\nOrigin: https://h:1\r\n"));
}

TEST(WebSocketHandshakeTest, AcceptsA101AndSaysWhereFramesStart) {
  const std::string head = UpgradeResponse(kRfcAccept);
  const std::string data = head + "\x81\x02hi";
  size_t used = 0;
  std::string error;
  EXPECT_EQ(ParseUpgradeResponse(data, kRfcAccept, "", &used, &error),
            ParseStatus::kDone);
  EXPECT_EQ(used, head.size());
  for (size_t cut = 0; cut < head.size(); ++cut) {
    EXPECT_EQ(ParseUpgradeResponse(absl::string_view(data).substr(0, cut),
                                   kRfcAccept, "", &used, &error),
              ParseStatus::kNeedMore)
        << cut;
  }
}

TEST(WebSocketHandshakeTest, HeaderNamesAndTokensIgnoreCase) {
  const std::string head = absl::StrCat(
      "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, "
      "UPGRADE\r\nsec-websocket-accept:",
      kRfcAccept, "\r\nSec-WebSocket-Protocol: chatd.line\r\n\r\n");
  size_t used = 0;
  std::string error;
  EXPECT_EQ(ParseUpgradeResponse(head, kRfcAccept, "chatd.line", &used, &error),
            ParseStatus::kDone)
      << error;
  // The server may also pick no subprotocol.
  EXPECT_EQ(ParseUpgradeResponse(UpgradeResponse(kRfcAccept), kRfcAccept,
                                 "chatd.line", &used, &error),
            ParseStatus::kDone);
}

TEST(WebSocketHandshakeTest, RefusesWhatIsNotAnUpgrade) {
  struct Case {
    std::string response;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
       "upgrade refused: HTTP/1.1 404 Not Found"},
      {"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP response"},
      {UpgradeResponse("AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
       "wrong Sec-WebSocket-Accept"},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       "101 without Sec-WebSocket-Accept"},
      {absl::StrCat("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: ",
                    kRfcAccept, "\r\n\r\n"),
       "101 without Upgrade: websocket"},
      {UpgradeResponse(kRfcAccept, "Sec-WebSocket-Protocol: mqtt\r\n"),
       "unrequested subprotocol: mqtt"},
      {UpgradeResponse(kRfcAccept,
                       "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
       "unrequested extension"},
  };
  for (const Case& c : cases) {
    size_t used = 0;
    std::string error;
    EXPECT_EQ(ParseUpgradeResponse(c.response, kRfcAccept, "", &used, &error),
              ParseStatus::kBad)
        << c.response;
    EXPECT_THAT(error, HasSubstr(c.error)) << c.response;
  }
  size_t used = 0;
  std::string error;
  EXPECT_EQ(ParseUpgradeResponse(std::string(20000, 'x'), kRfcAccept, "", &used,
                                 &error),
            ParseStatus::kBad);
}

// ---- Client frames ----

TEST(WebSocketFrameTest, MaskedFrameHeadersForEveryLengthClass) {
  const uint32_t key = 0x04030201;  // bytes 01 02 03 04 in memory
  struct Case {
    size_t size;
    std::string header;  // Up to and including the mask key.
  };
  const std::vector<Case> cases = {
      {0, std::string("\x81\x80\x01\x02\x03\x04", 6)},
      {5, std::string("\x81\x85\x01\x02\x03\x04", 6)},
      {125, std::string("\x81\xFD\x01\x02\x03\x04", 6)},
      {126, std::string("\x81\xFE\x00\x7E\x01\x02\x03\x04", 8)},
      {65535, std::string("\x81\xFE\xFF\xFF\x01\x02\x03\x04", 8)},
      {65536, std::string("\x81\xFF\x00\x00\x00\x00\x00\x01\x00\x00"
                          "\x01\x02\x03\x04",
                          14)},
  };
  for (const Case& c : cases) {
    std::string payload(c.size, 'a');
    for (size_t i = 0; i < c.size; ++i) payload[i] = static_cast<char>(i * 7);
    std::string out = "prefix";
    AppendMaskedFrame(WsOpcode::kText, payload, key, &out);
    ASSERT_EQ(out.size(), 6 + c.header.size() + c.size) << c.size;
    EXPECT_EQ(out.substr(6, c.header.size()), c.header) << c.size;
    EXPECT_EQ(out.substr(0, 6), "prefix");
    EXPECT_THAT(DecodeClientFrames(absl::string_view(out).substr(6)),
                ElementsAre("text " + payload))
        << c.size;
  }
}

TEST(WebSocketFrameTest, MaskMatchesTheBytewiseDefinitionAtAnyAlignment) {
  const uint32_t key = 0xA1B2C3D4;
  char key_bytes[4];
  memcpy(key_bytes, &key, 4);
  std::string base(64, '\0');
  for (size_t i = 0; i < base.size(); ++i)
    base[i] = static_cast<char>(i * 31 + 5);
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t size = 0; size + offset <= base.size(); ++size) {
      std::string data = base;
      ApplyMask(&data[offset], size, key);
      for (size_t i = 0; i < base.size(); ++i) {
        const bool masked = i >= offset && i < offset + size;
        const char want =
            masked ? static_cast<char>(base[i] ^ key_bytes[(i - offset) % 4])
                   : base[i];
        ASSERT_EQ(data[i], want) << offset << " " << size << " " << i;
      }
      ApplyMask(&data[offset], size, key);
      ASSERT_EQ(data, base);
    }
  }
}

// ---- Server frames ----

TEST(WebSocketFrameTest, ParsesServerFramesOfEveryLengthClass) {
  for (size_t size : {0, 1, 125, 126, 65535, 65536, 100000}) {
    const std::string payload(size, 'z');
    const std::string bytes =
        ServerFrameBytes(WsOpcode::kBinary, payload) + "tail";
    ServerFrame frame;
    size_t used = 0;
    std::string error;
    ASSERT_EQ(ParseServerFrame(bytes, 1 << 20, &frame, &used, &error),
              ParseStatus::kDone)
        << size;
    EXPECT_EQ(used, bytes.size() - 4);
    EXPECT_EQ(frame.opcode, WsOpcode::kBinary);
    EXPECT_TRUE(frame.fin);
    EXPECT_EQ(frame.payload, payload);
    // Any prefix of the frame is not enough.
    for (size_t cut :
         {size_t{0}, size_t{1}, size_t{2}, size_t{3}, used / 2, used - 1}) {
      if (cut >= used) continue;
      EXPECT_EQ(ParseServerFrame(absl::string_view(bytes).substr(0, cut),
                                 1 << 20, &frame, &used, &error),
                ParseStatus::kNeedMore)
          << size << " " << cut;
      used = bytes.size() - 4;
    }
  }
}

TEST(WebSocketFrameTest, RefusesBadServerFrames) {
  struct Case {
    std::string bytes;
    std::string error;
  };
  const std::vector<Case> cases = {
      {std::string("\xC1\x00", 2), "reserved bits"},
      {std::string("\x83\x00", 2), "reserved opcode 3"},
      {std::string("\x8B\x00", 2), "reserved opcode 11"},
      {std::string("\x81\x81\x00\x00\x00\x00x", 7), "masked server frame"},
      {std::string("\x09\x00", 2), "fragmented or long control"},
      {ServerFrameBytes(WsOpcode::kPing, std::string(126, 'p')),
       "fragmented or long control"},
      {std::string("\x82\x7F\x80\x00\x00\x00\x00\x00\x00\x00", 10), "top bit"},
      {ServerFrameBytes(WsOpcode::kText, std::string(2000, 't')),
       "server frame of 2000 bytes"},
  };
  for (const Case& c : cases) {
    ServerFrame frame;
    size_t used = 0;
    std::string error;
    EXPECT_EQ(ParseServerFrame(c.bytes, 1000, &frame, &used, &error),
              ParseStatus::kBad)
        << c.error;
    EXPECT_THAT(error, HasSubstr(c.error));
  }
}

// ---- WebSocketSession ----

WebSocketOptions TestOptions(ProtocolKind kind) {
  WebSocketOptions options = *WebSocketOptionsFor(kind);
  options.host_port = "127.0.0.1:8080";
  options.path = "/ws";
  options.key = kRfcKey;
  options.mask_seed = 12345;
  return options;
}

SessionFactory ChatdOverWs() {
  return [] {
    return std::make_unique<WebSocketSession>(
        std::make_unique<ChatdSession>("g1", "c7"),
        TestOptions(ProtocolKind::kChatd));
  };
}

SessionFactory NatsOverWs() {
  return [] {
    return std::make_unique<WebSocketSession>(
        std::make_unique<NatsSession>("g1", "c7"),
        TestOptions(ProtocolKind::kNats));
  };
}

TEST(WebSocketSessionTest, OnlyChatdAndNatsHaveOptions) {
  EXPECT_TRUE(WebSocketOptionsFor(ProtocolKind::kChatd).has_value());
  EXPECT_TRUE(WebSocketOptionsFor(ProtocolKind::kNats).has_value());
  EXPECT_FALSE(WebSocketOptionsFor(ProtocolKind::kIrc).has_value());
  EXPECT_FALSE(WebSocketOptionsFor(ProtocolKind::kRedis).has_value());
}

TEST(WebSocketSessionTest, StartSendsTheUpgradeOnly) {
  std::unique_ptr<ProtocolSession> session = ChatdOverWs()();
  RecordingEvents events;
  session->Start(&events);
  EXPECT_THAT(events.events, ElementsAre("send " + BuildUpgradeRequest(
                                                       "127.0.0.1:8080", "/ws",
                                                       kRfcKey, "chatd.line")));
}

TEST(WebSocketSessionTest, ChatdLinesAreTextMessagesWithoutNewline) {
  std::unique_ptr<ProtocolSession> session = ChatdOverWs()();
  std::string out = "x";
  session->FrameMessage("m 1 2 3", &out);
  session->FrameMessage("m 1 3 4", &out);
  EXPECT_THAT(DecodeClientFrames(absl::string_view(out).substr(1)),
              ElementsAre("text m 1 2 3", "text m 1 3 4"));
  // A fresh random key per frame.
  EXPECT_NE(out.substr(3, 4), out.substr(3 + 4 + 7 + 2, 4));
}

TEST(WebSocketSessionTest, ChatdOverWsParsesAStreamCutAnywhere) {
  const std::string stream = absl::StrCat(
      UpgradeResponse(kRfcAccept, "Sec-WebSocket-Protocol: chatd.line\r\n"),
      ServerFrameBytes(WsOpcode::kText, "* you joined g1 as c7 (2 online)"),
      ServerFrameBytes(WsOpcode::kText, "* c8 has joined"),
      ServerFrameBytes(WsOpcode::kText, "c8: m 8 0 100"),
      // A message in three fragments with a ping between them.
      ServerFrameBytes(WsOpcode::kText, "c8: m ", false),
      ServerFrameBytes(WsOpcode::kContinuation, "8 1 ", false),
      ServerFrameBytes(WsOpcode::kPing, "pp"),
      ServerFrameBytes(WsOpcode::kContinuation, "200", true),
      ServerFrameBytes(WsOpcode::kPong, ""),
      ServerFrameBytes(WsOpcode::kText, "ERROR unknown command /x"),
      ServerFrameBytes(WsOpcode::kText, std::string(300, 'y')));
  EXPECT_THAT(DecodeSends(ExpectSameEventsAtEverySplit(ChatdOverWs(), stream)),
              ElementsAre("sent text JOIN g1 c7", "joined 2", "member-joined",
                          "message m 8 0 100", "sent pong pp",
                          "message m 8 1 200", "error ERROR unknown command /x",
                          "error unexpected line: " + std::string(300, 'y')));
}

TEST(WebSocketSessionTest, NatsOverWsIsAByteStreamInBinaryFrames) {
  std::unique_ptr<ProtocolSession> session = NatsOverWs()();
  std::string out;
  session->FrameMessage("m 1 2 3", &out);
  EXPECT_THAT(DecodeClientFrames(out),
              ElementsAre("binary PUB g1 7\r\nm 1 2 3\r\n"));

  // nats-server splits and coalesces protocol ops over frames.
  const std::string stream = absl::StrCat(
      UpgradeResponse(kRfcAccept),
      ServerFrameBytes(WsOpcode::kBinary, "INFO {\"server_id\":\"x\"}"),
      ServerFrameBytes(WsOpcode::kBinary, "\r\nPONG\r\nMSG g1 1 9\r\nm 9 "),
      ServerFrameBytes(WsOpcode::kBinary, "0 200\r\nPING\r\nMSG g1 1 9\r\n"),
      ServerFrameBytes(WsOpcode::kBinary, "m 9 1 300\r\n"));
  EXPECT_THAT(
      DecodeSends(ExpectSameEventsAtEverySplit(NatsOverWs(), stream)),
      ElementsAre("sent binary CONNECT {\"verbose\":false,\"pedantic\":false,"
                  "\"echo\":false,\"name\":\"c7\"}\r\nSUB g1 1\r\nPING\r\n",
                  "joined -1", "message m 9 0 200", "sent binary PONG\r\n",
                  "message m 9 1 300"));
}

TEST(WebSocketSessionTest, CloseFrameEndsTheSession) {
  const std::string stream = absl::StrCat(
      UpgradeResponse(kRfcAccept),
      ServerFrameBytes(WsOpcode::kText, "* you joined g1 as c7 (1 online)"),
      ServerFrameBytes(WsOpcode::kClose, "\x03\xE9going away"),
      ServerFrameBytes(WsOpcode::kText, "c8: m 8 0 1"));
  std::unique_ptr<ProtocolSession> session = ChatdOverWs()();
  RecordingEvents events;
  EXPECT_FALSE(session->Feed(stream, &events));
  EXPECT_THAT(DecodeSends(events.events),
              ElementsAre("sent text JOIN g1 c7", "joined 1"));
  EXPECT_EQ(session->FailureReason(),
            "server sent a close frame (code 1001, going away)");
}

TEST(WebSocketSessionTest, RefusedUpgradeAndBadFramesFail) {
  {
    std::unique_ptr<ProtocolSession> session = ChatdOverWs()();
    RecordingEvents events;
    EXPECT_FALSE(session->Feed("HTTP/1.1 404 Not Found\r\n\r\n", &events));
    EXPECT_TRUE(events.events.empty());
    EXPECT_EQ(session->FailureReason(),
              "upgrade refused: HTTP/1.1 404 Not Found");
  }
  {
    std::unique_ptr<ProtocolSession> session = ChatdOverWs()();
    RecordingEvents events;
    EXPECT_FALSE(
        session->Feed(UpgradeResponse(kRfcAccept) +
                          ServerFrameBytes(WsOpcode::kContinuation, "x"),
                      &events));
    EXPECT_EQ(session->FailureReason(), "continuation frame outside a message");
  }
  {
    std::unique_ptr<ProtocolSession> session = ChatdOverWs()();
    RecordingEvents events;
    EXPECT_FALSE(session->Feed(UpgradeResponse(kRfcAccept) +
                                   std::string("\x81\x81\x00\x00\x00\x00x", 7),
                               &events));
    EXPECT_EQ(session->FailureReason(), "masked server frame");
  }
}

}  // namespace
}  // namespace chatd::loadgen
