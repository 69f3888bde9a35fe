#include "tools/loadgen/waker.h"

#include <poll.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace chatd::loadgen {
namespace {

// A producer that changes something and wakes, over and over, while the
// owner clears and looks: every change must be followed by a wakeup the
// owner sees, or the owner sleeps with a change unseen (a closed-loop
// sender whose acknowledgement never reaches it).
TEST(WakerTest, NoChangeIsLeftWithoutAWakeup) {
  Waker waker;
  constexpr int kChanges = 200000;
  std::atomic<int> changes{0};
  std::thread producer([&] {
    for (int i = 1; i <= kChanges; ++i) {
      changes.store(i);
      waker.Wake();
    }
  });
  int seen = 0;
  while (seen < kChanges) {
    pollfd fd{waker.fd(), POLLIN, 0};
    if (poll(&fd, 1, 2000) <= 0) break;  // Two seconds with nothing: lost.
    waker.Clear();
    seen = changes.load();
  }
  producer.join();
  EXPECT_EQ(seen, kChanges) << "the owner slept through a change";
}

}  // namespace
}  // namespace chatd::loadgen
