// chatd over TLS, end to end over real sockets: the line protocol on
// --tls_port and HTTP/WebSocket on --https_port (wss://), beside the plain
// ports of the same server. TLS and plain members of one group see each
// other with the group guarantees across all four workers; plaintext and
// stalled handshakes on a TLS port are closed and counted; old protocol
// versions are refused; ALPN is selected on the HTTPS port only; the slow
// reader and flood limits hold over TLS; SIGHUP rotates the certificate
// under load without breaking a connection; /metrics counts TLS
// connections.
//
// The certificates come from tools/dev-cert.sh (a CA and a server
// certificate for localhost, 127.0.0.1 and ::1); every client here trusts
// only that CA and checks the address it connects to against the
// certificate.
//
// Timeouts are bounds for behaviour to show up in, never speed targets.

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/http_client.h"
#include "tests/line_recorder.h"
#include "tests/mixed_members.h"
#include "tests/numbered_message.h"
#include "tests/status_macros.h"
#include "tests/transcript.h"
#include "tests/ws_client.h"

namespace chatd_test {
namespace {

constexpr absl::Duration kDeliveryTimeout = absl::Seconds(30);

constexpr char kTlsHandshakeDrops[] =
    "chatd_dropped_connections_total{reason=\"tls_handshake\"}";
constexpr char kSlowDrops[] =
    "chatd_dropped_connections_total{reason=\"slow\"}";
constexpr char kTlsUser[] = "chatd_tls_connections{mode=\"user\"}";
constexpr char kTlsKernel[] = "chatd_tls_connections{mode=\"kernel\"}";
constexpr char kTlsHandshaking[] = "chatd_tls_connections{mode=\"handshake\"}";
constexpr char kReloadsOk[] = "chatd_tls_reloads_total{result=\"ok\"}";
constexpr char kReloadsError[] = "chatd_tls_reloads_total{result=\"error\"}";
constexpr char kExpiry[] = "chatd_tls_certificate_expiry_seconds";

// ---------------------------------------------------------------------------
// Helpers.

// The value of one series ("name" or "name{labels}") in /metrics, fetched
// over the plain HTTP port.
absl::StatusOr<double> ScrapeMetric(int http_port, absl::string_view series) {
  absl::StatusOr<HttpReply> reply = HttpGet(http_port, "/metrics");
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) {
    return absl::InternalError(
        absl::StrCat("/metrics answered ", reply->status_line));
  }
  for (absl::string_view line : absl::StrSplit(reply->body, '\n')) {
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " "))
      continue;
    double value = 0;
    if (!absl::SimpleAtod(line, &value)) {
      return absl::InternalError(
          absl::StrCat("bad value for ", series, ": \"", line, "\""));
    }
    return value;
  }
  return absl::NotFoundError(absl::StrCat("no ", series, " in /metrics"));
}

// Polls /metrics until `series` satisfies `done`; the last value seen or an
// error naming it. Gauges and counters move on the server's side of events
// a client cannot see, so tests wait for them rather than read them once.
absl::StatusOr<double> WaitForMetric(int http_port, absl::string_view series,
                                     const std::function<bool(double)>& done,
                                     absl::string_view what,
                                     absl::Duration timeout = kDefaultTimeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<double> value;
  while (true) {
    value = ScrapeMetric(http_port, series);
    if (value.ok() && done(*value)) return value;
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (!value.ok()) return value.status();
  return absl::DeadlineExceededError(
      absl::StrCat(series, " is ", *value, ", waited ",
                   absl::FormatDuration(timeout), " for it to be ", what));
}

absl::StatusOr<double> WaitForMetricEq(
    int http_port, absl::string_view series, double want,
    absl::Duration timeout = kDefaultTimeout) {
  return WaitForMetric(
      http_port, series, [want](double v) { return v == want; },
      absl::StrCat(want), timeout);
}

// The first flight of a TLS client: a real ClientHello, made by TlsStream
// over a socketpair, for tests that send part of one.
absl::StatusOr<std::string> MakeClientHello(
    std::shared_ptr<const chatd::TlsContext> context) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) !=
      0) {
    return absl::InternalError("socketpair failed");
  }
  std::string hello;
  {
    absl::StatusOr<std::unique_ptr<chatd::TlsStream>> stream =
        chatd::TlsStream::Create(context, fds[0],
                                 chatd::TlsStream::Role::kClient, "localhost");
    if (stream.ok()) {
      char buffer[64];
      size_t n = 0;
      (*stream)->Read(buffer, sizeof(buffer), &n);  // Sends the hello.
      char chunk[65536];
      ssize_t got;
      while ((got = recv(fds[1], chunk, sizeof(chunk), 0)) > 0) {
        hello.append(chunk, static_cast<size_t>(got));
      }
    }
  }
  close(fds[0]);
  close(fds[1]);
  if (hello.size() < 50 || hello[0] != 0x16) {
    return absl::InternalError(absl::StrCat("no ClientHello from TlsStream: \"",
                                            absl::CHexEscape(hello), "\""));
  }
  return hello;
}

// How a member connects.
enum class Kind { kLine, kTls, kWs, kWss };

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kLine:
      return "line";
    case Kind::kTls:
      return "TLS line";
    case Kind::kWs:
      return "WebSocket";
    case Kind::kWss:
      return "wss";
  }
  return "?";
}

bool IsWebSocket(Kind kind) { return kind == Kind::kWs || kind == Kind::kWss; }

// `count` lines "<prefix><i>", all in one string.
std::string Lines(const std::string& prefix, int count) {
  std::string lines;
  for (int i = 0; i < count; ++i) absl::StrAppend(&lines, prefix, i, "\n");
  return lines;
}

