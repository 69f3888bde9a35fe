#include "net/http_request_parser.h"

#include <cstddef>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace chatd {
namespace {

using Status = HttpRequestParser::Status;

constexpr absl::string_view kSimpleGet =
    "GET /rooms/lobby?since=42 HTTP/1.1\r\n"
    "Host: chat.example\r\n"
    "X-Padded:   spaced out  \r\n"
    "Accept: */*\r\n"
    "\r\n";

// Feeds `input` in chunks of `step` bytes, re-feeding what a kRequest left
// unconsumed, until the first kRequest or kError. Returns that status (or
// kNeedMore) and sets `*used` to the bytes of `input` consumed.
Status FeedInChunks(HttpRequestParser* parser, absl::string_view input,
                    size_t step, size_t* used) {
  *used = 0;
  while (*used < input.size()) {
    const absl::string_view chunk = input.substr(*used, step);
    size_t consumed = 0;
    const Status status = parser->Parse(chunk, &consumed);
    EXPECT_LE(consumed, chunk.size());
    *used += consumed;
    if (status != Status::kNeedMore) return status;
    EXPECT_EQ(consumed, chunk.size());
  }
  return Status::kNeedMore;
}

TEST(HttpRequestParserTest, SimpleGet) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(kSimpleGet, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, kSimpleGet.size());
  const HttpRequest& request = parser.request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/rooms/lobby?since=42");
  EXPECT_EQ(request.path(), "/rooms/lobby");
  ASSERT_EQ(request.headers.size(), 3u);
  EXPECT_EQ(request.headers[0].first, "host");
  EXPECT_EQ(request.headers[1].first, "x-padded");
  EXPECT_EQ(request.headers[2].first, "accept");
  EXPECT_EQ(request.Header("host"), "chat.example");
  EXPECT_EQ(request.Header("x-padded"), "spaced out");
  EXPECT_EQ(request.Header("accept"), "*/*");
  EXPECT_EQ(request.Header("missing"), "");
  EXPECT_TRUE(request.HasHeader("host"));
  EXPECT_TRUE(request.HasHeader("x-padded"));
  EXPECT_FALSE(request.HasHeader("Host"));  // Names are looked up lower-case.
  EXPECT_FALSE(request.HasHeader("missing"));
  EXPECT_TRUE(request.keep_alive);
  EXPECT_FALSE(request.upgrade);
}

TEST(HttpRequestParserTest, PathWithoutQuery) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse("GET /plain HTTP/1.1\r\n\r\n", &consumed),
            Status::kRequest);
  EXPECT_EQ(parser.request().target, "/plain");
  EXPECT_EQ(parser.request().path(), "/plain");
  EXPECT_TRUE(parser.request().headers.empty());
}

TEST(HttpRequestParserTest, MixedCaseHeaderNamesAreLowerCased) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse("GET / HTTP/1.1\r\nHOST: a\r\nX-Mixed-CASE: B\r\n\r\n",
                         &consumed),
            Status::kRequest);
  ASSERT_EQ(parser.request().headers.size(), 2u);
  EXPECT_EQ(parser.request().headers[0].first, "host");
  EXPECT_EQ(parser.request().headers[1].first, "x-mixed-case");
  EXPECT_EQ(parser.request().Header("x-mixed-case"), "B");  // Value as sent.
}

TEST(HttpRequestParserTest, EmptyHeaderValue) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse("GET / HTTP/1.1\r\nX-Empty:\r\nX-Next: 1\r\n\r\n",
                         &consumed),
            Status::kRequest);
  ASSERT_EQ(parser.request().headers.size(), 2u);
  EXPECT_EQ(parser.request().headers[0].first, "x-empty");
  EXPECT_EQ(parser.request().headers[0].second, "");
  EXPECT_TRUE(parser.request().HasHeader("x-empty"));
  EXPECT_EQ(parser.request().headers[1].first, "x-next");
  EXPECT_EQ(parser.request().Header("x-next"), "1");
}

TEST(HttpRequestParserTest, KeepAlive) {
  struct Case {
    absl::string_view input;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nHost: a\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    HttpRequestParser parser;
    size_t consumed = 0;
    ASSERT_EQ(parser.Parse(c.input, &consumed), Status::kRequest);
    EXPECT_EQ(consumed, c.input.size());
    EXPECT_EQ(parser.request().keep_alive, c.keep_alive);
  }
}

