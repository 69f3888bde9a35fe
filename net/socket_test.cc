// Checks net/socket.h: the per-client key behind --max_connections_per_ip
// (IPv4, mapped IPv4, IPv6 /64s, no cross-family collisions), address
// formatting for logs, --bind parsing, and listening on IPv4, IPv6 and
// dual-stack sockets over loopback.
#include "net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"

namespace chatd {
namespace {

sockaddr_storage V4(const char* ip, uint16_t port = 0) {
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, ip, &v4->sin_addr), 1) << ip;
  return storage;
}

sockaddr_storage V6(const char* ip, uint16_t port = 0) {
  sockaddr_storage storage{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1) << ip;
  return storage;
}

TEST(AddressKeyTest, Ipv4IsTheAddressUnderAFixedPrefix) {
  EXPECT_EQ(AddressKey(V4("192.0.2.1")), 0xffffffff'c0000201u);
  EXPECT_EQ(AddressKey(V4("0.0.0.0")), 0xffffffff'00000000u);
  // The port is not part of the client.
  EXPECT_EQ(AddressKey(V4("192.0.2.1", 1)), AddressKey(V4("192.0.2.1", 2)));
  EXPECT_NE(AddressKey(V4("192.0.2.1")), AddressKey(V4("192.0.2.2")));
}

TEST(AddressKeyTest, MappedIpv4CountsAsIpv4) {
  // A dual-stack listener sees IPv4 clients this way; counting them apart
  // would double the per-address limit for anyone reaching both sockets.
  EXPECT_EQ(AddressKey(V6("::ffff:192.0.2.1")), AddressKey(V4("192.0.2.1")));
  EXPECT_EQ(AddressKey(V6("::ffff:127.0.0.1", 9)),
            AddressKey(V4("127.0.0.1", 7)));
  EXPECT_NE(AddressKey(V6("::ffff:192.0.2.1")), AddressKey(V4("192.0.2.2")));
}

TEST(AddressKeyTest, OneIpv6Slash64IsOneClient) {
  EXPECT_EQ(AddressKey(V6("2001:db8:1:2::1")),
            AddressKey(V6("2001:db8:1:2:ffff:ffff:ffff:ffff")));
  EXPECT_EQ(AddressKey(V6("2001:db8:1:2::1")), 0x20010db8'00010002u);
  EXPECT_NE(AddressKey(V6("2001:db8:1:2::1")),
            AddressKey(V6("2001:db8:1:3::1")));
  EXPECT_NE(AddressKey(V6("2001:db8:1:2::1")),
            AddressKey(V6("2001:db9:1:2::1")));
}

TEST(AddressKeyTest, FamiliesNeverCollide) {
  // IPv6 addresses whose bits look most like an IPv4 key or address.
  const char* const kIpv6[] = {
      "::1",                 // prefix 0
      "::127.0.0.1",         // deprecated IPv4-compatible form
      "::ffff:0:127.0.0.1",  // IPv4-translated (SIIT), not mapped
      "64:ff9b::7f00:1",     // NAT64 of 127.0.0.1
      "0:0:ffff:ffff::",     // ffffffff in the low half of the /64
      "7f00:1::",            // 127.0.0.1 as the top 32 bits
      "feff:ffff:7f00:1::",  // one bit short of the IPv4 prefix
  };
  const char* const kIpv4[] = {"127.0.0.1", "0.0.0.0", "255.255.255.255",
                               "0.0.0.1"};
  for (const char* v6 : kIpv6) {
    for (const char* v4 : kIpv4) {
      EXPECT_NE(AddressKey(V6(v6)), AddressKey(V4(v4))) << v6 << " vs " << v4;
    }
  }
}

TEST(AddressKeyTest, OtherFamiliesAreZero) {
  sockaddr_storage unix_address{};
  unix_address.ss_family = AF_UNIX;
  EXPECT_EQ(AddressKey(unix_address), 0u);
}

TEST(FormatAddressTest, Ipv4) {
  EXPECT_EQ(FormatAddress(V4("192.0.2.1", 5000)), "192.0.2.1:5000");
  EXPECT_EQ(FormatAddress(V4("0.0.0.0", 0)), "0.0.0.0:0");
  EXPECT_EQ(FormatAddress(V4("255.255.255.255", 65535)),
            "255.255.255.255:65535");
}

TEST(FormatAddressTest, Ipv6InBrackets) {
  EXPECT_EQ(FormatAddress(V6("2001:db8::1", 5000)), "[2001:db8::1]:5000");
  EXPECT_EQ(FormatAddress(V6("::1", 7000)), "[::1]:7000");
  EXPECT_EQ(FormatAddress(V6("::", 1)), "[::]:1");
  // inet_ntop's canonical form: lower case, longest zero run compressed.
  EXPECT_EQ(FormatAddress(V6("2001:DB8:0:0:1:0:0:1", 80)),
            "[2001:db8::1:0:0:1]:80");
}

TEST(FormatAddressTest, MappedShownAsIpv4) {
  EXPECT_EQ(FormatAddress(V6("::ffff:192.0.2.1", 5000)), "192.0.2.1:5000");
}

TEST(FormatAddressTest, UnknownFamily) {
  sockaddr_storage unix_address{};
  unix_address.ss_family = AF_UNIX;
  EXPECT_EQ(FormatAddress(unix_address), "?");
}

TEST(ParseBindListTest, AcceptsListsInOrder) {
  using List = std::vector<std::string>;
  auto one = ParseBindList("127.0.0.1");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, List({"127.0.0.1"}));

  auto both = ParseBindList("::1,127.0.0.1,0.0.0.0,::");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(*both, List({"::1", "127.0.0.1", "0.0.0.0", "::"}));

  auto spaced = ParseBindList(" 127.0.0.1 ,\t::1 ");
  ASSERT_TRUE(spaced.ok()) << spaced.status();
  EXPECT_EQ(*spaced, List({"127.0.0.1", "::1"}));
}

TEST(ParseBindListTest, RefusesWhatIsNotAnAddress) {
  for (const char* bad : {"", "localhost", "127.0.0.1,", ",::1",
                          "127.0.0.1,,::1", "1.2.3", "256.0.0.1", "[::1]",
                          "::1%lo", "127.0.0.1:7000", "::g", "127.0.0.1;::1"}) {
    auto result = ParseBindList(bad);
    EXPECT_FALSE(result.ok()) << '"' << bad << '"';
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_TRUE(absl::StrContains(result.status().message(), "--bind"))
        << result.status();
  }
}

TEST(ParseBindListTest, RefusesRepeats) {
  auto twice = ParseBindList("127.0.0.1,::1,127.0.0.1");
  ASSERT_FALSE(twice.ok());
  EXPECT_TRUE(absl::StrContains(twice.status().message(), "127.0.0.1"))
      << twice.status();
  EXPECT_TRUE(absl::StrContains(twice.status().message(), "twice"))
      << twice.status();
  EXPECT_FALSE(ParseBindList("::1, ::1").ok());
}

bool HasIpv6Loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_storage address = V6("::1");
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address),
                       sizeof(sockaddr_in6)) == 0;
  close(fd);
  return ok;
}