class TlsTest : public MixedMembersTest {
 protected:
  TlsTest() : MixedMembersTest(/*expect_open=*/true) {}

  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.tls = true;
    Configure(options);
    return options;
  }
  // For subclasses: more flags on top of TLS.
  virtual void Configure(ServerProcess::Options& options) const {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ChatServerTest::SetUp());
    ASSERT_GT(server().tls_port(), 0);
    ASSERT_GT(server().https_port(), 0);
    ASSERT_OK_AND_ASSIGN(trust_, TlsClientContext(server().ca_file()));
  }

  int http_port() { return server().http_port(); }

  // The TLS line port, trusting the server's CA (or `context`).
  Endpoint TlsLine(std::shared_ptr<const chatd::TlsContext> context = nullptr) {
    Endpoint endpoint;
    endpoint.port = server().tls_port();
    endpoint.tls = context != nullptr ? context : trust_;
    return endpoint;
  }
  // The HTTPS port, for wss://.
  Endpoint Https(std::shared_ptr<const chatd::TlsContext> context = nullptr) {
    Endpoint endpoint = TlsLine(context);
    endpoint.port = server().https_port();
    return endpoint;
  }

  absl::StatusOr<ChatClient> TlsJoin(absl::string_view group,
                                     absl::string_view name, int online) {
    return ChatClient::Join(TlsLine(), group, name, online);
  }

  absl::StatusOr<double> Metric(absl::string_view series) {
    return ScrapeMetric(http_port(), series);
  }

  // Joins members of group "room" in order, each of its kind; consecutive
  // joins land on consecutive workers (the acceptor deals connections
  // round-robin).
  void JoinAll(const std::vector<std::pair<std::string, Kind>>& who) {
    for (const auto& [name, kind] : who) {
      const int online = static_cast<int>(members_.size()) + 1;
      std::unique_ptr<Member> member =
          Newcomer(name, IsWebSocket(kind), KindName(kind));
      switch (kind) {
        case Kind::kLine: {
          ASSERT_OK_AND_ASSIGN(member->line, Join("room", name, online));
          break;
        }
        case Kind::kTls: {
          ASSERT_OK_AND_ASSIGN(member->line, TlsJoin("room", name, online));
          break;
        }
        case Kind::kWs: {
          ASSERT_OK_AND_ASSIGN(
              member->socket,
              WsClient::Join(http_port(), "room", name, online));
          break;
        }
        case Kind::kWss: {
          ASSERT_OK_AND_ASSIGN(member->socket,
                               WsClient::Join(Https(), "room", name, online));
          break;
        }
      }
      Add(std::move(member));
    }
  }

  std::shared_ptr<const chatd::TlsContext> trust_;
};

// Eight members, two of each kind, so that members 0-3 and 4-7 each span
// the four workers with all four kinds: t00 l01 s02 w03 l04 t05 w06 s07
// (t TLS line, l line, s wss, w WebSocket).
std::vector<std::pair<std::string, Kind>> MixedGroup() {
  const Kind kinds[] = {Kind::kTls,  Kind::kLine, Kind::kWss, Kind::kWs,
                        Kind::kLine, Kind::kTls,  Kind::kWs,  Kind::kWss};
  const char letters[] = {'t', 'l', 's', 'w', 'l', 't', 'w', 's'};
  std::vector<std::pair<std::string, Kind>> who;
  for (int i = 0; i < 8; ++i) {
    who.emplace_back(absl::StrFormat("%c%02d", letters[i], i), kinds[i]);
  }
  return who;
}

// ---------------------------------------------------------------------------
// 1. TLS and plain members in one group.

TEST_F(TlsTest, TlsAndPlainMembersChatInOneGroup) {
  ASSERT_OK_AND_ASSIGN(ChatClient tina, TlsJoin("room", "tina", 1));
  EXPECT_TRUE(tina.tls_version() == "TLSv1.3" ||
              tina.tls_version() == "TLSv1.2")
      << tina.tls_version();
  ASSERT_OK_AND_ASSIGN(ChatClient pete, Join("room", "pete", 2));
  EXPECT_EQ(tina.NextLine(), "* pete has joined");
  ASSERT_OK(pete.SendLine("hello over plain TCP"));
  EXPECT_EQ(tina.NextLine(), "pete: hello over plain TCP");
  ASSERT_OK(tina.SendLine("hello over TLS"));
  EXPECT_EQ(pete.NextLine(), "tina: hello over TLS");
  ASSERT_OK(tina.SendLine("/who"));
  EXPECT_EQ(tina.NextLine(), "* online in room: pete, tina");

  // A second TLS member comes and goes: both hear it.
  ASSERT_OK_AND_ASSIGN(ChatClient tom, TlsJoin("room", "tom", 3));
  EXPECT_EQ(tina.NextLine(), "* tom has joined");
  EXPECT_EQ(pete.NextLine(), "* tom has joined");
  ASSERT_OK(tom.SendLine("bye all"));
  EXPECT_EQ(tina.NextLine(), "tom: bye all");
  EXPECT_EQ(pete.NextLine(), "tom: bye all");
  ASSERT_OK(tom.SendLine("/quit"));
  EXPECT_EQ(tom.NextLine(), "* bye");
  EXPECT_OK(tom.ExpectClosed());
  EXPECT_EQ(tina.NextLine(), "* tom has left");
  EXPECT_EQ(pete.NextLine(), "* tom has left");

  // A second plain member comes and goes the same way.
  ASSERT_OK_AND_ASSIGN(ChatClient paul, Join("room", "paul", 3));
  EXPECT_EQ(tina.NextLine(), "* paul has joined");
  EXPECT_EQ(pete.NextLine(), "* paul has joined");
  paul.Close();
  EXPECT_EQ(tina.NextLine(), "* paul has left");
  EXPECT_EQ(pete.NextLine(), "* paul has left");

  // The TLS member leaves, with close_notify; the plain one hears it.
  ASSERT_OK(tina.ShutdownWrite());
  EXPECT_OK(tina.ExpectClosed());
  EXPECT_EQ(pete.NextLine(), "* tina has left");
}

