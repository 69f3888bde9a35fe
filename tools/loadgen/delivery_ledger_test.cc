// Tests for DeliveryLedger: telling in-order, gapped, late (reordered) and
// repeated (duplicate) deliveries apart, and counting losses at the end.
#include "tools/loadgen/delivery_ledger.h"

#include <gtest/gtest.h>

namespace chatd::loadgen {
namespace {

using Outcome = DeliveryLedger::Outcome;

TEST(DeliveryLedgerTest, InOrderStreamHasNothingWrong) {
  DeliveryLedger ledger(2);
  for (uint32_t seq = 0; seq < 100; ++seq) {
    EXPECT_EQ(ledger.Record(0, seq), Outcome::kInOrder);
  }
  EXPECT_EQ(ledger.distinct(0), 100u);
  EXPECT_EQ(ledger.DistinctBelow(0, 100), 100u);
  EXPECT_EQ(ledger.distinct(1), 0u);
  EXPECT_EQ(ledger.duplicates(), 0u);
  EXPECT_EQ(ledger.reordered(), 0u);
}

TEST(DeliveryLedgerTest, GapNeverFilledIsALoss) {
  DeliveryLedger ledger(1);
  EXPECT_EQ(ledger.Record(0, 0), Outcome::kInOrder);
  EXPECT_EQ(ledger.Record(0, 1), Outcome::kInOrder);
  EXPECT_EQ(ledger.Record(0, 3), Outcome::kAhead);  // 2 is missing.
  EXPECT_EQ(ledger.Record(0, 4), Outcome::kInOrder);
  // The sender sent 5: one lost.
  EXPECT_EQ(5u - ledger.DistinctBelow(0, 5), 1u);
  EXPECT_EQ(ledger.duplicates(), 0u);
  EXPECT_EQ(ledger.reordered(), 0u);
}

TEST(DeliveryLedgerTest, LostTailIsALossToo) {
  DeliveryLedger ledger(1);
  for (uint32_t seq = 0; seq < 7; ++seq) ledger.Record(0, seq);
  EXPECT_EQ(10u - ledger.DistinctBelow(0, 10), 3u);
}

TEST(DeliveryLedgerTest, RepeatIsADuplicate) {
  DeliveryLedger ledger(1);
  ledger.Record(0, 0);
  ledger.Record(0, 1);
  EXPECT_EQ(ledger.Record(0, 1), Outcome::kDuplicate);
  EXPECT_EQ(ledger.Record(0, 0), Outcome::kDuplicate);
  ledger.Record(0, 2);
  EXPECT_EQ(ledger.duplicates(), 2u);
  EXPECT_EQ(ledger.reordered(), 0u);
  EXPECT_EQ(ledger.DistinctBelow(0, 3), 3u);
}

TEST(DeliveryLedgerTest, LateArrivalIsReorderedNotLostNorDuplicate) {
  DeliveryLedger ledger(1);
  EXPECT_EQ(ledger.Record(0, 0), Outcome::kInOrder);
  EXPECT_EQ(ledger.Record(0, 2), Outcome::kAhead);
  EXPECT_EQ(ledger.Record(0, 1), Outcome::kLate);
  EXPECT_EQ(ledger.Record(0, 3), Outcome::kInOrder);
  EXPECT_EQ(ledger.reordered(), 1u);
  EXPECT_EQ(ledger.duplicates(), 0u);
  EXPECT_EQ(ledger.DistinctBelow(0, 4), 4u);
  // Once filled, the same number again is a duplicate.
  EXPECT_EQ(ledger.Record(0, 1), Outcome::kDuplicate);
  EXPECT_EQ(ledger.duplicates(), 1u);
}

TEST(DeliveryLedgerTest, FillingTheMiddleOfAWideGapSplitsIt) {
  DeliveryLedger ledger(1);
  ledger.Record(0, 0);
  ledger.Record(0, 10);  // Gap [1, 10).
  EXPECT_EQ(ledger.Record(0, 5), Outcome::kLate);
  EXPECT_EQ(ledger.Record(0, 1), Outcome::kLate);
  EXPECT_EQ(ledger.Record(0, 9), Outcome::kLate);
  EXPECT_EQ(ledger.Record(0, 5), Outcome::kDuplicate);
  for (uint32_t seq : {2u, 3u, 4u, 6u, 7u, 8u}) {
    EXPECT_EQ(ledger.Record(0, seq), Outcome::kLate) << seq;
  }
  EXPECT_EQ(ledger.reordered(), 9u);
  EXPECT_EQ(ledger.duplicates(), 1u);
  EXPECT_EQ(ledger.DistinctBelow(0, 11), 11u);
}

TEST(DeliveryLedgerTest, PairsAreIndependent) {
  DeliveryLedger ledger(3);
  ledger.Record(0, 0);
  ledger.Record(1, 0);
  ledger.Record(1, 1);
  EXPECT_EQ(ledger.Record(2, 1), Outcome::kAhead);
  EXPECT_EQ(ledger.Record(0, 1), Outcome::kInOrder);
  EXPECT_EQ(ledger.DistinctBelow(2, 2), 1u);
  EXPECT_EQ(ledger.DistinctBelow(0, 2), 2u);
}

TEST(DeliveryLedgerTest, DistinctBelowIgnoresNumbersNeverSent) {
  DeliveryLedger ledger(1);
  ledger.Record(0, 0);
  ledger.Record(0, 1);
  ledger.Record(0, 5);  // Gap [2, 5).
  ledger.Record(0, 7);  // Gap [6, 7).
  EXPECT_EQ(ledger.distinct(0), 4u);
  // Only 3 were sent: 0 and 1 count; 5 and 7 are bogus.
  EXPECT_EQ(ledger.DistinctBelow(0, 3), 2u);
  EXPECT_EQ(ledger.DistinctBelow(0, 6), 3u);
  EXPECT_EQ(ledger.DistinctBelow(0, 7), 3u);
  EXPECT_EQ(ledger.DistinctBelow(0, 8), 4u);
}

}  // namespace
}  // namespace chatd::loadgen
