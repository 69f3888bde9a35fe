// The HTTP port from outside: the page, /healthz, status codes for wrong
// paths and methods, keep-alive and pipelining, malformed and oversized
// requests, a client that trickles its headers (closed at the join timeout
// while chat on the line port goes on unhindered), each port refusing the
// other's protocol, and /healthz turning 503 during the shutdown grace.

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/chat_page.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/http_client.h"
#include "tests/status_macros.h"

namespace chatd_test {
namespace {

constexpr char kExpectedJoin[] = "ERROR expected JOIN <group> <name>";

class HttpTest : public ChatServerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.threads = 2;
    return options;
  }

  int http_port() { return server().http_port(); }

  absl::StatusOr<HttpClient> ConnectHttp() {
    HttpClient client;
    absl::Status status = client.Connect(http_port());
    if (!status.ok()) return status;
    return client;
  }
};

std::string Body(const HttpReply& reply) {
  return std::string(absl::StripTrailingAsciiWhitespace(reply.body));
}

TEST_F(HttpTest, GetRootServesTheEmbeddedPage) {
  ASSERT_OK_AND_ASSIGN(HttpReply reply, HttpGet(http_port(), "/"));
  EXPECT_EQ(reply.status, 200) << reply.status_line;
  EXPECT_TRUE(absl::StartsWith(reply.Header("content-type"), "text/html"))
      << reply.Header("content-type");
  EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(reply.body), "<html"));
  EXPECT_EQ(reply.Header("content-length"), absl::StrCat(reply.body.size()));
  EXPECT_TRUE(reply.body == chatd::ChatPageHtml())
      << "GET / is not server/web/index.html: " << reply.body.size()
      << " bytes, the page has " << chatd::ChatPageHtml().size();
}

TEST_F(HttpTest, HeadRootHasTheSameHeadersAndNoBody) {
  ASSERT_OK_AND_ASSIGN(HttpReply get, HttpGet(http_port(), "/"));
  ASSERT_OK_AND_ASSIGN(HttpClient client, ConnectHttp());
  ASSERT_OK_AND_ASSIGN(HttpReply head, client.Request("HEAD", "/"));
  EXPECT_EQ(head.status, 200) << head.status_line;
  EXPECT_EQ(head.Header("content-type"), get.Header("content-type"));
  EXPECT_EQ(head.Header("content-length"), get.Header("content-length"));
  EXPECT_EQ(head.Header("content-length"),
            absl::StrCat(chatd::ChatPageHtml().size()));
  EXPECT_EQ(head.body, "");
  // No body bytes followed: the next response starts right away.
  ASSERT_OK_AND_ASSIGN(HttpReply next, client.Request("GET", "/healthz"));
  EXPECT_EQ(next.status, 200) << next.status_line;
  EXPECT_EQ(Body(next), "ok");
}

TEST_F(HttpTest, HealthzIsOk) {
  ASSERT_OK_AND_ASSIGN(HttpReply reply, HttpGet(http_port(), "/healthz"));
  EXPECT_EQ(reply.status, 200) << reply.status_line;
  EXPECT_EQ(Body(reply), "ok");
}

TEST_F(HttpTest, UnknownPathIs404) {
  ASSERT_OK_AND_ASSIGN(HttpReply reply, HttpGet(http_port(), "/nope"));
  EXPECT_EQ(reply.status, 404) << reply.status_line;
}

TEST_F(HttpTest, PostIs405WithAllow) {
  ASSERT_OK_AND_ASSIGN(HttpClient client, ConnectHttp());
  ASSERT_OK_AND_ASSIGN(
      HttpReply reply,
      client.Request("POST", "/", "Content-Length: 5\r\n\r\nhello"));
  EXPECT_EQ(reply.status, 405) << reply.status_line;
  EXPECT_EQ(reply.Header("allow"), "GET, HEAD");
}

TEST_F(HttpTest, WebSocketPathWithoutUpgradeIs426) {
  ASSERT_OK_AND_ASSIGN(HttpReply reply, HttpGet(http_port(), "/ws"));
  EXPECT_EQ(reply.status, 426) << reply.status_line;
}