TEST(HttpRequestParserTest, Head) {
  HttpRequestParser parser;
  size_t consumed = 0;
  constexpr absl::string_view kHead = "HEAD /index.html HTTP/1.1\r\n\r\n";
  ASSERT_EQ(parser.Parse(kHead, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, kHead.size());
  EXPECT_EQ(parser.request().method, "HEAD");
  EXPECT_EQ(parser.request().target, "/index.html");
}

TEST(HttpRequestParserTest, PostBodyIsDiscardedAndNextRequestParsed) {
  const std::string first =
      "POST /send HTTP/1.1\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Length: 11\r\n"
      "\r\n"
      "hello world";
  const std::string second = "GET /after HTTP/1.1\r\n\r\n";
  const std::string input = first + second;
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, first.size());
  EXPECT_EQ(parser.request().method, "POST");
  EXPECT_EQ(parser.request().target, "/send");
  EXPECT_EQ(parser.request().Header("content-length"), "11");
  EXPECT_TRUE(parser.request().keep_alive);

  size_t second_consumed = 0;
  ASSERT_EQ(
      parser.Parse(absl::string_view(input).substr(consumed), &second_consumed),
      Status::kRequest);
  EXPECT_EQ(second_consumed, second.size());
  EXPECT_EQ(parser.request().method, "GET");
  EXPECT_EQ(parser.request().target, "/after");
  EXPECT_FALSE(parser.request().HasHeader("content-length"));
}

TEST(HttpRequestParserTest, PostWithoutBodyYetNeedsMore) {
  HttpRequestParser parser;
  size_t consumed = 0;
  constexpr absl::string_view kHead =
      "POST /send HTTP/1.1\r\nContent-Length: 5\r\n\r\nab";
  EXPECT_EQ(parser.Parse(kHead, &consumed), Status::kNeedMore);
  EXPECT_EQ(consumed, kHead.size());
  ASSERT_EQ(parser.Parse("cde", &consumed), Status::kRequest);
  EXPECT_EQ(consumed, 3u);
  EXPECT_EQ(parser.request().method, "POST");
}

TEST(HttpRequestParserTest, ChunkedBody) {
  const std::string first =
      "POST /up HTTP/1.1\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n"
      "5\r\nhello\r\n"
      "6\r\n world\r\n"
      "0\r\n\r\n";
  const std::string input = first + "GET /next HTTP/1.1\r\n\r\n";
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, first.size());
  EXPECT_EQ(parser.request().target, "/up");
  ASSERT_EQ(parser.Parse(absl::string_view(input).substr(consumed), &consumed),
            Status::kRequest);
  EXPECT_EQ(parser.request().target, "/next");
}

TEST(HttpRequestParserTest, PipelinedRequests) {
  const std::string first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string second = "GET /two HTTP/1.1\r\nHost: b\r\n\r\n";
  const std::string input = first + second;
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, first.size());
  EXPECT_EQ(parser.request().target, "/one");
  EXPECT_EQ(parser.request().Header("host"), "a");

  const absl::string_view rest = absl::string_view(input).substr(consumed);
  ASSERT_EQ(parser.Parse(rest, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, second.size());
  EXPECT_EQ(parser.request().target, "/two");
  EXPECT_EQ(parser.request().Header("host"), "b");
  ASSERT_EQ(parser.request().headers.size(), 1u);

  // Nothing is left over; the parser waits for a third request.
  EXPECT_EQ(parser.Parse("", &consumed), Status::kNeedMore);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parser.Parse("GET /thr", &consumed), Status::kNeedMore);
  EXPECT_EQ(consumed, 8u);
  ASSERT_EQ(parser.Parse("ee HTTP/1.1\r\n\r\n", &consumed), Status::kRequest);
  EXPECT_EQ(parser.request().target, "/three");
}

