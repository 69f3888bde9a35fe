// chatd on IPv6 beside IPv4, over real sockets: --bind with a list of
// addresses (127.0.0.1,::1) and with "::" (dual stack, IPv4 clients arrive
// as v4-mapped addresses), the per-address connection cap on both
// families, and TLS over ::1 checked against the certificate's ::1.
//
// Needs ::1 on the loopback interface; without it every test is skipped
// with the reason.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/server_process.h"
#include "tests/status_macros.h"
#include "tests/ws_client.h"

namespace chatd_test {
namespace {

constexpr char kTooMany[] = "ERROR too many connections from your address";

// Empty when ::1 is usable; otherwise why not.
std::string NoIpv6LoopbackReason() {
  std::string output;
  if (FILE* pipe = popen("ip -6 addr show lo 2>&1", "r")) {
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), pipe)) > 0)
      output.append(chunk, n);
    const int status = pclose(pipe);
    if (status == 0 && !absl::StrContains(output, "inet6 ::1")) {
      return absl::StrCat("no ::1 on lo (`ip -6 addr show lo` says: \"", output,
                          "\")");
    }
    // Without the ip tool, binding to ::1 below decides.
  }
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "no IPv6 sockets in this kernel";
  sockaddr_in6 address = {};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool bound =
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  if (!bound) return "cannot bind to [::1]:0 on this machine";
  return "";
}

// `host`:`port`, from the local address `source` when not empty (the
// kernel picks 127.0.0.1 for any 127.x destination otherwise).
Endpoint At(const std::string& host, int port, const std::string& source = "") {
  Endpoint endpoint;
  endpoint.host = host;
  endpoint.port = port;
  endpoint.source_ip = source;
  return endpoint;
}

