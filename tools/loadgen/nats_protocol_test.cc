// Tests for the NATS session: CONNECT/SUB/PING, joined at the first PONG,
// MSG frames whose payload holds "\r\n"-free text of exact length, PING
// answered, on streams cut at every position.
#include "tools/loadgen/nats_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/loadgen/protocol_test_util.h"

namespace chatd::loadgen {
namespace {

using ::testing::ElementsAre;

SessionFactory Factory() {
  return [] { return std::make_unique<NatsSession>("g1", "c7"); };
}

TEST(NatsProtocolTest, StartConnectsSubscribesAndPings) {
  NatsSession session("g1", "c7");
  RecordingEvents events;
  session.Start(&events);
  EXPECT_THAT(
      events.events,
      ElementsAre("send CONNECT {\"verbose\":false,\"pedantic\":false,"
                  "\"echo\":false,\"name\":\"c7\"}\r\nSUB g1 1\r\nPING\r\n"));
}

TEST(NatsProtocolTest, FramesPubWithLength) {
  NatsSession session("g1", "c7");
  std::string out;
  session.FrameMessage("m 1 2 3", &out);
  EXPECT_EQ(out, "PUB g1 7\r\nm 1 2 3\r\n");
}

TEST(NatsProtocolTest, ParsesAStreamCutAnywhere) {
  const std::string stream =
      "INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n"
      "PONG\r\n"
      "MSG g1 1 13\r\nm 1 0 100 xxx\r\n"
      "PING\r\n"
      "MSG g1 1 reply.to 9\r\nm 9 0 200\r\n"
      "MSG g1 1 0\r\n\r\n"
      "PONG\r\n"
      "+OK\r\n"
      "-ERR 'Slow Consumer'\r\n";
  EXPECT_THAT(ExpectSameEventsAtEverySplit(Factory(), stream),
              ElementsAre("joined -1", "message m 1 0 100 xxx", "send PONG\r\n",
                          "message m 9 0 200", "message ",
                          "error -ERR 'Slow Consumer'"));
}

TEST(NatsProtocolTest, PayloadMayContainProtocolWords) {
  // The payload is counted, not scanned: "PING\r\n" inside it is data.
  EXPECT_THAT(FeedWhole(Factory(), "MSG g1 1 6\r\nPING\r\n\r\n"),
              ElementsAre("message PING\r\n"));
}

TEST(NatsProtocolTest, BadHeaderFailsTheStream) {
  EXPECT_THAT(FeedWhole(Factory(), "MSG g1 1 x\r\n"),
              ElementsAre("error bad MSG header: MSG g1 1 x", "feed failed"));
  EXPECT_THAT(FeedWhole(Factory(), "MSG g1 1 3\r\nabcXY"),
              ElementsAre("feed failed"));
}

}  // namespace
}  // namespace chatd::loadgen
