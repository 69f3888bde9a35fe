#include "net/payload.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

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

TEST(PayloadTest, LineCarriesBothWireForms) {
  PayloadRef line = Payload::Line({"alice", ": ", "hi"});
  EXPECT_TRUE(line->is_line());
  EXPECT_EQ(line->view(), "alice: hi\n");
  EXPECT_EQ(line->wire(Wire::kStream), "alice: hi\n");
  // FIN + text opcode, unmasked length 9, then the text without "\n".
  EXPECT_EQ(line->wire(Wire::kWebSocket), std::string("\x81\x09"
                                                      "alice: hi"));
  // Both forms are views of one allocation.
  EXPECT_EQ(line->wire(Wire::kWebSocket).data() + 2,
            line->wire(Wire::kStream).data());
}

TEST(PayloadTest, LineHeaderGrowsWithLength) {
  const std::string medium(200, 'm');
  PayloadRef a = Payload::Line({medium});
  absl::string_view ws = a->wire(Wire::kWebSocket);
  ASSERT_EQ(ws.size(), 4 + medium.size());
  EXPECT_EQ(ws.substr(0, 4), std::string("\x81\x7e\x00\xc8", 4));
  EXPECT_EQ(ws.substr(4), medium);
  const std::string large(70000, 'l');
  PayloadRef b = Payload::Line({large});
  ws = b->wire(Wire::kWebSocket);
  ASSERT_EQ(ws.size(), 10 + large.size());
  EXPECT_EQ(ws.substr(0, 10),
            std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10));
  EXPECT_EQ(b->view().size(), large.size() + 1);
}

TEST(PayloadTest, InvalidUtf8IsRepairedForWebSocketOnly) {
  // A stream member sent bytes that are not UTF-8; a text message must be.
  PayloadRef line = Payload::Line({"tim: ok ", "\xff", "!"});
  EXPECT_EQ(line->view(), "tim: ok \xff!\n");  // Streams get the bytes sent.
  EXPECT_EQ(line->wire(Wire::kWebSocket), std::string("\x81\x0c"
                                                      "tim: ok \xEF\xBF\xBD!"));
}

TEST(PayloadTest, OtherPayloadsAreTheSameOnEveryWire) {
  PayloadRef raw = Payload::Copy("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_FALSE(raw->is_line());
  EXPECT_EQ(raw->wire(Wire::kWebSocket), raw->view());
}

}  // namespace
}  // namespace chatd
