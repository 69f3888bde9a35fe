// EXPECT_OK / ASSERT_OK for absl::Status and absl::StatusOr in gtest, and
// ASSERT_OK_AND_ASSIGN to unwrap an absl::StatusOr.
//
// The system GoogleTest has no Abseil status matchers; these print the status
// on failure so a test log says what went wrong, not just "false".

#ifndef CHATD_TESTS_STATUS_MACROS_H_
#define CHATD_TESTS_STATUS_MACROS_H_

#include <gtest/gtest.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chatd_test {

inline ::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status;
}

template <typename T>
::testing::AssertionResult IsOk(const absl::StatusOr<T>& status_or) {
  return IsOk(status_or.status());
}

}  // namespace chatd_test

#define EXPECT_OK(expr) EXPECT_TRUE(::chatd_test::IsOk(expr))
#define ASSERT_OK(expr) ASSERT_TRUE(::chatd_test::IsOk(expr))

// Evaluates `expr` (an absl::StatusOr) and moves its value into `lhs`, or
// fails the test with the status and returns from the current function.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  CHATD_ASSERT_OK_AND_ASSIGN_IMPL(      \
      CHATD_STATUS_MACROS_CONCAT(status_or_, __LINE__), lhs, expr)
#define CHATD_ASSERT_OK_AND_ASSIGN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  ASSERT_OK(statusor) << " from " #expr;                     \
  lhs = *std::move(statusor)
#define CHATD_STATUS_MACROS_CONCAT(a, b) CHATD_STATUS_MACROS_CONCAT_IMPL(a, b)
#define CHATD_STATUS_MACROS_CONCAT_IMPL(a, b) a##b

#endif  // CHATD_TESTS_STATUS_MACROS_H_