TEST(HttpRequestParserTest, OneByteChunks) {
  HttpRequestParser parser;
  size_t used = 0;
  ASSERT_EQ(FeedInChunks(&parser, kSimpleGet, 1, &used), Status::kRequest);
  EXPECT_EQ(used, kSimpleGet.size());
  const HttpRequest& request = parser.request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/rooms/lobby?since=42");
  ASSERT_EQ(request.headers.size(), 3u);
  EXPECT_EQ(request.headers[0].first, "host");
  EXPECT_EQ(request.headers[0].second, "chat.example");
  EXPECT_EQ(request.headers[1].first, "x-padded");
  EXPECT_EQ(request.Header("x-padded"), "spaced out");
  EXPECT_EQ(request.headers[2].first, "accept");
  EXPECT_TRUE(request.keep_alive);
}

TEST(HttpRequestParserTest, PipelinedInOneByteChunks) {
  const std::string input =
      "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
      "GET /b HTTP/1.1\r\n\r\n";
  HttpRequestParser parser;
  size_t used = 0;
  ASSERT_EQ(FeedInChunks(&parser, input, 1, &used), Status::kRequest);
  EXPECT_EQ(parser.request().target, "/a");
  size_t more = 0;
  ASSERT_EQ(
      FeedInChunks(&parser, absl::string_view(input).substr(used), 1, &more),
      Status::kRequest);
  EXPECT_EQ(parser.request().target, "/b");
  EXPECT_EQ(used + more, input.size());
}

TEST(HttpRequestParserTest, WebSocketUpgrade) {
  const std::string head =
      "GET /ws?room=lobby HTTP/1.1\r\n"
      "Host: chat.example\r\n"
      "Upgrade: websocket\r\n"
      "Connection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n"
      "\r\n";
  const std::string frame = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  const std::string input = head + frame;
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, head.size());
  EXPECT_EQ(absl::string_view(input).substr(consumed), frame);
  const HttpRequest& request = parser.request();
  EXPECT_TRUE(request.upgrade);
  EXPECT_EQ(request.path(), "/ws");
  EXPECT_TRUE(request.HeaderHasToken("upgrade", "websocket"));
  EXPECT_TRUE(request.HeaderHasToken("connection", "upgrade"));
  EXPECT_EQ(request.Header("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(request.Header("sec-websocket-version"), "13");
}

TEST(HttpRequestParserTest, WebSocketUpgradeInOneByteChunks) {
  const std::string head =
      "GET /ws HTTP/1.1\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "\r\n";
  const std::string input = head + "\x81\x80\x01\x02\x03\x04";
  HttpRequestParser parser;
  size_t used = 0;
  ASSERT_EQ(FeedInChunks(&parser, input, 1, &used), Status::kRequest);
  EXPECT_EQ(used, head.size());
  EXPECT_TRUE(parser.request().upgrade);
}

TEST(HttpRequestParserTest, UpgradeHeaderWithoutConnectionUpgrade) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(
      parser.Parse("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", &consumed),
      Status::kRequest);
  EXPECT_FALSE(parser.request().upgrade);
}

TEST(HttpRequestParserTest, HeaderHasToken) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse("GET / HTTP/1.1\r\n"
                         "Connection: keep-alive,  UPGRADE ,x\r\n"
                         "Accept-Encoding: gzip\r\n"
                         "accept-encoding: br, Deflate\r\n"
                         "X-Words: upgrades\r\n"
                         "\r\n",
                         &consumed),
            Status::kRequest);
  const HttpRequest& request = parser.request();
  EXPECT_TRUE(request.HeaderHasToken("connection", "keep-alive"));
  EXPECT_TRUE(request.HeaderHasToken("connection", "upgrade"));
  EXPECT_TRUE(request.HeaderHasToken("connection", "Upgrade"));
  EXPECT_TRUE(request.HeaderHasToken("connection", "x"));
  EXPECT_FALSE(request.HeaderHasToken("connection", "close"));
  EXPECT_FALSE(request.HeaderHasToken("connection", "keep"));
  // Across repeated headers.
  EXPECT_TRUE(request.HeaderHasToken("accept-encoding", "gzip"));
  EXPECT_TRUE(request.HeaderHasToken("accept-encoding", "br"));
  EXPECT_TRUE(request.HeaderHasToken("accept-encoding", "deflate"));
  EXPECT_FALSE(request.HeaderHasToken("accept-encoding", "zstd"));
  // Whole tokens only.
  EXPECT_FALSE(request.HeaderHasToken("x-words", "upgrade"));
  EXPECT_FALSE(request.HeaderHasToken("missing", "upgrade"));
  // The first value only for Header().
  EXPECT_EQ(request.Header("accept-encoding"), "gzip");
}