TEST_F(TlsTest, NamesAreSharedAcrossPlainAndTls) {
  ASSERT_OK_AND_ASSIGN(ChatClient pete, Join("room", "pete", 1));
  ChatClient second;
  ASSERT_OK(second.Connect(TlsLine()));
  ASSERT_OK(second.SendLine("JOIN room pete"));
  EXPECT_EQ(second.NextLine(), "ERROR name taken");
  EXPECT_OK(second.ExpectClosed());
  ASSERT_OK_AND_ASSIGN(ChatClient tina, TlsJoin("room", "tina", 2));
  EXPECT_EQ(pete.NextLine(), "* tina has joined");
}

// ---------------------------------------------------------------------------
// 2. The guarantees with TLS, plain, wss and WebSocket members mixed over
// the four workers.

TEST_F(TlsTest, MixedSendersArriveExactlyOnceAndInOrder) {
  constexpr int kMessages = 400;
  ASSERT_NO_FATAL_FAILURE(JoinAll(MixedGroup()));
  // Senders t00 l01 s02 w03: one of each kind, on four workers; the other
  // four receive only, again one of each kind on four workers.
  std::vector<Member*> senders = {members_[0].get(), members_[1].get(),
                                  members_[2].get(), members_[3].get()};
  std::vector<absl::Status> results = SendNumberedAtOnce(senders, kMessages);
  for (size_t s = 0; s < senders.size(); ++s) {
    EXPECT_OK(results[s]) << " sending from " << senders[s]->Describe();
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.back()));
}

TEST_F(TlsTest, TlsJoinBeforeFirstMessageAndLeaveAfterLast) {
  ASSERT_NO_FATAL_FAILURE(JoinAll(MixedGroup()));
  // Four TLS newcomers in a row (four workers), each pipelining JOIN and two
  // messages in one TLS record and then ending: two with close_notify and
  // FIN, two with /quit.
  std::vector<ChatClient> newcomers(4);
  for (size_t k = 0; k < newcomers.size(); ++k) {
    const std::string name = absl::StrCat("new", k);
    const bool quit = k % 2 == 1;
    ASSERT_OK(newcomers[k].Connect(TlsLine()));
    ASSERT_OK(newcomers[k].SendRaw(
        absl::StrCat("JOIN room ", name, "\nfirst from ", name,
                     "\nsecond from ", name, "\n", quit ? "/quit\n" : "")));
    if (!quit) ASSERT_OK(newcomers[k].ShutdownWrite());
    for (auto& member : members_) {
      member->expected[name] = {kJoined, absl::StrCat("first from ", name),
                                absl::StrCat("second from ", name), kLeft};
    }
  }
  for (size_t k = 0; k < newcomers.size(); ++k) {
    SCOPED_TRACE(absl::StrCat("new", k));
    absl::StatusOr<std::string> welcome = newcomers[k].ReadLine();
    ASSERT_OK(welcome);
    EXPECT_TRUE(
        absl::StartsWith(*welcome, absl::StrCat("* you joined room as new", k)))
        << *welcome;
    if (k % 2 == 1) EXPECT_EQ(newcomers[k].NextLine(), "* bye");
    // Joins of the newcomers after it may come before the end.
    absl::StatusOr<std::string> line;
    while ((line = newcomers[k].ReadLine()).ok()) {
      EXPECT_TRUE(absl::StartsWith(*line, "* new")) << *line;
    }
    EXPECT_TRUE(absl::IsUnavailable(line.status())) << line.status();
    EXPECT_FALSE(newcomers[k].ended_by_reset());
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());

  // Four TLS leavers, each sending long lines and then closing the socket
  // without close_notify: everything sent still counts, then the leave.
  constexpr int kLastWords = 40;
  for (int k = 0; k < 4; ++k) {
    const std::string name = absl::StrCat("drop", k);
    ASSERT_OK_AND_ASSIGN(
        ChatClient leaver,
        TlsJoin("room", name, static_cast<int>(members_.size()) + 1));
    for (auto& member : members_) member->expected[name] = {kJoined};
    const std::string padding(3000, 'p');
    std::string burst;
    for (int seq = 0; seq < kLastWords; ++seq) {
      const std::string text = absl::StrCat("last words ", seq, " ", padding);
      absl::StrAppend(&burst, text, "\n");
      for (auto& member : members_) member->expected[name].push_back(text);
    }
    ASSERT_OK(leaver.SendRaw(burst));
    leaver.Close();
    for (auto& member : members_) member->expected[name].push_back(kLeft);
    ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts()) << " after " << name;
  }
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));
}

// ---------------------------------------------------------------------------
// 3. What is not TLS, or not enough of it.