TEST_F(HttpTest, KeepAliveAnswersSeveralRequestsOnOneConnection) {
  ASSERT_OK_AND_ASSIGN(HttpClient client, ConnectHttp());
  ASSERT_OK_AND_ASSIGN(HttpReply first, client.Request("GET", "/healthz"));
  EXPECT_EQ(first.status, 200) << first.status_line;
  EXPECT_EQ(Body(first), "ok");
  ASSERT_OK_AND_ASSIGN(HttpReply second, client.Request("GET", "/nope"));
  EXPECT_EQ(second.status, 404) << second.status_line;
  ASSERT_OK_AND_ASSIGN(HttpReply third, client.Request("GET", "/"));
  EXPECT_EQ(third.status, 200) << third.status_line;
  EXPECT_TRUE(third.body == chatd::ChatPageHtml());
  EXPECT_FALSE(absl::EqualsIgnoreCase(third.Header("connection"), "close"));
}

TEST_F(HttpTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_OK_AND_ASSIGN(HttpClient client, ConnectHttp());
  const std::string host = absl::StrCat("Host: 127.0.0.1:", http_port());
  ASSERT_OK(client.Send(
      absl::StrCat("GET /healthz HTTP/1.1\r\n", host, "\r\n\r\n",  //
                   "GET /nope HTTP/1.1\r\n", host, "\r\n\r\n",     //
                   "HEAD / HTTP/1.1\r\n", host, "\r\n\r\n")));
  ASSERT_OK_AND_ASSIGN(HttpReply first, client.ReadResponse());
  EXPECT_EQ(first.status, 200) << first.status_line;
  EXPECT_EQ(Body(first), "ok");
  ASSERT_OK_AND_ASSIGN(HttpReply second, client.ReadResponse());
  EXPECT_EQ(second.status, 404) << second.status_line;
  ASSERT_OK_AND_ASSIGN(HttpReply third, client.ReadResponse(/*head=*/true));
  EXPECT_EQ(third.status, 200) << third.status_line;
  EXPECT_TRUE(absl::StartsWith(third.Header("content-type"), "text/html"));
  // The connection stays usable afterwards.
  ASSERT_OK_AND_ASSIGN(HttpReply fourth, client.Request("GET", "/healthz"));
  EXPECT_EQ(fourth.status, 200) << fourth.status_line;
}

TEST_F(HttpTest, ConnectionCloseClosesAfterTheResponse) {
  ASSERT_OK_AND_ASSIGN(HttpClient client, ConnectHttp());
  ASSERT_OK_AND_ASSIGN(
      HttpReply reply,
      client.Request("GET", "/healthz", "Connection: close\r\n"));
  EXPECT_EQ(reply.status, 200) << reply.status_line;
  EXPECT_TRUE(absl::EqualsIgnoreCase(reply.Header("connection"), "close"))
      << reply.Header("connection");
  EXPECT_OK(client.ExpectClosed());
}

