// Tests for the --servers and --server_pids parsers.
#include "tools/loadgen/server_list.h"

#include <gtest/gtest.h>

namespace chatd::loadgen {
namespace {

TEST(ParseServerListTest, ParsesEntriesInOrder) {
  absl::StatusOr<std::vector<ServerAddress>> servers =
      ParseServerList("127.0.0.1:7000, 10.1.2.3:65535,localhost:1");
  ASSERT_TRUE(servers.ok()) << servers.status();
  ASSERT_EQ(servers->size(), 3u);
  EXPECT_EQ((*servers)[0], (ServerAddress{"127.0.0.1", 7000}));
  EXPECT_EQ((*servers)[1], (ServerAddress{"10.1.2.3", 65535}));
  EXPECT_EQ((*servers)[2], (ServerAddress{"localhost", 1}));
  EXPECT_EQ(FormatServerAddress((*servers)[1]), "10.1.2.3:65535");
}

TEST(ParseServerListTest, OneServer) {
  absl::StatusOr<std::vector<ServerAddress>> servers =
      ParseServerList("127.0.0.2:4222");
  ASSERT_TRUE(servers.ok()) << servers.status();
  ASSERT_EQ(servers->size(), 1u);
  EXPECT_EQ((*servers)[0], (ServerAddress{"127.0.0.2", 4222}));
}

TEST(ParseServerListTest, RejectsBadEntries) {
  for (const char* bad : {
           "",
           " ",
           ",",
           "127.0.0.1:7000,",
           "127.0.0.1:7000,,127.0.0.1:7001",
           "127.0.0.1",
           "127.0.0.1:",
           ":7000",
           "127.0.0.1:0",
           "127.0.0.1:65536",
           "127.0.0.1:-1",
           "127.0.0.1:+80",
           "127.0.0.1:70x",
           "127.0.0.256:7000",
           "example.com:7000",
           "::1:7000",
           "[::1]:7000",
           "127.0.0.1:7000,127.0.0.1:7000",
       }) {
    absl::StatusOr<std::vector<ServerAddress>> servers = ParseServerList(bad);
    EXPECT_FALSE(servers.ok()) << "\"" << bad << "\" was accepted";
    if (!servers.ok()) {
      EXPECT_EQ(servers.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_FALSE(servers.status().message().empty());
    }
  }
}

TEST(ParseServerListTest, ErrorNamesTheEntry) {
  absl::StatusOr<std::vector<ServerAddress>> servers =
      ParseServerList("127.0.0.1:7000,127.0.0.1:99999");
  ASSERT_FALSE(servers.ok());
  EXPECT_NE(servers.status().message().find("127.0.0.1:99999"),
            std::string::npos)
      << servers.status();
}

TEST(ParsePidListTest, ParsesPids) {
  absl::StatusOr<std::vector<int>> pids = ParsePidList("12, 345,6");
  ASSERT_TRUE(pids.ok()) << pids.status();
  EXPECT_EQ(*pids, (std::vector<int>{12, 345, 6}));
}

TEST(ParsePidListTest, RejectsBadPids) {
  for (const char* bad :
       {"", "1,", ",1", "0", "-5", "+5", "abc", "1.5", "99999999999", "7,7"}) {
    EXPECT_FALSE(ParsePidList(bad).ok()) << "\"" << bad << "\" was accepted";
  }
}

}  // namespace
}  // namespace chatd::loadgen
