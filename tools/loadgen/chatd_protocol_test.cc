// Tests for the chatd protocol session: join request, message framing, and
// parsing a received stream cut at every position.
#include "tools/loadgen/chatd_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/loadgen/protocol_test_util.h"

namespace chatd::loadgen {
namespace {

using ::testing::ElementsAre;

SessionFactory Factory() {
  return [] { return std::make_unique<ChatdSession>("g1", "c7"); };
}

TEST(ChatdProtocolTest, StartSendsJoin) {
  ChatdSession session("g1", "c7");
  RecordingEvents events;
  session.Start(&events);
  EXPECT_THAT(events.events, ElementsAre("send JOIN g1 c7\n"));
}

TEST(ChatdProtocolTest, FramesOneLinePerMessage) {
  ChatdSession session("g1", "c7");
  std::string out;
  session.FrameMessage("m 1 2 3", &out);
  session.FrameMessage("m 1 3 4", &out);
  EXPECT_EQ(out, "m 1 2 3\nm 1 3 4\n");
}

TEST(ChatdProtocolTest, ParsesAStreamCutAnywhere) {
  const std::string stream =
      "* you joined g1 as c7 (3 online)\n"
      "* c9 has joined\n"
      "c1: m 1 0 100 xxxx\n"
      "c9: m 9 0 200\r\n"
      "* c1 has left\n"
      "c3: text: with colon\n"
      "ERROR flooding\n"
      "what is this\n";
  EXPECT_THAT(ExpectSameEventsAtEverySplit(Factory(), stream),
              ElementsAre("joined 3", "member-joined", "message m 1 0 100 xxxx",
                          "message m 9 0 200", "message text: with colon",
                          "error ERROR flooding",
                          "error unexpected line: what is this"));
}

TEST(ChatdProtocolTest, WelcomeWithoutCountStillJoins) {
  EXPECT_THAT(FeedWhole(Factory(), "* you joined g1 as c7\n"),
              ElementsAre("joined -1"));
}

TEST(ChatdProtocolTest, KeepsAnUnfinishedLineForLater) {
  EXPECT_THAT(FeedPieces(Factory(), {"c1: m 1 0", " 5\nc1: m 1 1 6"}),
              ElementsAre("message m 1 0 5"));
}

}  // namespace
}  // namespace chatd::loadgen