TEST_F(HttpTest, MalformedRequestIs400ThenClose) {
  ASSERT_OK_AND_ASSIGN(HttpClient client, ConnectHttp());
  ASSERT_OK(client.Send("GET / HTTP/1.1\r\nThis is no header\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply reply, client.ReadResponse());
  EXPECT_EQ(reply.status, 400) << reply.status_line;
  EXPECT_OK(client.ExpectClosed());
}

TEST_F(HttpTest, HeadersOver8KiBAre431ThenClose) {
  ASSERT_OK_AND_ASSIGN(HttpClient client, ConnectHttp());
  ASSERT_OK(client.Send(absl::StrCat("GET / HTTP/1.1\r\nHost: x\r\nX-Big: ",
                                     std::string(9 * 1024, 'a'), "\r\n\r\n")));
  ASSERT_OK_AND_ASSIGN(HttpReply reply, client.ReadResponse());
  EXPECT_EQ(reply.status, 431) << reply.status_line;
  EXPECT_OK(client.ExpectClosed());
}

TEST_F(HttpTest, LineProtocolOnTheHttpPortIs400ThenClose) {
  ASSERT_OK_AND_ASSIGN(HttpClient client, ConnectHttp());
  ASSERT_OK(client.Send("JOIN g n\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply reply, client.ReadResponse());
  EXPECT_EQ(reply.status, 400) << reply.status_line;
  EXPECT_OK(client.ExpectClosed());
}

TEST_F(HttpTest, HttpOnTheLinePortIsAnErrorThenClose) {
  ASSERT_OK_AND_ASSIGN(ChatClient client, Connect());
  ASSERT_OK(client.SendRaw("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_EQ(client.NextLine(), kExpectedJoin);
  EXPECT_OK(client.ExpectClosed());
}

// Starts a shutdown with a member that never reads nor closes, which keeps
// its worker in the grace period (1.5 s by default) after SIGTERM, then
// opens new HTTP connections and asks /healthz on each: once the signal is
// handled (within 1 s) every new connection must get 503, `probes` of them
// in a row, spread over the workers by the acceptor's round robin.
void ExpectHealthz503DuringGrace(
    int http_port, ChatClient& idle, int probes, absl::StatusOr<int>& exit_code,
    const std::function<absl::StatusOr<int>()>& stop) {
  ASSERT_OK_AND_ASSIGN(HttpReply before, HttpGet(http_port, "/healthz"));
  ASSERT_EQ(before.status, 200) << before.status_line;

  const absl::Time signalled = absl::Now();
  std::thread stopper([&] { exit_code = stop(); });

  // Until the signal is handled /healthz may still say 200: ask again. A
  // 503 answer takes milliseconds, so a short timeout per attempt is plenty.
  const absl::Time deadline = signalled + absl::Seconds(1);
  std::vector<std::string> attempts;
  int got_503 = 0;
  bool failed = false;
  while (got_503 < probes) {
    if (got_503 == 0 && absl::Now() >= deadline) break;
    const absl::Time at = absl::Now();
    absl::StatusOr<HttpReply> reply =
        HttpGet(http_port, "/healthz", absl::Milliseconds(250));
    std::string outcome =
        reply.ok() ? reply->status_line : std::string(reply.status().message());
    attempts.push_back(
        absl::StrCat("+", absl::FormatDuration(at - signalled), ": ", outcome));
    if (reply.ok() && reply->status == 503) {
      ++got_503;
      continue;
    }
    if (got_503 > 0) {  // Once shutting down, every connection must say so.
      failed = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  stopper.join();
  std::string explanation;
  const std::string& last = attempts.empty() ? "" : attempts.back();
  if (absl::StrContains(last, "refused")) {
    explanation =
        " -- chatd stopped accepting on the HTTP port instead of answering "
        "503 during the shutdown grace period";
  } else if (absl::StrContains(last, "timed out")) {
    explanation =
        " -- chatd accepted the connection but never answered it (a worker "
        "that has already stopped was handed the connection?)";
  }
  EXPECT_TRUE(got_503 == probes && !failed)
      << got_503 << " of " << probes
      << " new connections got 503 from /healthz after SIGTERM" << explanation
      << "; attempts:\n  " << absl::StrJoin(attempts, "\n  ");
  ASSERT_OK(exit_code);
  EXPECT_EQ(*exit_code, 0);
  EXPECT_EQ(idle.NextLine(), "* server shutting down");
}

class HttpOneWorkerTest : public HttpTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options = HttpTest::ServerOptions();
    options.threads = 1;
    return options;
  }
};

TEST_F(HttpOneWorkerTest, HealthzIs503DuringTheShutdownGrace) {
  ASSERT_OK_AND_ASSIGN(ChatClient idle, Join("g", "idle", 1));
  absl::StatusOr<int> exit_code = absl::UnknownError("not stopped");
  ExpectHealthz503DuringGrace(http_port(), idle, 1, exit_code,
                              [this] { return StopServer(SIGTERM); });
}

// With two workers, the one without the idle member has nothing to wait
// for; new connections must still be answered 503 whichever worker the
// acceptor gives them to.
TEST_F(HttpTest, HealthzIs503OnEveryNewConnectionDuringTheShutdownGrace) {
  ASSERT_OK_AND_ASSIGN(ChatClient idle, Join("g", "idle", 1));
  absl::StatusOr<int> exit_code = absl::UnknownError("not stopped");
  ExpectHealthz503DuringGrace(http_port(), idle, 4, exit_code,
                              [this] { return StopServer(SIGTERM); });
}

// Runs with a 2 s join timeout, which also bounds an HTTP request.
class HttpTimeoutTest : public HttpTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options = HttpTest::ServerOptions();
    options.join_timeout_s = 2;
    return options;
  }
};

TEST_F(HttpTimeoutTest, TricklingHeadersAreCutOffWithoutStallingChat) {
  ASSERT_OK_AND_ASSIGN(ChatClient alice, Join("g", "alice", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient bob, Join("g", "bob", 2));
  EXPECT_EQ(alice.NextLine(), "* bob has joined");

  ASSERT_OK_AND_ASSIGN(HttpClient slow, ConnectHttp());
  const absl::Time connected = absl::Now();
  // Far more than 4 s worth of bytes at 5 a second.
  const std::string request = absl::StrCat(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", std::string(100, 'a'),
      "\r\n\r\n");
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  absl::Time answered = absl::InfiniteFuture();  // Set before `done`.
  int sent = 0;
  std::thread trickler([&] {
    for (char c : request) {
      if (stop.load()) return;
      pollfd pfd{slow.fd(), POLLIN, 0};
      if (poll(&pfd, 1, 0) > 0) break;  // An answer or a close.
      if (!slow.Send(std::string(1, c)).ok()) break;
      ++sent;
      absl::SleepFor(absl::Milliseconds(200));
    }
    answered = absl::Now();
    done.store(true);
  });

  // Meanwhile, chat on the line port stays prompt.
  absl::Duration worst = absl::ZeroDuration();
  int messages = 0;
  while (absl::Now() - connected < absl::Seconds(3)) {
    const std::string text = absl::StrCat("message ", messages++);
    const absl::Time sent_at = absl::Now();
    ASSERT_OK(alice.SendLine(text));
    EXPECT_EQ(bob.NextLine(absl::Seconds(2)), absl::StrCat("alice: ", text));
    worst = std::max(worst, absl::Now() - sent_at);
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_LT(worst, absl::Milliseconds(500))
      << "line chat stalled while an HTTP client trickled its headers";

  // The trickler sees the answer or the close by 4 s after connecting.
  const absl::Time give_up = connected + absl::Seconds(6);
  while (absl::Now() < give_up && !done.load()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  stop.store(true);
  trickler.join();
  const absl::Duration took = answered - connected;
  EXPECT_LT(took, absl::Seconds(4))
      << "the trickling client was not cut off at the 2 s join timeout ("
      << sent << " bytes sent)";
  EXPECT_GT(took, absl::Milliseconds(1500))
      << "cut off before the join timeout";
  absl::StatusOr<HttpReply> reply = slow.ReadResponse(false, absl::Seconds(2));
  std::fprintf(stderr,
               "trickler: %d bytes sent, cut off after %s with %s; worst chat "
               "latency %s over %d messages\n",
               sent, absl::FormatDuration(took).c_str(),
               reply.ok() ? reply->status_line.c_str()
                          : reply.status().ToString().c_str(),
               absl::FormatDuration(worst).c_str(), messages);
  if (reply.ok()) {
    EXPECT_EQ(reply->status, 408) << reply->status_line;
    EXPECT_OK(slow.ExpectClosed());
  } else {
    // A close without a response is acceptable too.
    EXPECT_TRUE(absl::IsUnavailable(reply.status())) << reply.status();
  }
}

}  // namespace
}  // namespace chatd_test
