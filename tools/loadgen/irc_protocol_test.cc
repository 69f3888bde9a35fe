// Tests for the IRC session: registration, JOIN after the welcome, joined at
// end of NAMES with the member count, PING/PONG, PRIVMSG parsing, errors,
// all on streams cut at every position.
#include "tools/loadgen/irc_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/loadgen/protocol_test_util.h"

namespace chatd::loadgen {
namespace {

using ::testing::ElementsAre;

SessionFactory Factory() {
  return [] { return std::make_unique<IrcSession>("g1", "c7"); };
}

TEST(IrcProtocolTest, StartRegisters) {
  IrcSession session("g1", "c7");
  RecordingEvents events;
  session.Start(&events);
  EXPECT_THAT(events.events,
              ElementsAre("send NICK c7\r\nUSER c7 0 * :loadgen\r\n"));
}

TEST(IrcProtocolTest, FramesPrivmsgToTheChannel) {
  IrcSession session("g1", "c7");
  std::string out;
  session.FrameMessage("m 1 2 3 xx", &out);
  EXPECT_EQ(out, "PRIVMSG #g1 :m 1 2 3 xx\r\n");
}

TEST(IrcProtocolTest, ParsesRegistrationJoinAndTrafficCutAnywhere) {
  const std::string stream =
      ":irc.local NOTICE * :*** Looking up your hostname...\r\n"
      "PING :12345\r\n"
      ":irc.local 001 c7 :Welcome to the network c7!c7@localhost\r\n"
      ":irc.local 005 c7 CHANTYPES=# :are supported by this server\r\n"
      ":irc.local 422 c7 :MOTD File is missing\r\n"
      ":c7!~c7@localhost JOIN :#g1\r\n"
      ":irc.local 353 c7 = #g1 :c1 @c3 c7\r\n"
      ":irc.local 353 c7 = #g1 :c5\r\n"
      ":irc.local 366 c7 #g1 :End of /NAMES list.\r\n"
      ":c9!~c9@localhost JOIN #g1\r\n"
      ":c1!~c1@localhost PRIVMSG #g1 :m 1 0 100 xxx\r\n"
      "@time=2024-01-01T00:00:00Z :c9!u@h PRIVMSG #g1 :m 9 0 200\n"
      ":c1!~c1@localhost PART #g1 :bye\r\n"
      ":irc.local 404 c7 #g1 :Cannot send to channel\r\n"
      "ERROR :Closing link: (c7@localhost) [Excess Flood]\r\n";
  EXPECT_THAT(
      ExpectSameEventsAtEverySplit(Factory(), stream),
      ElementsAre("send PONG :12345\r\n", "send JOIN #g1\r\n", "joined 4",
                  "member-joined", "message m 1 0 100 xxx", "message m 9 0 200",
                  "error :irc.local 404 c7 #g1 :Cannot send to channel",
                  "error ERROR :Closing link: (c7@localhost) [Excess Flood]"));
}

TEST(IrcProtocolTest, NamesForOtherChannelsDoNotCount) {
  EXPECT_THAT(FeedWhole(Factory(),
                        ":s 353 c7 = #other :a b c\r\n"
                        ":s 366 c7 #g1 :End\r\n"),
              ElementsAre("joined -1"));
}

TEST(IrcProtocolTest, ParsesLineParts) {
  IrcLine line;
  ASSERT_TRUE(ParseIrcLine(":n!u@h PRIVMSG #g :hello there", &line));
  EXPECT_EQ(line.prefix, "n!u@h");
  EXPECT_EQ(line.command, "PRIVMSG");
  EXPECT_THAT(line.params, ElementsAre("#g", "hello there"));
  ASSERT_TRUE(ParseIrcLine("PING", &line));
  EXPECT_EQ(line.command, "PING");
  EXPECT_TRUE(line.params.empty());
  EXPECT_FALSE(ParseIrcLine(":prefix-only", &line));
}

}  // namespace
}  // namespace chatd::loadgen
