#include "core/line_framer.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chatd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Result = LineFramer::Result;

// Feeds chunks to a framer and records every line it hands out.
class Collector {
 public:
  explicit Collector(size_t max_line_bytes) : framer_(max_line_bytes) {}

  Result Feed(absl::string_view chunk) {
    return framer_.Feed(chunk, [this](absl::string_view line) {
      lines_.emplace_back(line);
      return true;
    });
  }

  // Feeds each chunk in turn; returns the result of the last Feed, or the
  // first result that is not kOk.
  Result FeedAll(const std::vector<std::string>& chunks) {
    for (const std::string& chunk : chunks) {
      const Result result = Feed(chunk);
      if (result != Result::kOk) return result;
    }
    return Result::kOk;
  }

  // Feeds `bytes` one byte per chunk; stops at the first result that is not
  // kOk and reports how many bytes had been fed when it came.
  Result FeedBytewise(absl::string_view bytes, size_t* fed = nullptr) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const Result result = Feed(bytes.substr(i, 1));
      if (result != Result::kOk) {
        if (fed != nullptr) *fed = i + 1;
        return result;
      }
    }
    if (fed != nullptr) *fed = bytes.size();
    return Result::kOk;
  }

  const std::vector<std::string>& lines() const { return lines_; }
  LineFramer& framer() { return framer_; }

 private:
  LineFramer framer_;
  std::vector<std::string> lines_;
};

