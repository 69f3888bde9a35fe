// Tests for the message stamp: round trips, padding to an exact size, and
// refusing text that is not a stamp.
#include "tools/loadgen/message_stamp.h"

#include <gtest/gtest.h>

namespace chatd::loadgen {
namespace {

TEST(MessageStampTest, RoundTrips) {
  std::string text;
  AppendStampedText(MessageStamp{42, 7, 123456789012345}, 0, &text);
  EXPECT_EQ(text, "m 42 7 123456789012345");
  const std::optional<MessageStamp> stamp = ParseStampedText(text);
  ASSERT_TRUE(stamp.has_value());
  EXPECT_EQ(stamp->sender, 42u);
  EXPECT_EQ(stamp->seq, 7u);
  EXPECT_EQ(stamp->t_ns, 123456789012345);
}

TEST(MessageStampTest, PadsToExactlyPayloadBytes) {
  std::string text;
  AppendStampedText(MessageStamp{1, 2, 3}, 64, &text);
  EXPECT_EQ(text.size(), 64u);
  const std::optional<MessageStamp> stamp = ParseStampedText(text);
  ASSERT_TRUE(stamp.has_value());
  EXPECT_EQ(stamp->sender, 1u);
  EXPECT_EQ(stamp->seq, 2u);
  EXPECT_EQ(stamp->t_ns, 3);
}

TEST(MessageStampTest, NeverCutsTheStampToFitPayloadBytes) {
  std::string text;
  AppendStampedText(MessageStamp{123, 456, 789}, 4, &text);
  EXPECT_EQ(text, "m 123 456 789");
}

TEST(MessageStampTest, AppendsAfterExistingText) {
  std::string text = "PUB g 1\r\n";
  AppendStampedText(MessageStamp{0, 0, 0}, 0, &text);
  EXPECT_EQ(text, "PUB g 1\r\nm 0 0 0");
}

TEST(MessageStampTest, RejectsOtherText) {
  for (const char* bad :
       {"", "m", "m ", "m 1 2", "x 1 2 3", "m a 2 3", "m 1 2 3x",
        "m 99999999999 1 1", "m 1 2 99999999999999999999", "m  1 2 3",
        "hello world"}) {
    EXPECT_FALSE(ParseStampedText(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace chatd::loadgen