std::string OversizedHeaderRequest() {
  return absl::StrCat("GET / HTTP/1.1\r\nX-Big: ",
                      std::string(HttpRequestParser::kMaxHeaderBytes, 'a'),
                      "\r\n\r\n");
}

TEST(HttpRequestParserTest, HeaderAtLimitIsAccepted) {
  // Target "/" (1) + "x-big" (5) + value: exactly the limit.
  const std::string input = absl::StrCat(
      "GET / HTTP/1.1\r\nX-Big: ",
      std::string(HttpRequestParser::kMaxHeaderBytes - 6, 'a'), "\r\n\r\n");
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, input.size());
  EXPECT_EQ(parser.request().Header("x-big").size(),
            HttpRequestParser::kMaxHeaderBytes - 6);
}

TEST(HttpRequestParserTest, HeaderOverLimitIs431) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(OversizedHeaderRequest(), &consumed), Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
  EXPECT_FALSE(parser.error_reason().empty());
}

TEST(HttpRequestParserTest, ManyHeadersOverLimitIs431) {
  std::string input = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 1000; ++i) {
    absl::StrAppend(&input, "X-Header-", i, ": some value\r\n");
  }
  input += "\r\n";
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(HttpRequestParserTest, LongTargetIs431) {
  const std::string input = absl::StrCat(
      "GET /", std::string(HttpRequestParser::kMaxHeaderBytes, 'p'),
      " HTTP/1.1\r\n\r\n");
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(HttpRequestParserTest, HeaderOverLimitInSmallChunksIs431) {
  for (size_t step : {1, 7, 100, 4096}) {
    SCOPED_TRACE(step);
    HttpRequestParser parser;
    size_t used = 0;
    ASSERT_EQ(FeedInChunks(&parser, OversizedHeaderRequest(), step, &used),
              Status::kError);
    EXPECT_EQ(parser.error_status(), 431);
  }
}

TEST(HttpRequestParserTest, HeaderOverLimitThenBadByteIs431HoweverCut) {
  // The limit is passed before llhttp reaches the bad byte: 431 whether the
  // value arrives whole (one span) or in pieces (a span per piece).
  const std::string input = absl::StrCat(
      "GET / HTTP/1.1\r\nX-Big: ",
      std::string(HttpRequestParser::kMaxHeaderBytes + 8, 'a'), "\x01\r\n\r\n");
  for (size_t step : {size_t{1}, size_t{32}, size_t{5000}, input.size()}) {
    SCOPED_TRACE(step);
    HttpRequestParser parser;
    size_t used = 0;
    ASSERT_EQ(FeedInChunks(&parser, input, step, &used), Status::kError);
    EXPECT_EQ(parser.error_status(), 431);
  }
}

TEST(HttpRequestParserTest, LongTargetThenBadByteIs431HoweverCut) {
  const std::string input = absl::StrCat(
      "GET /", std::string(HttpRequestParser::kMaxHeaderBytes + 8, 'p'),
      "\x01 HTTP/1.1\r\n\r\n");
  for (size_t step : {size_t{1}, size_t{32}, input.size()}) {
    SCOPED_TRACE(step);
    HttpRequestParser parser;
    size_t used = 0;
    ASSERT_EQ(FeedInChunks(&parser, input, step, &used), Status::kError);
    EXPECT_EQ(parser.error_status(), 431);
  }
}

TEST(HttpRequestParserTest, SecondPipelinedHeadOverLimitIs431) {
  const std::string first = "GET /one HTTP/1.1\r\n\r\n";
  const std::string input = absl::StrCat(
      first, "GET /two HTTP/1.1\r\nX-Big: ",
      std::string(HttpRequestParser::kMaxHeaderBytes + 8, 'a'), "\x01\r\n\r\n");
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, first.size());
  ASSERT_EQ(parser.Parse(absl::string_view(input).substr(consumed), &consumed),
            Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(HttpRequestParserTest, HeaderOverLimitWithoutEndIs431) {
  // The client never finishes the header: the parser must not wait.
  const std::string input =
      absl::StrCat("GET / HTTP/1.1\r\nX-Big: ",
                   std::string(HttpRequestParser::kMaxHeaderBytes, 'a'));
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(HttpRequestParserTest, LimitIsPerRequest) {
  // Two requests, each with most of the limit: neither alone is too large.
  const std::string one = absl::StrCat(
      "GET / HTTP/1.1\r\nX-Big: ",
      std::string(HttpRequestParser::kMaxHeaderBytes - 100, 'a'), "\r\n\r\n");
  const std::string input = one + one;
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, one.size());
  ASSERT_EQ(parser.Parse(absl::string_view(input).substr(consumed), &consumed),
            Status::kRequest);
  EXPECT_EQ(consumed, one.size());
}

TEST(HttpRequestParserTest, BodyOverLimitIs413) {
  const size_t n = HttpRequestParser::kMaxBodyBytes + 1;
  const std::string input =
      absl::StrCat("POST / HTTP/1.1\r\nContent-Length: ", n, "\r\n\r\n",
                   std::string(n, 'b'));
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kError);
  EXPECT_EQ(parser.error_status(), 413);
}

TEST(HttpRequestParserTest, BodyAtLimitIsAccepted) {
  const size_t n = HttpRequestParser::kMaxBodyBytes;
  const std::string input =
      absl::StrCat("POST / HTTP/1.1\r\nContent-Length: ", n, "\r\n\r\n",
                   std::string(n, 'b'));
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, input.size());
}