TEST(LineFramerTest, SplitsOneLine) {
  Collector c(100);
  EXPECT_EQ(c.Feed("hello\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("hello"));
  EXPECT_EQ(c.framer().buffered_bytes(), 0u);
}

TEST(LineFramerTest, ManyLinesInOneChunk) {
  Collector c(100);
  EXPECT_EQ(c.Feed("one\ntwo\nthree\n\nfive\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("one", "two", "three", "", "five"));
  EXPECT_EQ(c.framer().buffered_bytes(), 0u);
}

TEST(LineFramerTest, UnterminatedTailIsKeptUntilItsNewline) {
  Collector c(100);
  EXPECT_EQ(c.Feed("one\ntw"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("one"));
  EXPECT_EQ(c.framer().buffered_bytes(), 2u);
  EXPECT_EQ(c.Feed("o\nthr"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("one", "two"));
  EXPECT_EQ(c.framer().buffered_bytes(), 3u);
  EXPECT_EQ(c.Feed("ee\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("one", "two", "three"));
  EXPECT_EQ(c.framer().buffered_bytes(), 0u);
}

TEST(LineFramerTest, LineSplitAcrossManyChunks) {
  Collector c(100);
  EXPECT_EQ(c.FeedAll({"he", "ll", "o w", "orl", "d", "\n"}), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("hello world"));
  EXPECT_EQ(c.framer().buffered_bytes(), 0u);
}

TEST(LineFramerTest, OneBytePerChunk) {
  Collector c(100);
  const std::string input = "JOIN cooking alice\r\nhi there\n\n/who\r\n";
  size_t fed = 0;
  EXPECT_EQ(c.FeedBytewise(input, &fed), Result::kOk);
  EXPECT_EQ(fed, input.size());
  EXPECT_THAT(c.lines(),
              ElementsAre("JOIN cooking alice", "hi there", "", "/who"));
  EXPECT_EQ(c.framer().buffered_bytes(), 0u);
}

TEST(LineFramerTest, BufferedBytesGrowsBytePerByte) {
  Collector c(100);
  for (size_t i = 1; i <= 5; ++i) {
    ASSERT_EQ(c.Feed("x"), Result::kOk);
    EXPECT_EQ(c.framer().buffered_bytes(), i);
  }
  EXPECT_THAT(c.lines(), IsEmpty());
  ASSERT_EQ(c.Feed("\n"), Result::kOk);
  EXPECT_EQ(c.framer().buffered_bytes(), 0u);
  EXPECT_THAT(c.lines(), ElementsAre("xxxxx"));
}

TEST(LineFramerTest, CrLfIsStripped) {
  Collector c(100);
  EXPECT_EQ(c.Feed("a\r\nb\r\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("a", "b"));
}

TEST(LineFramerTest, CrLfSplitBetweenChunks) {
  Collector c(100);
  EXPECT_EQ(c.Feed("abc\r"), Result::kOk);
  EXPECT_EQ(c.framer().buffered_bytes(), 4u);
  EXPECT_THAT(c.lines(), IsEmpty());
  EXPECT_EQ(c.Feed("\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("abc"));
}

TEST(LineFramerTest, LoneCrIsKept) {
  Collector c(100);
  EXPECT_EQ(c.Feed("a\rb\n\rc\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("a\rb", "\rc"));
}

TEST(LineFramerTest, OnlyOneCrBeforeNewlineIsDropped) {
  Collector c(100);
  EXPECT_EQ(c.Feed("a\r\r\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("a\r"));
}

TEST(LineFramerTest, EmptyLines) {
  Collector c(100);
  EXPECT_EQ(c.Feed("\n\r\n\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("", "", ""));
  EXPECT_EQ(c.Feed("\r"), Result::kOk);
  EXPECT_EQ(c.Feed("\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("", "", "", ""));
}

TEST(LineFramerTest, EmptyChunkIsHarmless) {
  Collector c(100);
  EXPECT_EQ(c.Feed(""), Result::kOk);
  EXPECT_EQ(c.Feed("ab"), Result::kOk);
  EXPECT_EQ(c.Feed(""), Result::kOk);
  EXPECT_EQ(c.framer().buffered_bytes(), 2u);
  EXPECT_EQ(c.Feed("\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("ab"));
}

TEST(LineFramerTest, LinesAreDeliveredInOrderAcrossChunkBoundaries) {
  Collector c(100);
  EXPECT_EQ(c.FeedAll({"a\nb", "c\nd\ne", "f", "\n"}), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("a", "bc", "d", "ef"));
}

// --- Limits -----------------------------------------------------------------

constexpr size_t kMax = 8;

TEST(LineFramerLimitTest, ExactLimitLineFitsInOneChunk) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a') + "\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre(std::string(kMax, 'a')));
}

TEST(LineFramerLimitTest, ExactLimitLineWithCrLfFits) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a') + "\r\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre(std::string(kMax, 'a')));
}

TEST(LineFramerLimitTest, ExactLimitLineFitsAcrossChunks) {
  Collector c(kMax);
  EXPECT_EQ(c.FeedAll({"aaa", "aaaaa", "\n"}), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("aaaaaaaa"));
}

TEST(LineFramerLimitTest, ExactLimitLineWithCrLfFitsByteByByte) {
  Collector c(kMax);
  EXPECT_EQ(c.FeedBytewise(std::string(kMax, 'a') + "\r\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre(std::string(kMax, 'a')));
  EXPECT_EQ(c.framer().buffered_bytes(), 0u);
}

TEST(LineFramerLimitTest, ExactLimitUnterminatedTailIsKept) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a')), Result::kOk);
  EXPECT_EQ(c.framer().buffered_bytes(), kMax);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, LimitPlusOneTerminatedInOneChunk) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax + 1, 'a') + "\n"), Result::kLineTooLong);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, LimitPlusOneWithCrLfIsTooLong) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax + 1, 'a') + "\r\n"), Result::kLineTooLong);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, LimitPlusOneTerminatedAfterGoodLinesInOneChunk) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed("ok\n" + std::string(kMax + 1, 'a') + "\nlater\n"),
            Result::kLineTooLong);
  // The good line before the long one is delivered; nothing after it.
  EXPECT_THAT(c.lines(), ElementsAre("ok"));
}

TEST(LineFramerLimitTest, LimitPlusOneUnterminatedInOneChunkIsTooLongAtOnce) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax + 1, 'a')), Result::kLineTooLong);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, LimitPlusOneUnterminatedAfterALine) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed("ok\n" + std::string(kMax + 1, 'a')), Result::kLineTooLong);
  EXPECT_THAT(c.lines(), ElementsAre("ok"));
}

TEST(LineFramerLimitTest, LimitPlusOneAcrossChunksDetectedWhenProven) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a')), Result::kOk);
  // The (max+1)th byte is not "\r", so no "\n" can save the line.
  EXPECT_EQ(c.Feed("b"), Result::kLineTooLong);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, LimitPlusOneTerminatedAcrossChunks) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed("aaaa"), Result::kOk);
  EXPECT_EQ(c.Feed("aaaaa\n"), Result::kLineTooLong);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, LimitPlusOneDetectedAtExactByteWhenFedBytewise) {
  Collector c(kMax);
  size_t fed = 0;
  EXPECT_EQ(c.FeedBytewise(std::string(kMax + 5, 'a'), &fed),
            Result::kLineTooLong);
  EXPECT_EQ(fed, kMax + 1);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, CrAtLimitPlusOneInUnterminatedTailIsNotYetTooLong) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a') + "\r"), Result::kOk);
  EXPECT_EQ(c.framer().buffered_bytes(), kMax + 1);
  EXPECT_EQ(c.Feed("\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre(std::string(kMax, 'a')));
  EXPECT_EQ(c.framer().buffered_bytes(), 0u);
}

TEST(LineFramerLimitTest, CrAtLimitPlusOneAcrossChunks) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a')), Result::kOk);
  EXPECT_EQ(c.Feed("\r"), Result::kOk);
  EXPECT_EQ(c.framer().buffered_bytes(), kMax + 1);
  EXPECT_EQ(c.Feed("\nnext\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre(std::string(kMax, 'a'), "next"));
}

TEST(LineFramerLimitTest, CrAtLimitPlusOneAfterALineInSameChunk) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed("x\n" + std::string(kMax, 'a') + "\r"), Result::kOk);
  EXPECT_EQ(c.framer().buffered_bytes(), kMax + 1);
  EXPECT_EQ(c.Feed("\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("x", std::string(kMax, 'a')));
}

TEST(LineFramerLimitTest, CrAtLimitPlusOneFollowedByMoreIsTooLong) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a') + "\r"), Result::kOk);
  EXPECT_EQ(c.Feed("b"), Result::kLineTooLong);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, CrAtLimitPlusOneFollowedByAnotherCrIsTooLong) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a') + "\r"), Result::kOk);
  // Now "\r" is content: max+1 bytes plus the line ending's "\r".
  EXPECT_EQ(c.Feed("\r\n"), Result::kLineTooLong);
  EXPECT_THAT(c.lines(), IsEmpty());
}

TEST(LineFramerLimitTest, LimitPlusTwoEndingInCrIsTooLongInOneChunk) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax + 1, 'a') + "\r"), Result::kLineTooLong);
}