TEST_F(TlsTest, PlaintextOnTlsPortsIsClosedCleanlyAndCounted) {
  ASSERT_OK_AND_ASSIGN(double before, Metric(kTlsHandshakeDrops));
  EXPECT_EQ(before, 0);

  // A chat line on the TLS line port.
  ChatClient line;
  ASSERT_OK(line.Connect(server().tls_port()));
  ASSERT_OK(line.SendLine("JOIN room bob"));
  EXPECT_OK(line.ExpectClosed()) << " (plaintext on the TLS line port)";
  EXPECT_TRUE(line.ended());
  EXPECT_FALSE(line.ended_by_reset())
      << "the server reset the connection instead of closing it";
  EXPECT_OK(WaitForMetricEq(http_port(), kTlsHandshakeDrops, 1));

  // An HTTP request on the HTTPS port.
  ChatClient http;
  ASSERT_OK(http.Connect(server().https_port()));
  ASSERT_OK(http.SendRaw(
      absl::StrCat("GET /healthz HTTP/1.1\r\nHost: ",
                   HostPort("127.0.0.1", server().https_port()), "\r\n\r\n")));
  EXPECT_OK(http.ExpectClosed()) << " (plain HTTP on the HTTPS port)";
  EXPECT_FALSE(http.ended_by_reset())
      << "the server reset the connection instead of closing it";
  EXPECT_OK(WaitForMetricEq(http_port(), kTlsHandshakeDrops, 2));

  // Nobody else noticed: TLS and plain members still chat.
  ASSERT_OK_AND_ASSIGN(ChatClient tina, TlsJoin("room", "tina", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient pete, Join("room", "pete", 2));
  EXPECT_EQ(tina.NextLine(), "* pete has joined");
  ASSERT_OK(pete.SendLine("hi"));
  EXPECT_EQ(tina.NextLine(), "pete: hi");
}

class TlsJoinTimeoutTest : public TlsTest {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.join_timeout_s = 1;
  }
};

TEST_F(TlsJoinTimeoutTest, StalledHandshakeIsClosedWhileOthersChat) {
  ASSERT_OK_AND_ASSIGN(ChatClient tina, TlsJoin("room", "tina", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient tess, TlsJoin("room", "tess", 2));
  EXPECT_EQ(tina.NextLine(), "* tess has joined");

  ASSERT_OK_AND_ASSIGN(std::string hello, MakeClientHello(trust_));
  ChatClient stalled;
  ASSERT_OK(stalled.Connect(server().tls_port()));
  const absl::Time start = absl::Now();
  ASSERT_OK(stalled.SendRaw(hello.substr(0, hello.size() / 2)));

  // The members keep chatting, back and forth, while the handshake hangs;
  // then the server gives up on it.
  std::string from_server;
  int exchanges = 0;
  absl::Status ended = absl::DeadlineExceededError("not yet");
  const absl::Time deadline = absl::Now() + kDefaultTimeout;
  while (absl::Now() < deadline) {
    const std::string ping = absl::StrCat("ping ", exchanges);
    ASSERT_OK(tina.SendLine(ping));
    ASSERT_EQ(tess.NextLine(), absl::StrCat("tina: ", ping));
    ASSERT_OK(tess.SendLine(absl::StrCat("pong ", exchanges)));
    ASSERT_EQ(tina.NextLine(), absl::StrCat("tess: pong ", exchanges));
    ++exchanges;
    absl::StatusOr<size_t> got =
        stalled.ReadSome(&from_server, absl::Milliseconds(100));
    if (got.ok() && *got == 0) {
      ended = absl::OkStatus();
      break;
    }
    if (!got.ok() && !absl::IsDeadlineExceeded(got.status())) {
      ended = got.status();
      break;
    }
  }
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_OK(ended) << " the stalled handshake was not closed";
  std::fprintf(stderr, "stalled handshake closed after %s, %d exchanges\n",
               absl::FormatDuration(elapsed).c_str(), exchanges);
  // A half hello is not an error: the server waited for the rest.
  EXPECT_GE(elapsed, absl::Milliseconds(500))
      << "closed long before --join_timeout_s=1";
  EXPECT_GE(exchanges, 1);
  // At most a TLS alert record.
  EXPECT_TRUE(from_server.empty() || from_server[0] == 0x15)
      << "unexpected bytes: \"" << absl::CHexEscape(from_server) << "\"";
  EXPECT_OK(WaitForMetricEq(http_port(), kTlsHandshakeDrops, 1));

  // And still afterwards.
  ASSERT_OK(tina.SendLine("still here"));
  EXPECT_EQ(tess.NextLine(), "tina: still here");
}

TEST_F(TlsTest, OldProtocolVersionsAreRefused) {
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    SCOPED_TRACE(absl::StrCat("version 0x", absl::Hex(version)));
    ASSERT_OK_AND_ASSIGN(double before, Metric(kTlsHandshakeDrops));
    ASSERT_OK_AND_ASSIGN(
        auto old, TlsClientContext(server().ca_file(), "", version, version));
    ChatClient client;
    absl::Status status = client.Connect(TlsLine(old));
    EXPECT_FALSE(status.ok()) << "the server accepted " << client.tls_version();
    // The server's alert, not a client that could not even offer it.
    EXPECT_TRUE(absl::StrContains(status.message(), "alert protocol version"))
        << status;
    std::fprintf(stderr, "old version refused: %s\n",
                 status.ToString().c_str());
    client.Close();
    EXPECT_OK(WaitForMetricEq(http_port(), kTlsHandshakeDrops, before + 1));
  }
  // TLS 1.2 and 1.3 are both served.
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    ASSERT_OK_AND_ASSIGN(auto context, TlsClientContext(server().ca_file(), "",
                                                        version, version));
    ChatClient client;
    ASSERT_OK(client.Connect(TlsLine(context)));
    EXPECT_EQ(client.tls_version(),
              version == TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3");
    ASSERT_OK(client.SendLine(absl::StrCat("JOIN room v", version)));
    EXPECT_TRUE(absl::StartsWith(client.NextLine(), "* you joined room as v"));
  }
}

