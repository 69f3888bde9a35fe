// Tests for the Redis RESP3 session and the RESP reader: HELLO/SUBSCRIBE,
// PUBLISH framing, joined at the subscribe push, message pushes among
// replies of every RESP3 type, on streams cut at every position.
#include "tools/loadgen/redis_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/loadgen/protocol_test_util.h"
#include "tools/loadgen/resp_reader.h"

namespace chatd::loadgen {
namespace {

using ::testing::ElementsAre;

SessionFactory Factory() {
  return [] { return std::make_unique<RedisSession>("g1", "c7"); };
}

TEST(RedisProtocolTest, StartSaysHello3AndSubscribes) {
  RedisSession session("g1", "c7");
  RecordingEvents events;
  session.Start(&events);
  EXPECT_THAT(events.events,
              ElementsAre("send *2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
                          "*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\ng1\r\n"));
}

TEST(RedisProtocolTest, FramesPublishAsBulkStrings) {
  RedisSession session("g1", "c7");
  std::string out;
  session.FrameMessage("m 1 2 3", &out);
  EXPECT_EQ(out, "*3\r\n$7\r\nPUBLISH\r\n$2\r\ng1\r\n$7\r\nm 1 2 3\r\n");
}

TEST(RedisProtocolTest, ParsesAStreamCutAnywhere) {
  const std::string stream =
      // HELLO 3 reply: a map with nested values.
      "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n"
      "$7\r\nmodules\r\n*0\r\n"
      // The subscription confirmation.
      ">3\r\n$9\r\nsubscribe\r\n$2\r\ng1\r\n:1\r\n"
      // A PUBLISH reply, then deliveries.
      ":5\r\n"
      ">3\r\n$7\r\nmessage\r\n$2\r\ng1\r\n$13\r\nm 1 0 100 xxx\r\n"
      "|1\r\n+key\r\n+val\r\n:2\r\n"
      ">3\r\n$7\r\nmessage\r\n$2\r\ng1\r\n$9\r\nm 9 0 200\r\n"
      "_\r\n#t\r\n,1.5\r\n(12345678901234567890\r\n~1\r\n+x\r\n"
      "=7\r\ntxt:abc\r\n$-1\r\n"
      "-ERR wrong number of arguments\r\n"
      "!5\r\nOOPS!\r\n";
  EXPECT_THAT(
      ExpectSameEventsAtEverySplit(Factory(), stream),
      ElementsAre("joined -1", "message m 1 0 100 xxx", "message m 9 0 200",
                  "error ERR wrong number of arguments", "error OOPS!"));
}

TEST(RedisProtocolTest, BulkPayloadMayHoldCrlf) {
  EXPECT_THAT(FeedWhole(Factory(),
                        ">3\r\n$7\r\nmessage\r\n$2\r\ng1\r\n$4\r\na\r\nb\r\n"),
              ElementsAre("message a\r\nb"));
}

TEST(RedisProtocolTest, GarbageFailsTheStream) {
  EXPECT_THAT(FeedWhole(Factory(), "?what\r\n"),
              ElementsAre("error malformed RESP reply", "feed failed"));
}

TEST(RespReaderTest, ReportsIncompleteUntilTheWholeValueIsThere) {
  const std::string value = ">3\r\n$7\r\nmessage\r\n$2\r\ng1\r\n$3\r\nabc\r\n";
  for (size_t n = 0; n < value.size(); ++n) {
    EXPECT_EQ(ReadRespValue(absl::string_view(value).substr(0, n)).status,
              RespValue::Status::kIncomplete)
        << n;
  }
  const std::string with_more = value + "trailing";
  const RespValue v = ReadRespValue(with_more);
  ASSERT_EQ(v.status, RespValue::Status::kOk);
  EXPECT_EQ(v.size, value.size());
  EXPECT_EQ(v.type, '>');
  EXPECT_EQ(v.elements, 3);
  EXPECT_EQ(v.element[0], "message");
  EXPECT_EQ(v.element[1], "g1");
  EXPECT_EQ(v.element[2], "abc");
}

TEST(RespReaderTest, NestedAggregatesAreSkippedNotCaptured) {
  const RespValue v = ReadRespValue("*2\r\n*1\r\n:1\r\n+ok\r\n");
  ASSERT_EQ(v.status, RespValue::Status::kOk);
  EXPECT_EQ(v.element[0], "");
  EXPECT_EQ(v.element[1], "ok");
}

TEST(RespReaderTest, RejectsBadLengths) {
  EXPECT_EQ(ReadRespValue("$x\r\n").status, RespValue::Status::kMalformed);
  EXPECT_EQ(ReadRespValue("$2\r\nabcd\r\n").status,
            RespValue::Status::kMalformed);
  EXPECT_EQ(ReadRespValue("*-5\r\n").status, RespValue::Status::kMalformed);
}

}  // namespace
}  // namespace chatd::loadgen