class Ipv6Test : public ChatServerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.bind = "127.0.0.1,::1";
    Configure(options);
    return options;
  }
  virtual void Configure(ServerProcess::Options& options) const {}

  void SetUp() override {
    const std::string why = NoIpv6LoopbackReason();
    if (!why.empty()) GTEST_SKIP() << "IPv6 loopback unavailable: " << why;
    ASSERT_NO_FATAL_FAILURE(ChatServerTest::SetUp());
  }

  absl::StatusOr<ChatClient> JoinAt(const std::string& host,
                                    absl::string_view group,
                                    absl::string_view name, int online,
                                    const std::string& source = "") {
    return ChatClient::Join(At(host, port(), source), group, name, online);
  }

  // A connection to `host` (from `source`) that the server turns away with
  // `error`.
  void ExpectRefused(const std::string& host, const std::string& error,
                     const std::string& source = "") {
    ChatClient extra;
    ASSERT_OK(extra.Connect(At(host, port(), source)));
    ASSERT_OK(extra.SendLine("JOIN g extra"));
    EXPECT_EQ(extra.NextLine(), error) << " to " << host;
    EXPECT_OK(extra.ExpectClosed()) << " to " << host;
  }

  // Join() that retries while the server refuses with `retry_error`: a slot
  // is freed on the server's side of a close, which a client cannot see.
  absl::StatusOr<ChatClient> JoinEventuallyAt(const std::string& host,
                                              absl::string_view group,
                                              absl::string_view name,
                                              int online,
                                              absl::string_view retry_error) {
    const absl::Time deadline = absl::Now() + kDefaultTimeout;
    while (true) {
      absl::StatusOr<ChatClient> client = JoinAt(host, group, name, online);
      if (client.ok() || absl::Now() >= deadline ||
          !absl::StrContains(client.status().message(), retry_error)) {
        return client;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
};

// Members over ::1 and over 127.0.0.1 see each other: joins, lines and
// leaves, both ways, on the line port and over WebSocket.
TEST_F(Ipv6Test, ListedAddressesServeOneGroup) {
  ASSERT_OK_AND_ASSIGN(ChatClient six, JoinAt("::1", "room", "six", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient four, JoinAt("127.0.0.1", "room", "four", 2));
  EXPECT_EQ(six.NextLine(), "* four has joined");
  ASSERT_OK(six.SendLine("hello over IPv6"));
  EXPECT_EQ(four.NextLine(), "six: hello over IPv6");
  ASSERT_OK(four.SendLine("hello over IPv4"));
  EXPECT_EQ(six.NextLine(), "four: hello over IPv4");

  // A second IPv6 member, and a WebSocket one over IPv6 on the HTTP port.
  ASSERT_OK_AND_ASSIGN(ChatClient six2, JoinAt("::1", "room", "six2", 3));
  EXPECT_EQ(six.NextLine(), "* six2 has joined");
  EXPECT_EQ(four.NextLine(), "* six2 has joined");
  ASSERT_OK_AND_ASSIGN(
      WsClient ws,
      WsClient::Join(At("::1", server().http_port()), "room", "wsix", 4));
  EXPECT_EQ(six.NextLine(), "* wsix has joined");
  EXPECT_EQ(four.NextLine(), "* wsix has joined");
  EXPECT_EQ(six2.NextLine(), "* wsix has joined");
  ASSERT_OK(ws.SendText("from the browser over IPv6"));
  EXPECT_EQ(four.NextLine(), "wsix: from the browser over IPv6");
  EXPECT_EQ(six.NextLine(), "wsix: from the browser over IPv6");
  EXPECT_EQ(six2.NextLine(), "wsix: from the browser over IPv6");
  ASSERT_OK(six.SendLine("/who"));
  EXPECT_EQ(six.NextLine(), "* online in room: four, six, six2, wsix");

  ws.Close();
  EXPECT_EQ(four.NextLine(), "* wsix has left");
  six2.Close();
  EXPECT_EQ(four.NextLine(), "* six2 has left");
  EXPECT_EQ(six.NextLine(), "* wsix has left");
  EXPECT_EQ(six.NextLine(), "* six2 has left");
  four.Close();
  EXPECT_EQ(six.NextLine(), "* four has left");
}

TEST_F(Ipv6Test, OnlyTheListedAddressesListen) {
  // 127.0.0.2 is loopback too, but not in --bind.
  ChatClient other;
  absl::Status refused = other.Connect(At("127.0.0.2", port()));
  EXPECT_FALSE(refused.ok()) << "the server accepted on 127.0.0.2";
  EXPECT_TRUE(absl::StrContains(refused.message(), "refused")) << refused;
  EXPECT_OK(JoinAt("::1", "room", "six", 1));
}

class DualStackTest : public Ipv6Test {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.bind = "::";
  }
};

TEST_F(DualStackTest, AnyAddressAcceptsBothFamilies) {
  ASSERT_OK_AND_ASSIGN(ChatClient six, JoinAt("::1", "room", "six", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient four, JoinAt("127.0.0.1", "room", "four", 2));
  // To another IPv4 loopback address, from yet another.
  ASSERT_OK_AND_ASSIGN(ChatClient other,
                       JoinAt("127.0.0.2", "room", "other", 3, "127.0.0.3"));
  EXPECT_EQ(six.NextLine(), "* four has joined");
  EXPECT_EQ(six.NextLine(), "* other has joined");
  EXPECT_EQ(four.NextLine(), "* other has joined");
  ASSERT_OK(four.SendLine("v4 to all"));
  EXPECT_EQ(six.NextLine(), "four: v4 to all");
  EXPECT_EQ(other.NextLine(), "four: v4 to all");
  ASSERT_OK(six.SendLine("v6 to all"));
  EXPECT_EQ(four.NextLine(), "six: v6 to all");
  EXPECT_EQ(other.NextLine(), "six: v6 to all");
  // The HTTP port is dual stack too.
  ASSERT_OK_AND_ASSIGN(
      WsClient ws,
      WsClient::Join(At("::1", server().http_port()), "room", "wsix", 4));
  ASSERT_OK_AND_ASSIGN(WsClient ws4,
                       WsClient::Join(At("127.0.0.1", server().http_port()),
                                      "room", "wfour", 5));
  EXPECT_EQ(ws.NextLine(), "* wfour has joined");
  six.Close();
  EXPECT_EQ(four.NextLine(), "* wsix has joined");
  EXPECT_EQ(four.NextLine(), "* wfour has joined");
  EXPECT_EQ(four.NextLine(), "* six has left");
  EXPECT_EQ(ws4.NextLine(), "* six has left");
}

class PerAddressLimitTest : public Ipv6Test {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.max_connections_per_ip = 2;
  }
};

TEST_F(PerAddressLimitTest, ThirdIpv6ConnectionIsRefusedIpv4StillAdmitted) {
  ASSERT_OK_AND_ASSIGN(ChatClient six0, JoinAt("::1", "g6", "six0", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient six1, JoinAt("::1", "g6", "six1", 2));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("::1", kTooMany));
  // IPv4 is counted on its own.
  ASSERT_OK_AND_ASSIGN(ChatClient four0, JoinAt("127.0.0.1", "g4", "four0", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient four1, JoinAt("127.0.0.1", "g4", "four1", 2));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("127.0.0.1", kTooMany));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("::1", kTooMany));

  // The admitted are served.
  EXPECT_EQ(six0.NextLine(), "* six1 has joined");
  ASSERT_OK(six1.SendLine("still here"));
  EXPECT_EQ(six0.NextLine(), "six1: still here");
  EXPECT_EQ(four0.NextLine(), "* four1 has joined");

  // A freed IPv6 slot can be taken again, once.
  six1.Close();
  EXPECT_EQ(six0.NextLine(), "* six1 has left");
  ASSERT_OK_AND_ASSIGN(ChatClient six2,
                       JoinEventuallyAt("::1", "g6", "six2", 2, kTooMany));
  EXPECT_EQ(six0.NextLine(), "* six2 has joined");
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("::1", kTooMany));
}

