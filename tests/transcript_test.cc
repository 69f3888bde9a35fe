// The transcript checker is what lets the broadcast tests fail: these cases
// show it notices each kind of delivery error it is meant to catch.

#include "tests/transcript.h"

#include <gtest/gtest.h>

namespace chatd_test {
namespace {

TEST(TranscriptTest, SplitsLinesBySubject) {
  Transcript got =
      BySubject({"* bob has joined", "bob: hi: there", "ann: x",
                 "* bob has left", "garbage", "* server shutting down"});
  Transcript want = {{"bob", {kJoined, "hi: there", kLeft}},
                     {"ann", {"x"}},
                     {kUnparsed, {"garbage", "* server shutting down"}}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(DescribeDifference(want, got), "");
}

TEST(TranscriptTest, InterleavingAcrossSendersIsAllowed) {
  Transcript want = {{"a", {"1", "2"}}, {"b", {"1", "2"}}};
  EXPECT_EQ(
      DescribeDifference(want, BySubject({"b: 1", "a: 1", "a: 2", "b: 2"})),
      "");
}

TEST(TranscriptTest, ReportsReorderingLossDuplicatesAndStrangers) {
  Transcript want = {{"a", {"1", "2"}}};
  EXPECT_NE(DescribeDifference(want, BySubject({"a: 2", "a: 1"})), "");
  EXPECT_NE(DescribeDifference(want, BySubject({"a: 1"})), "");
  EXPECT_NE(DescribeDifference(want, BySubject({"a: 1", "a: 2", "a: 2"})), "");
  EXPECT_NE(DescribeDifference(want, BySubject({"a: 1", "z: 1", "a: 2"})), "");
  // A line torn mid-way and spliced with another sender's.
  EXPECT_NE(DescribeDifference(want, BySubject({"a: 1", "a: b: 1"})), "");
}

TEST(TranscriptTest, DifferenceNamesSubjectAndPosition) {
  Transcript want = {{"a", {"1", "2", "3"}}};
  EXPECT_EQ(DescribeDifference(want, BySubject({"a: 1", "a: 3"})),
            "from a: expected 3 entries, got 2; first difference at #1: "
            "expected \"2\", got \"3\"\n");
}

}  // namespace
}  // namespace chatd_test