TEST_F(TlsTest, UntrustedOrWrongNameCertificateFailsOnTheClient) {
  // A client trusting another CA refuses the server's certificate.
  ASSERT_OK_AND_ASSIGN(std::string other_dir, ServerProcess::NewTempDir("ca"));
  ASSERT_OK(ServerProcess::MakeDevCert(other_dir));
  ASSERT_OK_AND_ASSIGN(auto stranger, TlsClientContext(other_dir + "/ca.pem"));
  ChatClient client;
  absl::Status status = client.Connect(TlsLine(stranger));
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "certificate verify failed"))
      << status;
  // The certificate is for localhost and 127.0.0.1, not for another name.
  Endpoint wrong = TlsLine();
  wrong.server_name = "chat.example";
  ChatClient misnamed;
  status = misnamed.Connect(wrong);
  EXPECT_FALSE(status.ok());
  Endpoint by_name = TlsLine();
  by_name.server_name = "localhost";
  ChatClient named;
  EXPECT_OK(named.Connect(by_name));
}

TEST_F(TlsTest, AlpnHttp11IsSelectedOnTheHttpsPortOnly) {
  ASSERT_OK_AND_ASSIGN(auto http11,
                       TlsClientContext(server().ca_file(), "http/1.1"));
  ChatClient web;
  ASSERT_OK(web.Connect(Https(http11)));
  EXPECT_EQ(web.tls_alpn(), "http/1.1");
  ASSERT_OK(
      web.SendRaw(absl::StrCat("GET /healthz HTTP/1.1\r\nHost: ",
                               HostPort("127.0.0.1", server().https_port()),
                               "\r\nConnection: close\r\n\r\n")));
  absl::StatusOr<std::string> status_line = web.ReadLine();
  ASSERT_OK(status_line);
  EXPECT_TRUE(absl::StartsWith(*status_line, "HTTP/1.1 200")) << *status_line;

  // The line port selects nothing and speaks the chat.
  ChatClient line;
  ASSERT_OK(line.Connect(TlsLine(http11)));
  EXPECT_EQ(line.tls_alpn(), "");
  ASSERT_OK(line.SendLine("JOIN room al"));
  EXPECT_EQ(line.NextLine(), "* you joined room as al (1 online)");

  // Without ALPN the HTTPS port serves too: wss:// chats with the line.
  ChatClient plain_alpn;
  ASSERT_OK(plain_alpn.Connect(Https()));
  EXPECT_EQ(plain_alpn.tls_alpn(), "");
  ASSERT_OK_AND_ASSIGN(WsClient wss,
                       WsClient::Join(Https(http11), "room", "wes", 2));
  EXPECT_EQ(wss.tcp().tls_alpn(), "http/1.1");
  EXPECT_EQ(line.NextLine(), "* wes has joined");
  ASSERT_OK(wss.SendText("hello from wss"));
  EXPECT_EQ(line.NextLine(), "wes: hello from wss");
  ASSERT_OK(line.SendLine("hello from TLS"));
  EXPECT_EQ(wss.NextLine(), "al: hello from TLS");
}

// ---------------------------------------------------------------------------
// 4. The limits over TLS.

class TlsSlowReaderTest : public TlsTest {
 protected:
  static constexpr int64_t kMaxOutputBytes = 256 * 1024;
  void Configure(ServerProcess::Options& options) const override {
    options.max_output_bytes = kMaxOutputBytes;
  }
};

// "seq N" of a long numbered line, so recorders keep little.
std::string ShrinkLong(std::string line) {
  const size_t pad = line.find(" pad");
  if (pad != std::string::npos) line.resize(pad);
  return line;
}

