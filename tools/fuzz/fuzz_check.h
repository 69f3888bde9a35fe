// FUZZ_CHECK aborts with the failed condition when a fuzz target finds an
// input that breaks an invariant: libFuzzer then saves the input as a crash.
// For fuzz targets only; production code reports errors, never aborts.
#ifndef CHATD_TOOLS_FUZZ_FUZZ_CHECK_H_
#define CHATD_TOOLS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                          \
  do {                                                            \
    if (!(cond)) {                                                \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
                   __LINE__, #cond);                              \
      std::abort();                                               \
    }                                                             \
  } while (0)

#endif  // CHATD_TOOLS_FUZZ_FUZZ_CHECK_H_