class DualStackPerAddressLimitTest : public Ipv6Test {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.bind = "::";
    options.max_connections_per_ip = 2;
  }
};

// On a dual-stack socket IPv4 clients arrive as ::ffff:a.b.c.d; each must
// still count as its own IPv4 address, not as one IPv6 /64 shared by all
// of IPv4.
TEST_F(DualStackPerAddressLimitTest, MappedIpv4AddressesAreCountedApart) {
  ASSERT_OK_AND_ASSIGN(ChatClient a0, JoinAt("127.0.0.1", "ga", "a0", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient a1, JoinAt("127.0.0.1", "ga", "a1", 2));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("127.0.0.1", kTooMany));
  ASSERT_OK_AND_ASSIGN(ChatClient b0,
                       JoinAt("127.0.0.1", "gb", "b0", 1, "127.0.0.2"));
  ASSERT_OK_AND_ASSIGN(ChatClient b1,
                       JoinAt("127.0.0.1", "gb", "b1", 2, "127.0.0.2"));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("127.0.0.1", kTooMany, "127.0.0.2"));
  ASSERT_OK_AND_ASSIGN(ChatClient s0, JoinAt("::1", "gs", "s0", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient s1, JoinAt("::1", "gs", "s1", 2));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused("::1", kTooMany));
  EXPECT_EQ(a0.NextLine(), "* a1 has joined");
  EXPECT_EQ(b0.NextLine(), "* b1 has joined");
  EXPECT_EQ(s0.NextLine(), "* s1 has joined");
}

class Ipv6TlsTest : public Ipv6Test {
 protected:
  void Configure(ServerProcess::Options& options) const override {
    options.tls = true;
  }
};

TEST_F(Ipv6TlsTest, TlsOverIpv6VerifiesTheCertificatesAddress) {
  ASSERT_OK_AND_ASSIGN(auto trust, TlsClientContext(server().ca_file()));
  Endpoint six = At("::1", server().tls_port());
  six.tls = trust;  // Checked against the certificate as the address ::1.
  Endpoint four = At("127.0.0.1", server().tls_port());
  four.tls = trust;
  ASSERT_OK_AND_ASSIGN(ChatClient tsix,
                       ChatClient::Join(six, "room", "tsix", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient tfour,
                       ChatClient::Join(four, "room", "tfour", 2));
  ASSERT_OK_AND_ASSIGN(ChatClient plain, JoinAt("::1", "room", "plain", 3));
  EXPECT_EQ(tsix.NextLine(), "* tfour has joined");
  EXPECT_EQ(tsix.NextLine(), "* plain has joined");
  EXPECT_EQ(tfour.NextLine(), "* plain has joined");
  ASSERT_OK(tsix.SendLine("TLS over IPv6"));
  EXPECT_EQ(tfour.NextLine(), "tsix: TLS over IPv6");
  EXPECT_EQ(plain.NextLine(), "tsix: TLS over IPv6");
  ASSERT_OK(plain.SendLine("plain over IPv6"));
  EXPECT_EQ(tsix.NextLine(), "plain: plain over IPv6");

  // wss:// over ::1 as well.
  Endpoint https = At("::1", server().https_port());
  https.tls = trust;
  ASSERT_OK_AND_ASSIGN(WsClient wss, WsClient::Join(https, "room", "wsix", 4));
  EXPECT_EQ(tsix.NextLine(), "* wsix has joined");
  ASSERT_OK(wss.SendText("wss over IPv6"));
  EXPECT_EQ(tsix.NextLine(), "wsix: wss over IPv6");

  // The check is real: the certificate is not for ::2.
  Endpoint wrong = six;
  wrong.server_name = "::2";
  ChatClient misnamed;
  absl::Status status = misnamed.Connect(wrong);
  EXPECT_FALSE(status.ok()) << "a certificate for ::1 passed as ::2";
  EXPECT_TRUE(absl::StrContains(status.message(), "certificate verify failed"))
      << status;
}

}  // namespace
}  // namespace chatd_test