TEST_F(TlsSlowReaderTest, SlowTlsReaderIsDroppedOthersKeepReceiving) {
  ChatClient sender_client;
  ASSERT_OK_AND_ASSIGN(sender_client, Join("room", "sender", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient fast, TlsJoin("room", "fast", 2));
  ASSERT_OK_AND_ASSIGN(ChatClient watch, Join("room", "watch", 3));
  ASSERT_OK_AND_ASSIGN(ChatClient slow, TlsJoin("room", "slow", 4));
  // Small, so the server's queue fills sooner; not below one loopback
  // segment (64 KiB), which the kernel could then never deliver.
  ASSERT_OK(slow.SetReceiveBuffer(64 * 1024));
  ASSERT_OK_AND_ASSIGN(const int fds_with_slow, server().OpenFdCount());
  LineRecorder sender_recorder(&sender_client);
  LineRecorder fast_recorder(&fast, ShrinkLong);
  LineRecorder watch_recorder(&watch, ShrinkLong);
  ASSERT_OK(fast_recorder.WaitForLine("* slow has joined", kDefaultTimeout));
  ASSERT_OK(watch_recorder.WaitForLine("* slow has joined", kDefaultTimeout));

  // Long lines until the slow reader is dropped, and some more after.
  const std::string padding(3900, 'x');
  constexpr int kMaxLines = 20000;  // ~80 MB: far past any socket buffers.
  constexpr int kAfterDrop = 200;
  // The sender stays at most kWindow lines ahead of the readers, so only the
  // one that does not read can fall kMaxOutputBytes behind.
  constexpr int kWindow = 40;
  int sent = 0;
  int stop_at = kMaxLines;
  for (; sent < stop_at; ++sent) {
    if (sent % 20 == 0 && sent >= kWindow) {
      // Before the lines: fast has seen two joins, watch one.
      ASSERT_OK(
          fast_recorder.WaitForCount(2 + sent - kWindow, kDeliveryTimeout));
      ASSERT_OK(
          watch_recorder.WaitForCount(1 + sent - kWindow, kDeliveryTimeout));
    }
    ASSERT_OK(sender_client.SendLine(
        absl::StrCat("seq ", sent, " pad", padding), kDeliveryTimeout));
    if (stop_at == kMaxLines && sent % 50 == 0 &&
        sender_recorder.WaitForLine("* slow has left", absl::ZeroDuration())
            .ok()) {
      stop_at = sent + kAfterDrop;
    }
  }
  ASSERT_LT(stop_at, kMaxLines) << "the slow TLS reader was never dropped";
  std::fprintf(stderr, "slow reader dropped; %d lines sent\n", sent);

  // The others got every line, in order, once, and the leave once.
  std::vector<std::string> expected = {"* slow has joined"};
  for (int i = 0; i < sent; ++i) {
    expected.push_back(absl::StrCat("sender: seq ", i));
  }
  for (LineRecorder* recorder : {&fast_recorder, &watch_recorder}) {
    const size_t want = expected.size() + 1 + (recorder == &fast_recorder);
    ASSERT_OK(recorder->WaitForCount(want, kDeliveryTimeout));
    std::vector<std::string> got = recorder->Lines();
    EXPECT_EQ(std::count(got.begin(), got.end(), "* slow has left"), 1);
    got.erase(std::remove(got.begin(), got.end(), "* slow has left"),
              got.end());
    got.erase(std::remove(got.begin(), got.end(), "* watch has joined"),
              got.end());
    EXPECT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected)
        << "a receiver did not get every line once in order: "
        << DescribeDifference({{"", expected}}, {{"", got}});
  }
  EXPECT_OK(WaitForMetricEq(http_port(), kSlowDrops, 1));
  // The server let go of the connection (the kernel may still be sending
  // what was queued before the close).
  absl::StatusOr<int> fds = server().OpenFdCount();
  for (absl::Time deadline = absl::Now() + kDefaultTimeout;
       fds.ok() && *fds >= fds_with_slow && absl::Now() < deadline;
       fds = server().OpenFdCount()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_OK(fds);
  EXPECT_LT(*fds, fds_with_slow)
      << "the server still holds the slow reader's connection";

  // What the slow reader finally reads: an unbroken prefix of what was
  // sent, maybe "ERROR too slow", then the end.
  std::vector<std::string> lines;
  absl::Status end;
  for (absl::Time deadline = absl::Now() + kDeliveryTimeout; end.ok();) {
    absl::StatusOr<std::string> line = slow.ReadLine(deadline - absl::Now());
    if (line.ok()) {
      lines.push_back(ShrinkLong(*std::move(line)));
    } else {
      end = line.status();
    }
  }
  EXPECT_TRUE(absl::IsUnavailable(end))
      << "the slow reader is still connected: " << end;
  const bool told = !lines.empty() && lines.back() == "ERROR too slow";
  if (told) lines.pop_back();
  std::fprintf(stderr, "the slow reader got %zu lines%s\n", lines.size(),
               told ? " and ERROR too slow" : "");
  ASSERT_LE(lines.size(), static_cast<size_t>(sent));
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], absl::StrCat("sender: seq ", i)) << " at line " << i;
  }
  ASSERT_LT(lines.size(), static_cast<size_t>(sent));
}

class TlsThrottleTest : public TlsTest {
 protected:
  static constexpr double kRate = 100;
  static constexpr int kBurst = 10;
  void Configure(ServerProcess::Options& options) const override {
    options.max_msgs_per_sec = kRate;
    options.max_burst = kBurst;
  }
};

TEST_F(TlsThrottleTest, FloodingTlsMemberIsThrottledNotDropped) {
  constexpr int kLines = 150;  // (150 - 10) / 100 = 1.4 s past the burst.
  ASSERT_OK_AND_ASSIGN(ChatClient watch, Join("room", "watch", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient twatch, TlsJoin("room", "twatch", 2));
  ASSERT_OK_AND_ASSIGN(ChatClient flood, TlsJoin("room", "flood", 3));
  LineRecorder watch_recorder(&watch);
  LineRecorder twatch_recorder(&twatch);
  ASSERT_OK(watch_recorder.WaitForLine("* flood has joined", kDefaultTimeout));
  ASSERT_OK(twatch_recorder.WaitForLine("* flood has joined", kDefaultTimeout));

  const absl::Time start = absl::Now();
  ASSERT_OK(flood.SendRaw(Lines("paste ", kLines)));
  std::vector<std::string> expected;
  for (int i = 0; i < kLines; ++i) {
    expected.push_back(absl::StrCat("flood: paste ", i));
  }
  for (LineRecorder* recorder : {&watch_recorder, &twatch_recorder}) {
    const size_t skip = recorder == &watch_recorder ? 2 : 1;  // The joins.
    ASSERT_OK(recorder->WaitForCount(skip + kLines, absl::Seconds(40)));
    std::vector<std::string> got = recorder->Lines();
    got.erase(got.begin(), got.begin() + skip);
    EXPECT_TRUE(got == expected)
        << DescribeDifference({{"", expected}}, {{"", got}});
  }
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(elapsed, absl::Seconds(0.8 * (kLines - kBurst) / kRate))
      << "the lines past the burst were not held back";
  ASSERT_OK_AND_ASSIGN(double throttled, Metric("chatd_throttle_events_total"));
  EXPECT_GT(throttled, 0);

  // Still a member, answered, heard by everyone.
  ASSERT_OK(flood.SendLine("/who"));
  EXPECT_EQ(flood.NextLine(absl::Seconds(40)),
            "* online in room: flood, twatch, watch");
  ASSERT_OK(flood.SendLine("still here"));
  EXPECT_OK(watch_recorder.WaitForLine("flood: still here", absl::Seconds(40)));
  EXPECT_OK(
      twatch_recorder.WaitForLine("flood: still here", absl::Seconds(40)));
  for (const std::string& line : watch_recorder.Lines()) {
    EXPECT_FALSE(absl::EndsWith(line, " has left")) << line;
  }
}

// ---------------------------------------------------------------------------
// 5. Certificate rotation under load.

class TlsReloadTest : public TlsTest {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.capture_log = true;
  }
};

