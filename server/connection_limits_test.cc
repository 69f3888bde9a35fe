// Checks ConnectionLimits, the acceptor's admission count: the total and
// per-address caps, that Release by fd gives back exactly the slots that fd
// took, and that fds and address keys are reusable once released.
#include "server/connection_limits.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace chatd {
namespace {

using Verdict = ConnectionLimits::Verdict;

constexpr uint64_t kHostA = 0xffffffff'c0000201u;  // 192.0.2.1
constexpr uint64_t kHostB = 0xffffffff'c0000202u;  // 192.0.2.2
constexpr uint64_t kNet6 = 0x20010db8'00000001u;   // 2001:db8:0:1::/64

TEST(ConnectionLimitsTest, AdmitsAndReleasesByFd) {
  ConnectionLimits limits(10, 0);
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(limits.Admit(5, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(6, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.open(), 2u);
  limits.Release(5);
  EXPECT_EQ(limits.open(), 1u);
  limits.Release(6);
  EXPECT_EQ(limits.open(), 0u);
}

TEST(ConnectionLimitsTest, PerAddressLimit) {
  ConnectionLimits limits(100, 2);
  EXPECT_EQ(limits.Admit(10, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(11, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(12, kHostA), Verdict::kTooManyFromAddress);
  // A refusal takes no slot: it is never released.
  EXPECT_EQ(limits.open(), 2u);
  // Other clients, IPv4 or IPv6, have their own count.
  EXPECT_EQ(limits.Admit(12, kHostB), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(13, kNet6), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(14, kNet6), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(15, kNet6), Verdict::kTooManyFromAddress);
  EXPECT_EQ(limits.open(), 5u);
}

TEST(ConnectionLimitsTest, ReleaseFreesTheAddressSlot) {
  ConnectionLimits limits(100, 2);
  ASSERT_EQ(limits.Admit(10, kHostA), Verdict::kAdmit);
  ASSERT_EQ(limits.Admit(11, kHostA), Verdict::kAdmit);
  ASSERT_EQ(limits.Admit(20, kHostB), Verdict::kAdmit);
  ASSERT_EQ(limits.Admit(12, kHostA), Verdict::kTooManyFromAddress);
  // Releasing another address's fd must not credit A.
  limits.Release(20);
  EXPECT_EQ(limits.Admit(12, kHostA), Verdict::kTooManyFromAddress);
  limits.Release(10);
  EXPECT_EQ(limits.Admit(12, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(13, kHostA), Verdict::kTooManyFromAddress);
  EXPECT_EQ(limits.open(), 2u);
}

TEST(ConnectionLimitsTest, TotalLimit) {
  ConnectionLimits limits(3, 0);
  EXPECT_EQ(limits.Admit(1, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(2, kHostB), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(3, kNet6), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(4, kHostA), Verdict::kServerFull);
  EXPECT_EQ(limits.Admit(4, 0x1234), Verdict::kServerFull);
  EXPECT_EQ(limits.open(), 3u);
  limits.Release(2);
  EXPECT_EQ(limits.Admit(4, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(5, kHostA), Verdict::kServerFull);
}

TEST(ConnectionLimitsTest, FullServerWinsOverPerAddress) {
  // Both limits hit: the client hears the server is full, and the refusal
  // leaves its address count alone.
  ConnectionLimits limits(2, 2);
  ASSERT_EQ(limits.Admit(1, kHostA), Verdict::kAdmit);
  ASSERT_EQ(limits.Admit(2, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(3, kHostA), Verdict::kServerFull);
  EXPECT_EQ(limits.Admit(3, kHostB), Verdict::kServerFull);
  limits.Release(1);
  EXPECT_EQ(limits.Admit(3, kHostB), Verdict::kAdmit);
  EXPECT_EQ(limits.open(), 2u);
  limits.Release(2);
  EXPECT_EQ(limits.Admit(4, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(5, kHostA), Verdict::kServerFull);
}

TEST(ConnectionLimitsTest, FdAndKeyReusedAfterRelease) {
  // The kernel hands out the lowest free fd, so the fd of a closed
  // connection comes straight back, often for another address.
  ConnectionLimits limits(100, 1);
  ASSERT_EQ(limits.Admit(7, kHostA), Verdict::kAdmit);
  limits.Release(7);
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(limits.Admit(7, kHostB), Verdict::kAdmit);
  // fd 7 now belongs to B: A's slot is free, B's is taken.
  EXPECT_EQ(limits.Admit(8, kHostA), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(9, kHostB), Verdict::kTooManyFromAddress);
  limits.Release(7);
  EXPECT_EQ(limits.Admit(9, kHostB), Verdict::kAdmit);
  EXPECT_EQ(limits.Admit(10, kHostA), Verdict::kTooManyFromAddress);
  limits.Release(8);
  limits.Release(9);
  EXPECT_EQ(limits.open(), 0u);
  // Many rounds on one key: the count returns to zero every time.
  for (int round = 0; round < 1000; ++round) {
    ASSERT_EQ(limits.Admit(3, kNet6), Verdict::kAdmit) << round;
    ASSERT_EQ(limits.Admit(4, kNet6), Verdict::kTooManyFromAddress) << round;
    limits.Release(3);
  }
  EXPECT_EQ(limits.open(), 0u);
}

TEST(ConnectionLimitsTest, Reasons) {
  EXPECT_EQ(ConnectionLimits::Reason(Verdict::kServerFull), "server full");
  EXPECT_EQ(ConnectionLimits::Reason(Verdict::kTooManyFromAddress),
            "too many connections from your address");
  EXPECT_EQ(ConnectionLimits::Reason(Verdict::kAdmit), "");
}

}  // namespace
}  // namespace chatd