TEST(LineFramerLimitTest, LimitPlusTwoEndingInCrIsTooLongAcrossChunks) {
  Collector c(kMax);
  EXPECT_EQ(c.Feed(std::string(kMax, 'a') + "\r"), Result::kOk);
  EXPECT_EQ(c.Feed("\r"), Result::kLineTooLong);
}

TEST(LineFramerLimitTest, CrInsideLineCountsTowardsLimit) {
  Collector c(kMax);
  // kMax bytes of content with a lone "\r" in it: fits.
  EXPECT_EQ(c.Feed("aaa\raaaa\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("aaa\raaaa"));
  // kMax + 1 bytes of content with a lone "\r" in it: too long.
  EXPECT_EQ(c.Feed("aaa\raaaaa\n"), Result::kLineTooLong);
}

TEST(LineFramerLimitTest, ZeroLimitAllowsOnlyEmptyLines) {
  Collector c(0);
  EXPECT_EQ(c.Feed("\n\r\n"), Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre("", ""));
  EXPECT_EQ(c.Feed("x"), Result::kLineTooLong);
}

TEST(LineFramerLimitTest, ManyExactLimitLinesInterleavedWithSplits) {
  Collector c(kMax);
  const std::string line(kMax, 'z');
  EXPECT_EQ(c.FeedAll({line + "\n" + line.substr(0, 3),
                       line.substr(3) + "\r\n" + line + "\r", "\n"}),
            Result::kOk);
  EXPECT_THAT(c.lines(), ElementsAre(line, line, line));
}

// --- Stopping ---------------------------------------------------------------

TEST(LineFramerStopTest, StopsWhenCallbackReturnsFalse) {
  LineFramer framer(100);
  std::vector<std::string> lines;
  const Result result =
      framer.Feed("one\ntwo\nthree\n", [&](absl::string_view line) {
        lines.emplace_back(line);
        return line != "two";
      });
  EXPECT_EQ(result, Result::kStopped);
  EXPECT_THAT(lines, ElementsAre("one", "two"));
}

TEST(LineFramerStopTest, StopOnFirstLineDropsTheRestOfTheChunk) {
  LineFramer framer(100);
  int calls = 0;
  const Result result = framer.Feed("a\nb\nc", [&](absl::string_view line) {
    ++calls;
    return false;
  });
  EXPECT_EQ(result, Result::kStopped);
  EXPECT_EQ(calls, 1);
  // The unterminated "c" was part of the dropped rest.
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(LineFramerStopTest, StopOnLineCompletedFromPartial) {
  LineFramer framer(100);
  std::vector<std::string> lines;
  auto stop_on_ab = [&](absl::string_view line) {
    lines.emplace_back(line);
    return line != "ab";
  };
  EXPECT_EQ(framer.Feed("a", stop_on_ab), Result::kOk);
  EXPECT_EQ(framer.buffered_bytes(), 1u);
  EXPECT_EQ(framer.Feed("b\nc\nd\n", stop_on_ab), Result::kStopped);
  EXPECT_THAT(lines, ElementsAre("ab"));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(LineFramerStopTest, TooLongLineAfterStopIsNotReported) {
  LineFramer framer(4);
  int calls = 0;
  const Result result =
      framer.Feed("a\naaaaaaaaaa\n", [&](absl::string_view line) {
        ++calls;
        return false;
      });
  EXPECT_EQ(result, Result::kStopped);
  EXPECT_EQ(calls, 1);
}

TEST(LineFramerStopTest, CallbackSeesViewsWithoutLineEndings) {
  LineFramer framer(100);
  std::vector<size_t> sizes;
  EXPECT_EQ(framer.Feed("ab\r\ncde\n\r\n",
                        [&](absl::string_view line) {
                          sizes.push_back(line.size());
                          return true;
                        }),
            Result::kOk);
  EXPECT_THAT(sizes, ElementsAre(2u, 3u, 0u));
}

// --- Holding lines (a throttled consumer) -----------------------------------

using Verdict = LineFramer::Verdict;

// Takes lines while it has tokens; holds the rest.
struct TokenTaker {
  explicit TokenTaker(int initial) : tokens(initial) {}
  int tokens;
  std::vector<std::string> lines;
  Verdict operator()(absl::string_view line) {
    if (tokens == 0) return Verdict::kHold;
    --tokens;
    lines.emplace_back(line);
    return Verdict::kNext;
  }
};

TEST(LineFramerHoldTest, HeldLineAndTheRestWaitForResume) {
  LineFramer framer(100);
  TokenTaker taker(2);
  EXPECT_EQ(framer.Feed("one\ntwo\nthree\r\nfour\nfi", std::ref(taker)),
            Result::kHeld);
  EXPECT_THAT(taker.lines, ElementsAre("one", "two"));
  EXPECT_TRUE(framer.holding());
  EXPECT_EQ(framer.buffered_bytes(), std::string("three\r\nfour\nfi").size());
  // No token: the same line is held again, nothing is lost.
  EXPECT_EQ(framer.Resume(std::ref(taker)), Result::kHeld);
  taker.tokens = 1;
  EXPECT_EQ(framer.Resume(std::ref(taker)), Result::kHeld);
  EXPECT_THAT(taker.lines, ElementsAre("one", "two", "three"));
  taker.tokens = 5;
  // Only the unterminated tail is left, and it waits for input, not tokens.
  EXPECT_EQ(framer.Resume(std::ref(taker)), Result::kOk);
  EXPECT_FALSE(framer.holding());
  EXPECT_EQ(framer.buffered_bytes(), 2u);
  EXPECT_EQ(framer.Feed("ve\n", std::ref(taker)), Result::kOk);
  EXPECT_THAT(taker.lines, ElementsAre("one", "two", "three", "four", "five"));
}

TEST(LineFramerHoldTest, HoldOnLineCompletedFromPartialKeepsItWhole) {
  LineFramer framer(100);
  TokenTaker taker(0);
  EXPECT_EQ(framer.Feed("hel", std::ref(taker)), Result::kOk);
  EXPECT_EQ(framer.Feed("lo\r\nnext\n", std::ref(taker)), Result::kHeld);
  EXPECT_EQ(framer.buffered_bytes(), std::string("hello\r\nnext\n").size());
  taker.tokens = 2;
  EXPECT_EQ(framer.Resume(std::ref(taker)), Result::kOk);
  EXPECT_THAT(taker.lines, ElementsAre("hello", "next"));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(LineFramerHoldTest, InputFedWhileHoldingQueuesBehindTheHeldLine) {
  LineFramer framer(100);
  TokenTaker taker(0);
  EXPECT_EQ(framer.Feed("a\nb", std::ref(taker)), Result::kHeld);
  EXPECT_EQ(framer.Feed("\nc\n", std::ref(taker)), Result::kHeld);
  taker.tokens = 3;
  EXPECT_EQ(framer.Feed("d\n", std::ref(taker)), Result::kHeld);
  EXPECT_THAT(taker.lines, ElementsAre("a", "b", "c"));
  taker.tokens = 1;
  EXPECT_EQ(framer.Resume(std::ref(taker)), Result::kOk);
  EXPECT_THAT(taker.lines, ElementsAre("a", "b", "c", "d"));
}

TEST(LineFramerHoldTest, OverlongLineBehindAHoldIsFoundOnResume) {
  LineFramer framer(4);
  TokenTaker taker(0);
  EXPECT_EQ(framer.Feed("ok\ntoolong\n", std::ref(taker)), Result::kHeld);
  taker.tokens = 5;
  EXPECT_EQ(framer.Resume(std::ref(taker)), Result::kLineTooLong);
  EXPECT_THAT(taker.lines, ElementsAre("ok"));
}

TEST(LineFramerHoldTest, ResumeWithNothingHeldIsHarmless) {
  LineFramer framer(10);
  TokenTaker taker(1);
  EXPECT_EQ(framer.Resume(std::ref(taker)), Result::kOk);
  EXPECT_THAT(taker.lines, ElementsAre());
}

// --- Skipping long lines (LongLines::kSkip) ---------------------------------

// Records lines, and "<overlong>" for each skipped one; answers `verdict`
// for skipped lines.
struct SkipRecorder {
  std::vector<std::string> lines;
  Verdict on_overlong = Verdict::kNext;
  int overlong_calls = 0;
  Verdict operator()(absl::string_view line) {
    lines.emplace_back(line);
    return Verdict::kNext;
  }
  Verdict operator()(LineFramer::Overlong) {
    ++overlong_calls;
    lines.emplace_back("<overlong>");
    return on_overlong;
  }
};

LineFramer SkipFramer(size_t max) {
  return LineFramer(max, LineFramer::LongLines::kSkip);
}

TEST(LineFramerSkipTest, OverlongCompleteLineIsSkippedAndTheNextDelivered) {
  LineFramer framer(kMax, LineFramer::LongLines::kSkip);
  SkipRecorder r;
  EXPECT_EQ(framer.Feed("ok\n" + std::string(kMax + 1, 'a') + "\nnext\n",
                        std::ref(r)),
            Result::kOk);
  EXPECT_THAT(r.lines, ElementsAre("ok", "<overlong>", "next"));
  EXPECT_EQ(r.overlong_calls, 1);
  EXPECT_EQ(framer.buffered_bytes(), 0u);
  // With CR LF too, and several in a row.
  EXPECT_EQ(framer.Feed(std::string(kMax + 1, 'b') + "\r\n" +
                            std::string(3 * kMax, 'c') + "\nlast\r\n",
                        std::ref(r)),
            Result::kOk);
  EXPECT_THAT(r.lines, ElementsAre("ok", "<overlong>", "next", "<overlong>",
                                   "<overlong>", "last"));
}

TEST(LineFramerSkipTest, ExactLimitLinesStillFit) {
  LineFramer framer(kMax, LineFramer::LongLines::kSkip);
  SkipRecorder r;
  const std::string line(kMax, 'a');
  EXPECT_EQ(framer.Feed(line + "\r\n" + line + "\n", std::ref(r)), Result::kOk);
  EXPECT_EQ(framer.Feed(line + "\r", std::ref(r)), Result::kOk);
  EXPECT_EQ(framer.Feed("\n", std::ref(r)), Result::kOk);
  EXPECT_THAT(r.lines, ElementsAre(line, line, line));
  EXPECT_EQ(r.overlong_calls, 0);
}

TEST(LineFramerSkipTest, OverlongUnterminatedAcrossChunksNeverBuffersMore) {
  LineFramer framer(kMax, LineFramer::LongLines::kSkip);
  SkipRecorder r;
  EXPECT_EQ(framer.Feed("ok\n" + std::string(kMax - 2, 'a'), std::ref(r)),
            Result::kOk);
  EXPECT_EQ(framer.buffered_bytes(), kMax - 2);
  // The chunk that proves it too long: told once, nothing kept.
  EXPECT_EQ(framer.Feed("aaaa", std::ref(r)), Result::kOk);
  EXPECT_THAT(r.lines, ElementsAre("ok", "<overlong>"));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
  // Much more of it: dropped as it comes, never buffered, told no more.
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(framer.Feed(std::string(3 * kMax, 'b'), std::ref(r)),
              Result::kOk);
    ASSERT_EQ(framer.buffered_bytes(), 0u);
  }
  EXPECT_EQ(r.overlong_calls, 1);
  // Its end, then a line that arrives intact, split as it may be.
  EXPECT_EQ(framer.Feed("bbb\r\nnex", std::ref(r)), Result::kOk);
  EXPECT_LE(framer.buffered_bytes(), kMax);
  EXPECT_EQ(framer.Feed("t\n", std::ref(r)), Result::kOk);
  EXPECT_THAT(r.lines, ElementsAre("ok", "<overlong>", "next"));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(LineFramerSkipTest, OverlongTailOfAChunkIsSkippedAtOnce) {
  LineFramer framer(kMax, LineFramer::LongLines::kSkip);
  SkipRecorder r;
  EXPECT_EQ(framer.Feed("ok\n" + std::string(kMax + 1, 'a'), std::ref(r)),
            Result::kOk);
  EXPECT_THAT(r.lines, ElementsAre("ok", "<overlong>"));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
  EXPECT_EQ(framer.Feed("aaa\nafter\n", std::ref(r)), Result::kOk);
  EXPECT_THAT(r.lines, ElementsAre("ok", "<overlong>", "after"));
}

TEST(LineFramerSkipTest, OverlongLineCompletedFromPartial) {
  LineFramer framer(kMax, LineFramer::LongLines::kSkip);
  SkipRecorder r;
  EXPECT_EQ(framer.Feed("aaaaa", std::ref(r)), Result::kOk);
  EXPECT_EQ(framer.Feed("aaaaa\nnext\n", std::ref(r)), Result::kOk);
  EXPECT_THAT(r.lines, ElementsAre("<overlong>", "next"));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(LineFramerSkipTest, BytewiseOverlongIsToldOnceAndTheNextLineIsIntact) {
  LineFramer framer(kMax, LineFramer::LongLines::kSkip);
  SkipRecorder r;
  const std::string input =
      std::string(kMax + 5, 'a') + "\r\n" + std::string(kMax, 'z') + "\r\n";
  for (char c : input) {
    ASSERT_EQ(framer.Feed(absl::string_view(&c, 1), std::ref(r)), Result::kOk);
    ASSERT_LE(framer.buffered_bytes(), kMax + 1);
  }
  EXPECT_THAT(r.lines, ElementsAre("<overlong>", std::string(kMax, 'z')));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(LineFramerSkipTest, StopFromTheOverlongCallbackStops) {
  {
    LineFramer framer(kMax, LineFramer::LongLines::kSkip);
    SkipRecorder r;
    r.on_overlong = Verdict::kStop;
    EXPECT_EQ(framer.Feed("ok\n" + std::string(kMax + 1, 'a') + "\nnext\n",
                          std::ref(r)),
              Result::kStopped);
    EXPECT_THAT(r.lines, ElementsAre("ok", "<overlong>"));
  }
  {
    // Found in an unterminated tail.
    LineFramer framer(kMax, LineFramer::LongLines::kSkip);
    SkipRecorder r;
    r.on_overlong = Verdict::kStop;
    EXPECT_EQ(framer.Feed(std::string(kMax + 1, 'a'), std::ref(r)),
              Result::kStopped);
    EXPECT_EQ(r.overlong_calls, 1);
  }
  {
    // Found across chunks.
    LineFramer framer(kMax, LineFramer::LongLines::kSkip);
    SkipRecorder r;
    r.on_overlong = Verdict::kStop;
    EXPECT_EQ(framer.Feed("aaaa", std::ref(r)), Result::kOk);
    EXPECT_EQ(framer.Feed("aaaaaa", std::ref(r)), Result::kStopped);
    EXPECT_EQ(r.overlong_calls, 1);
  }
  {
    // Completed from a partial line.
    LineFramer framer(kMax, LineFramer::LongLines::kSkip);
    SkipRecorder r;
    r.on_overlong = Verdict::kStop;
    EXPECT_EQ(framer.Feed("aaaa", std::ref(r)), Result::kOk);
    EXPECT_EQ(framer.Feed("aaaaa\nnext\n", std::ref(r)), Result::kStopped);
    EXPECT_THAT(r.lines, ElementsAre("<overlong>"));
  }
}

TEST(LineFramerSkipTest, HoldFromTheOverlongCallbackGoesOn) {
  LineFramer framer(kMax, LineFramer::LongLines::kSkip);
  SkipRecorder r;
  r.on_overlong = Verdict::kHold;
  EXPECT_EQ(framer.Feed(std::string(kMax + 1, 'a') + "\nnext\n", std::ref(r)),
            Result::kOk);
  EXPECT_FALSE(framer.holding());
  EXPECT_THAT(r.lines, ElementsAre("<overlong>", "next"));
}

TEST(LineFramerSkipTest, CallbackWithoutOverlongSkipsSilently) {
  LineFramer framer = SkipFramer(kMax);
  std::vector<std::string> lines;
  EXPECT_EQ(framer.Feed("a\n" + std::string(kMax + 1, 'x') + "\nb\n" +
                            std::string(kMax + 2, 'y'),
                        [&](absl::string_view line) {
                          lines.emplace_back(line);
                          return true;
                        }),
            Result::kOk);
  EXPECT_THAT(lines, ElementsAre("a", "b"));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(LineFramerSkipTest, OverlongBehindAHoldIsSkippedOnResume) {
  LineFramer framer(kMax, LineFramer::LongLines::kSkip);
  struct Taker {
    int tokens = 0;
    std::vector<std::string> lines;
    Verdict operator()(absl::string_view line) {
      if (tokens == 0) return Verdict::kHold;
      --tokens;
      lines.emplace_back(line);
      return Verdict::kNext;
    }
    Verdict operator()(LineFramer::Overlong) {
      lines.emplace_back("<overlong>");
      return Verdict::kNext;
    }
  } taker;
  EXPECT_EQ(framer.Feed("ok\n" + std::string(kMax + 1, 'a') + "\nnext\n",
                        std::ref(taker)),
            Result::kHeld);
  taker.tokens = 5;
  EXPECT_EQ(framer.Resume(std::ref(taker)), Result::kOk);
  EXPECT_THAT(taker.lines, ElementsAre("ok", "<overlong>", "next"));
}

TEST(LineFramerSkipTest, FailModeIsUnchangedForAnOverlongAwareCallback) {
  LineFramer framer(kMax);  // kFail, the default.
  SkipRecorder r;
  EXPECT_EQ(framer.Feed("ok\n" + std::string(kMax + 1, 'a') + "\nnext\n",
                        std::ref(r)),
            Result::kLineTooLong);
  EXPECT_THAT(r.lines, ElementsAre("ok"));
  EXPECT_EQ(r.overlong_calls, 0);
  LineFramer split(kMax, LineFramer::LongLines::kFail);
  EXPECT_EQ(split.Feed(std::string(kMax, 'a'), std::ref(r)), Result::kOk);
  EXPECT_EQ(split.Feed("b", std::ref(r)), Result::kLineTooLong);
  EXPECT_EQ(r.overlong_calls, 0);
}

}  // namespace
}  // namespace chatd