absl::Status CopyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", from));
  std::stringstream contents;
  contents << in.rdbuf();
  const std::string tmp = to + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << contents.str();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (rename(tmp.c_str(), to.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename to ", to));
  }
  return absl::OkStatus();
}

// When the certificate in `cert_file` expires, as OpenSSL reads it.
absl::StatusOr<absl::Time> NotAfter(const std::string& cert_file,
                                    const std::string& key_file) {
  chatd::TlsContext::Options options;
  options.cert_file = cert_file;
  options.key_file = key_file;
  absl::StatusOr<std::shared_ptr<const chatd::TlsContext>> context =
      chatd::TlsContext::Load(options);
  if (!context.ok()) return context.status();
  return (*context)->not_after();
}

// A TLS client trusting only `context` connects and joins group "other".
absl::Status TryJoinOther(int tls_port,
                          std::shared_ptr<const chatd::TlsContext> context,
                          const std::string& name) {
  Endpoint endpoint;
  endpoint.port = tls_port;
  endpoint.tls = std::move(context);
  absl::StatusOr<ChatClient> client =
      ChatClient::Join(endpoint, "other", name, -1);
  return client.status();
}

TEST_F(TlsReloadTest, SighupRotatesCertificateUnderLoad) {
  ASSERT_NO_FATAL_FAILURE(JoinAll({{"s0", Kind::kTls},
                                   {"s1", Kind::kTls},
                                   {"r0", Kind::kTls},
                                   {"r1", Kind::kWss},
                                   {"r2", Kind::kTls},
                                   {"r3", Kind::kLine}}));
  ASSERT_OK(WaitForMetricEq(http_port(), kReloadsOk, 1));
  // The expiry gauge follows the pair in use.
  ASSERT_OK_AND_ASSIGN(const absl::Time old_expiry,
                       NotAfter(server().cert_file(), server().key_file()));
  EXPECT_OK(
      WaitForMetricEq(http_port(), kExpiry, absl::ToUnixSeconds(old_expiry)));
  std::vector<Member*> senders = {members_[0].get(), members_[1].get()};

  // The senders chat all along, a line every few milliseconds.
  std::atomic<bool> stop{false};
  std::vector<std::atomic<int>> counts(senders.size());
  std::vector<absl::Status> results(senders.size());
  std::vector<std::thread> threads;
  for (size_t s = 0; s < senders.size(); ++s) {
    threads.emplace_back([&, s] {
      while (!stop && results[s].ok()) {
        results[s] =
            senders[s]->Send(NumberedMessage(senders[s]->name, counts[s]));
        if (results[s].ok()) ++counts[s];
        absl::SleepFor(absl::Milliseconds(3));
      }
    });
  }
  auto stop_senders = [&] {
    stop = true;
    for (std::thread& thread : threads) {
      if (thread.joinable()) thread.join();
    }
  };
  absl::SleepFor(absl::Milliseconds(300));

  // Rotate to a pair from a new CA.
  const std::shared_ptr<const chatd::TlsContext> old_ca = trust_;
  ASSERT_OK_AND_ASSIGN(std::string new_dir, ServerProcess::NewTempDir("cert2"));
  ASSERT_OK(ServerProcess::MakeDevCert(new_dir));
  ASSERT_OK_AND_ASSIGN(auto new_ca, TlsClientContext(new_dir + "/ca.pem"));
  ASSERT_OK(TryJoinOther(server().tls_port(), old_ca, "before"));
  EXPECT_FALSE(TryJoinOther(server().tls_port(), new_ca, "early").ok())
      << "a client trusting only the new CA got in before the rotation";
  const int sent_before_rotation = counts[0] + counts[1];
  ASSERT_OK(CopyFile(new_dir + "/server.key", server().key_file()));
  ASSERT_OK(CopyFile(new_dir + "/server.pem", server().cert_file()));
  ASSERT_OK(server().Signal(SIGHUP));
  ASSERT_OK(WaitForMetricEq(http_port(), kReloadsOk, 2));
  ASSERT_OK_AND_ASSIGN(const absl::Time new_expiry,
                       NotAfter(server().cert_file(), server().key_file()));
  EXPECT_OK(
      WaitForMetricEq(http_port(), kExpiry, absl::ToUnixSeconds(new_expiry)));
  EXPECT_OK(TryJoinOther(server().tls_port(), new_ca, "new_ca"));
  absl::Status old_refused =
      TryJoinOther(server().tls_port(), old_ca, "old_ca");
  EXPECT_FALSE(old_refused.ok())
      << "a client trusting only the old CA still got in";
  EXPECT_TRUE(absl::StrContains(old_refused.message(), "certificate verify"))
      << old_refused;
  // wss:// on the HTTPS port rotated too.
  {
    WsClient wss;
    EXPECT_OK(wss.Connect(Https(new_ca)));
    WsClient stale;
    EXPECT_FALSE(stale.Connect(Https(old_ca)).ok());
  }
  absl::SleepFor(absl::Milliseconds(300));
  const int sent_before_broken = counts[0] + counts[1];
  EXPECT_GT(sent_before_broken, sent_before_rotation)
      << "nothing was sent while the certificate rotated";

  // A broken certificate: logged as an ERROR, the last good pair stays.
  {
    std::ofstream broken(server().cert_file(), std::ios::trunc);
    broken << "-----BEGIN CERTIFICATE-----\nnot a certificate\n"
              "-----END CERTIFICATE-----\n";
  }
  ASSERT_OK(server().Signal(SIGHUP));
  EXPECT_OK(WaitForMetricEq(http_port(), kReloadsError, 1));
  ASSERT_OK_AND_ASSIGN(double ok_loads, Metric(kReloadsOk));
  EXPECT_EQ(ok_loads, 2);
  ASSERT_OK_AND_ASSIGN(double expiry, Metric(kExpiry));
  EXPECT_EQ(expiry, absl::ToUnixSeconds(new_expiry))
      << "the expiry of the broken file, or of none, is reported";
  EXPECT_OK(TryJoinOther(server().tls_port(), new_ca, "after_broken"));
  EXPECT_FALSE(TryJoinOther(server().tls_port(), old_ca, "old_again").ok());
  absl::SleepFor(absl::Milliseconds(300));
  stop_senders();
  EXPECT_GT(counts[0] + counts[1], sent_before_broken)
      << "nothing was sent after the failed reload";
  for (size_t s = 0; s < senders.size(); ++s) {
    EXPECT_OK(results[s]) << " sending from " << senders[s]->Describe();
    std::fprintf(stderr, "%s sent %d lines\n", senders[s]->Describe().c_str(),
                 counts[s].load());
    for (int seq = 0; seq < counts[s]; ++seq) {
      ExpectDelivered(*senders[s], NumberedMessage(senders[s]->name, seq));
    }
  }
  ASSERT_NO_FATAL_FAILURE(CheckAllTranscripts());
  ASSERT_NO_FATAL_FAILURE(SendSentinel(*members_.front()));

  // glog's ERROR lines start with "E" and the date.
  ASSERT_OK_AND_ASSIGN(std::string log, server().Log());
  bool logged = false;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    logged = logged ||
             (absl::StartsWith(line, "E") && absl::StrContains(line, "SIGHUP"));
  }
  EXPECT_TRUE(logged) << "no ERROR about the failed reload in the log";
}

