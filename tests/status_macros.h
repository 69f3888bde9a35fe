// EXPECT_OK / ASSERT_OK for absl::Status and absl::StatusOr in gtest.
//
// The system GoogleTest has no Abseil status matchers; these print the status
// on failure so a test log says what went wrong, not just "false".

#ifndef CHATD_TESTS_STATUS_MACROS_H_
#define CHATD_TESTS_STATUS_MACROS_H_

#include <gtest/gtest.h>

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

#endif  // CHATD_TESTS_STATUS_MACROS_H_
