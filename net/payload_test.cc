#include "net/payload.h"

#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace chatd {
namespace {

TEST(PayloadTest, ConcatJoinsParts) {
  PayloadRef p = Payload::Concat({"bob", ": ", "", "hi", "\n"});
  EXPECT_EQ(p->view(), "bob: hi\n");
  EXPECT_EQ(p->size(), 8u);
  EXPECT_EQ(Payload::Copy("")->size(), 0u);
}

TEST(PayloadTest, CopiesShareBytesAndCount) {
  PayloadRef a = Payload::Copy("line\n");
  EXPECT_EQ(a->ref_count_for_testing(), 1);
  PayloadRef b = a;
  EXPECT_EQ(a.get(), b.get());  // Same bytes, no copy.
  EXPECT_EQ(a->ref_count_for_testing(), 2);
  {
    PayloadRef c = b;
    EXPECT_EQ(a->ref_count_for_testing(), 3);
  }
  EXPECT_EQ(a->ref_count_for_testing(), 2);
  PayloadRef moved = std::move(b);
  EXPECT_FALSE(b);
  EXPECT_EQ(a->ref_count_for_testing(), 2);
  moved = PayloadRef();
  EXPECT_EQ(a->ref_count_for_testing(), 1);
}

TEST(PayloadTest, ThreadsShareAndReleaseOnePayload) {
  PayloadRef shared = Payload::Copy("fan out\n");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([copy = shared] {
      std::vector<PayloadRef> refs;
      for (int i = 0; i < 10000; ++i) refs.push_back(copy);
      for (const PayloadRef& r : refs) ASSERT_EQ(r->view(), "fan out\n");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(shared->ref_count_for_testing(), 1);
}

}  // namespace
}  // namespace chatd