// Connects to ip:port, then accepts on `listener` (non-blocking, so it
// polls), and returns the accepted socket's peer as FormatAddress shows it,
// or "" on failure.
std::string ConnectAndAccept(int listener, const sockaddr_storage& to) {
  const int client = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0) return "";
  const socklen_t length =
      to.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (connect(client, reinterpret_cast<const sockaddr*>(&to), length) != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    close(client);
    return "";
  }
  pollfd ready{listener, POLLIN, 0};
  std::string peer;
  if (poll(&ready, 1, 5000) == 1) {
    const int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (accepted >= 0) {
      peer = PeerAddress(accepted);
      close(accepted);
    }
  }
  close(client);
  return peer;
}

void ExpectNonBlockingCloexec(int fd) {
  EXPECT_NE(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
}

TEST(ListenTcpTest, Ipv4LoopbackFreePort) {
  auto fd = ListenTcp("127.0.0.1", 0, 16);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ExpectNonBlockingCloexec(*fd);
  auto port = LocalPort(*fd);
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_NE(*port, 0);
  const std::string peer = ConnectAndAccept(*fd, V4("127.0.0.1", *port));
  EXPECT_TRUE(absl::StartsWith(peer, "127.0.0.1:")) << peer;
  close(*fd);
}

TEST(ListenTcpTest, Ipv6LoopbackFreePort) {
  if (!HasIpv6Loopback()) GTEST_SKIP() << "no ::1 on loopback";
  auto fd = ListenTcp("::1", 0, 16);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ExpectNonBlockingCloexec(*fd);
  auto port = LocalPort(*fd);
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_NE(*port, 0);
  const std::string peer = ConnectAndAccept(*fd, V6("::1", *port));
  EXPECT_TRUE(absl::StartsWith(peer, "[::1]:")) << peer;
  close(*fd);
}

TEST(ListenTcpTest, DualStackAcceptsIpv4) {
  if (!HasIpv6Loopback()) GTEST_SKIP() << "no IPv6 on loopback";
  auto fd = ListenTcp("::", 0, 16, /*dual_stack=*/true);
  ASSERT_TRUE(fd.ok()) << fd.status();
  auto port = LocalPort(*fd);
  ASSERT_TRUE(port.ok()) << port.status();
  // The IPv4 client arrives mapped; PeerAddress must still show IPv4.
  const std::string peer = ConnectAndAccept(*fd, V4("127.0.0.1", *port));
  EXPECT_TRUE(absl::StartsWith(peer, "127.0.0.1:")) << peer;
  const std::string peer6 = ConnectAndAccept(*fd, V6("::1", *port));
  EXPECT_TRUE(absl::StartsWith(peer6, "[::1]:")) << peer6;
  close(*fd);
}

TEST(ListenTcpTest, Ipv6OnlyWithoutDualStack) {
  if (!HasIpv6Loopback()) GTEST_SKIP() << "no IPv6 on loopback";
  // The system default (net.ipv6.bindv6only) must not decide this: "::"
  // without dual_stack leaves 127.0.0.1's port free for an IPv4 socket.
  auto v6 = ListenTcp("::", 0, 16, /*dual_stack=*/false);
  ASSERT_TRUE(v6.ok()) << v6.status();
  auto port = LocalPort(*v6);
  ASSERT_TRUE(port.ok()) << port.status();
  auto v4 = ListenTcp("127.0.0.1", *port, 16);
  EXPECT_TRUE(v4.ok()) << v4.status();
  if (v4.ok()) close(*v4);
  close(*v6);
}

TEST(ListenTcpTest, RefusesBadAddressAndTakenPort) {
  auto bad = ListenTcp("localhost", 0, 16);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);

  auto first = ListenTcp("127.0.0.1", 0, 16);
  ASSERT_TRUE(first.ok()) << first.status();
  auto port = LocalPort(*first);
  ASSERT_TRUE(port.ok()) << port.status();
  auto second = ListenTcp("127.0.0.1", *port, 16);
  EXPECT_FALSE(second.ok());
  EXPECT_TRUE(absl::StrContains(second.status().message(), "bind"))
      << second.status();
  if (second.ok()) close(*second);
  close(*first);
}

}  // namespace
}  // namespace chatd