TEST(HttpRequestParserTest, ChunkedBodyOverLimitIs413) {
  std::string input = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 9; ++i) {
    absl::StrAppend(&input, "400\r\n", std::string(1024, 'c'), "\r\n");
  }
  input += "0\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{100}, input.size()}) {
    SCOPED_TRACE(step);
    HttpRequestParser parser;
    size_t used = 0;
    ASSERT_EQ(FeedInChunks(&parser, input, step, &used), Status::kError);
    EXPECT_EQ(parser.error_status(), 413);
  }
}

TEST(HttpRequestParserTest, GarbageIs400) {
  for (absl::string_view garbage :
       {"JOIN g n\n", "hello\r\n\r\n", "\x16\x03\x01\x02\x00",
        "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
    SCOPED_TRACE(garbage);
    HttpRequestParser parser;
    size_t consumed = 0;
    ASSERT_EQ(parser.Parse(garbage, &consumed), Status::kError);
    EXPECT_EQ(parser.error_status(), 400);
    EXPECT_FALSE(parser.error_reason().empty());
  }
}

TEST(HttpRequestParserTest, BadHeaderLineIs400) {
  HttpRequestParser parser;
  size_t consumed = 0;
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\n", &consumed), Status::kNeedMore);
  EXPECT_EQ(consumed, 16u);
  ASSERT_EQ(parser.Parse("this is not a header\r\n\r\n", &consumed),
            Status::kError);
  EXPECT_EQ(parser.error_status(), 400);
}

TEST(HttpRequestParserTest, ErrorIsSticky) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse("JOIN g n\n", &consumed), Status::kError);
  EXPECT_EQ(parser.error_status(), 400);
  consumed = 99;
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\n\r\n", &consumed), Status::kError);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parser.Parse("", &consumed), Status::kError);
  EXPECT_EQ(parser.error_status(), 400);
}

TEST(HttpRequestParserTest, ErrorIsStickyAfter431) {
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(OversizedHeaderRequest(), &consumed), Status::kError);
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\n\r\n", &consumed), Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(HttpRequestParserTest, DataAfterConnectionCloseIsIgnored) {
  // llhttp is built in loose mode: after a request without keep-alive it
  // swallows whatever follows. The connection closes after answering anyway.
  const std::string first = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
  const std::string input = first + "GET /again HTTP/1.1\r\n\r\n";
  HttpRequestParser parser;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed), Status::kRequest);
  EXPECT_EQ(consumed, first.size());
  EXPECT_FALSE(parser.request().keep_alive);
  const absl::string_view rest = absl::string_view(input).substr(consumed);
  EXPECT_EQ(parser.Parse(rest, &consumed), Status::kNeedMore);
  EXPECT_EQ(consumed, rest.size());
}

}  // namespace
}  // namespace chatd