// ---------------------------------------------------------------------------
// 6. Metrics.

TEST_F(TlsTest, MetricsCountOpenTlsConnections) {
  const bool kernel_tls = chatd::KernelTlsAvailable();
  ASSERT_OK_AND_ASSIGN(double available, Metric("chatd_kernel_tls_available"));
  EXPECT_EQ(available, kernel_tls ? 1 : 0)
      << "/proc/sys/net/ipv4/tcp_available_ulp "
      << (kernel_tls ? "lists" : "does not list") << " tls";
  // The established TLS connections, whichever way they encrypt.
  auto established = [&]() -> absl::StatusOr<double> {
    absl::StatusOr<double> user = Metric(kTlsUser);
    if (!user.ok()) return user;
    absl::StatusOr<double> kernel = Metric(kTlsKernel);
    if (!kernel.ok()) return kernel;
    if (!kernel_tls && *kernel != 0) {
      return absl::InternalError(
          absl::StrCat("kernel TLS connections without kernel TLS: ", *kernel));
    }
    return *user + *kernel;
  };
  auto wait_established = [&](double want) -> absl::Status {
    const absl::Time deadline = absl::Now() + kDefaultTimeout;
    absl::StatusOr<double> value;
    while (true) {
      value = established();
      if (value.ok() && *value == want) return absl::OkStatus();
      if (!value.ok() || absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (!value.ok()) return value.status();
    return absl::DeadlineExceededError(absl::StrCat(
        "open TLS connections per /metrics: ", *value, ", want ", want));
  };
  ASSERT_OK(wait_established(0));

  // Plain members do not count; TLS line and wss members do, joined or not.
  // (Each in a group of its own, so nobody has lines to read.)
  ASSERT_OK_AND_ASSIGN(ChatClient plain, Join("g_plain", "plain", 1));
  ASSERT_OK_AND_ASSIGN(WsClient ws,
                       WsClient::Join(http_port(), "g_ws", "ws", 1));
  std::vector<ChatClient> tls(3);
  ASSERT_OK_AND_ASSIGN(tls[0], TlsJoin("g_t0", "t0", 1));
  ASSERT_OK_AND_ASSIGN(tls[1], TlsJoin("g_t1", "t1", 1));
  ASSERT_OK(tls[2].Connect(TlsLine()));  // Not joined yet.
  ASSERT_OK_AND_ASSIGN(WsClient wss,
                       WsClient::Join(Https(), "g_wss", "wss", 1));
  EXPECT_OK(wait_established(4));
  EXPECT_OK(WaitForMetricEq(http_port(), kTlsHandshaking, 0));
  if (!kernel_tls) {
    EXPECT_OK(WaitForMetricEq(http_port(), kTlsUser, 4));
  }

  // A connection in the middle of its handshake.
  ASSERT_OK_AND_ASSIGN(std::string hello, MakeClientHello(trust_));
  ChatClient half;
  ASSERT_OK(half.Connect(server().tls_port()));
  ASSERT_OK(half.SendRaw(hello.substr(0, 20)));
  EXPECT_OK(WaitForMetricEq(http_port(), kTlsHandshaking, 1));
  EXPECT_OK(wait_established(4));
  half.Close();
  EXPECT_OK(WaitForMetricEq(http_port(), kTlsHandshaking, 0));

  // Closing some: with close_notify, abruptly, and a wss close handshake.
  ASSERT_OK(tls[0].ShutdownWrite());
  EXPECT_OK(tls[0].ExpectClosed());
  tls[1].Close();
  EXPECT_OK(wait_established(2));
  ASSERT_OK(wss.SendClose(1000));
  EXPECT_OK(wss.ExpectClose(1000));
  EXPECT_OK(wait_established(1));
  tls[2].Close();
  EXPECT_OK(wait_established(0));
}

}  // namespace
}  // namespace chatd_test
