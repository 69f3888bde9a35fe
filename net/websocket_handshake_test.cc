#include "net/websocket_handshake.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "net/http_request_parser.h"

namespace chatd {
namespace websocket {
namespace {

HttpRequest Parse(const std::string& text) {
  HttpRequestParser parser;
  size_t consumed = 0;
  EXPECT_EQ(parser.Parse(text, &consumed), HttpRequestParser::Status::kRequest);
  return parser.request();
}

std::string Request(const std::string& extra) {
  return "GET /ws HTTP/1.1\r\nHost: chat.example:8080\r\n"
         "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
         extra + "\r\n";
}

TEST(AcceptKeyTest, MatchesTheRfcExample) {
  EXPECT_EQ(AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(HandshakeTest, AcceptsAndEchoesTheSubprotocol) {
  const Handshake h = AcceptHandshake(
      Parse(Request("Sec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Protocol: x, chatd.line\r\n")),
      OriginPolicy(""), "chatd.line");
  EXPECT_EQ(h.status, 101);
  EXPECT_TRUE(absl::StartsWith(h.response_headers,
                               "HTTP/1.1 101 Switching Protocols\r\n"));
  EXPECT_TRUE(absl::StrContains(
      h.response_headers,
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  EXPECT_TRUE(absl::StrContains(h.response_headers,
                                "Sec-WebSocket-Protocol: chatd.line\r\n"));
  EXPECT_TRUE(absl::EndsWith(h.response_headers, "\r\n\r\n"));
}

TEST(HandshakeTest, NoSubprotocolWhenNoneOffered) {
  const Handshake h =
      AcceptHandshake(Parse(Request("Sec-WebSocket-Version: 13\r\n")),
                      OriginPolicy(""), "chatd.line");
  EXPECT_EQ(h.status, 101);
  EXPECT_FALSE(absl::StrContains(h.response_headers, "Sec-WebSocket-Protocol"));
}

TEST(HandshakeTest, TokensAreCaseInsensitive) {
  const Handshake h = AcceptHandshake(
      Parse("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\n"
            "Connection: UPGRADE\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
      OriginPolicy(""), "chatd.line");
  EXPECT_EQ(h.status, 101);
}

TEST(HandshakeTest, WrongVersionIs426NamingThirteen) {
  const Handshake h = AcceptHandshake(
      Parse(Request("Sec-WebSocket-Version: 8\r\n")), OriginPolicy(""), "");
  EXPECT_EQ(h.status, 426);
  EXPECT_TRUE(
      absl::StrContains(h.response_headers, "Sec-WebSocket-Version: 13"));
}

TEST(HandshakeTest, NoUpgradeHeaderIs426) {
  const Handshake h = AcceptHandshake(
      Parse("GET /ws HTTP/1.1\r\nHost: h\r\n\r\n"), OriginPolicy(""), "");
  EXPECT_EQ(h.status, 426);
}

TEST(HandshakeTest, BadKeyIs400) {
  const Handshake h = AcceptHandshake(
      Parse("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: c2hvcnQ=\r\n\r\n"),
      OriginPolicy(""), "");
  EXPECT_EQ(h.status, 400);
}

TEST(HandshakeTest, SameHostOriginByDefault) {
  EXPECT_EQ(
      AcceptHandshake(Parse(Request("Sec-WebSocket-Version: 13\r\n"
                                    "Origin: http://chat.example:8080\r\n")),
                      OriginPolicy(""), "")
          .status,
      101);
  EXPECT_EQ(AcceptHandshake(Parse(Request("Sec-WebSocket-Version: 13\r\n"
                                          "Origin: http://evil.example\r\n")),
                            OriginPolicy(""), "")
                .status,
            403);
}

TEST(OriginPolicyTest, ListAndWildcard) {
  const OriginPolicy list("https://a.example, http://b.example:81/");
  EXPECT_TRUE(list.Allows("https://A.example", "x"));
  EXPECT_TRUE(list.Allows("http://b.example:81", "x"));
  EXPECT_FALSE(list.Allows("http://b.example", "b.example"));
  EXPECT_TRUE(list.Allows("", "x"));  // Not a browser page.
  EXPECT_TRUE(OriginPolicy("*").Allows("http://anything", "x"));
  const OriginPolicy same("");
  EXPECT_TRUE(same.Allows("http://localhost:8080", "LOCALHOST:8080"));
  EXPECT_FALSE(same.Allows("http://localhost:8081", "localhost:8080"));
  EXPECT_FALSE(same.Allows("null", "localhost:8080"));
}

}  // namespace
}  // namespace websocket
}  // namespace chatd
