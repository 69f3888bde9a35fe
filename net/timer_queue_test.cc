#include "net/timer_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <vector>

namespace chatd {
namespace {

const absl::Time kEpoch = absl::FromUnixSeconds(1000);

absl::Time At(int ms) { return kEpoch + absl::Milliseconds(ms); }

// Records the order in which its timer fired.
class Recorder final : public Timer::Handler {
 public:
  Recorder(int id, std::vector<int>* fired) : id_(id), fired_(fired) {}
  void OnTimer() override {
    fired_->push_back(id_);
    if (on_timer) on_timer();
  }
  Timer timer{this};
  std::function<void()> on_timer;

 private:
  const int id_;
  std::vector<int>* const fired_;
};

TEST(TimerQueueTest, RunsDueTimersEarliestFirstAndOnlyThose) {
  std::vector<int> fired;
  TimerQueue queue;
  Recorder a(1, &fired), b(2, &fired), c(3, &fired);
  queue.Arm(&a.timer, At(30));
  queue.Arm(&b.timer, At(10));
  queue.Arm(&c.timer, At(20));
  EXPECT_EQ(queue.TimeoutMs(At(0), -1), 10);
  queue.RunDue(At(5));
  EXPECT_TRUE(fired.empty());
  queue.RunDue(At(20));
  EXPECT_EQ(fired, (std::vector<int>{2, 3}));
  EXPECT_FALSE(b.timer.armed());
  EXPECT_TRUE(a.timer.armed());
  EXPECT_EQ(queue.size(), 1u);
  queue.RunDue(At(1000));
  EXPECT_EQ(fired, (std::vector<int>{2, 3, 1}));
  EXPECT_TRUE(queue.empty());
}

TEST(TimerQueueTest, TimeoutRoundsUpAndRespectsTheCap) {
  std::vector<int> fired;
  TimerQueue queue;
  EXPECT_EQ(queue.TimeoutMs(At(0), -1), -1);
  EXPECT_EQ(queue.TimeoutMs(At(0), 100), 100);
  Recorder a(1, &fired);
  queue.Arm(&a.timer, At(10) + absl::Microseconds(1));
  // Waking after 10 ms would find it not yet due: 11.
  EXPECT_EQ(queue.TimeoutMs(At(0), -1), 11);
  EXPECT_EQ(queue.TimeoutMs(At(0), 5), 5);
  EXPECT_EQ(queue.TimeoutMs(At(11), -1), 0);
  EXPECT_EQ(queue.TimeoutMs(At(50), 7), 0);
}

TEST(TimerQueueTest, RearmMovesAndDisarmRemoves) {
  std::vector<int> fired;
  TimerQueue queue;
  Recorder a(1, &fired), b(2, &fired);
  queue.Arm(&a.timer, At(10));
  queue.Arm(&b.timer, At(20));
  queue.Arm(&a.timer, At(30));  // Later than b now.
  EXPECT_EQ(queue.size(), 2u);
  queue.RunDue(At(25));
  EXPECT_EQ(fired, (std::vector<int>{2}));
  queue.Arm(&a.timer, At(5));  // Earlier.
  EXPECT_EQ(a.timer.deadline(), At(5));
  queue.Disarm(&a.timer);
  queue.Disarm(&a.timer);  // Twice is harmless.
  EXPECT_FALSE(a.timer.armed());
  queue.RunDue(At(100));
  EXPECT_EQ(fired, (std::vector<int>{2}));
  queue.Arm(&b.timer, absl::InfiniteFuture());  // Means never.
  EXPECT_FALSE(b.timer.armed());
}

TEST(TimerQueueTest, DestroyedTimerLeavesTheQueue) {
  std::vector<int> fired;
  TimerQueue queue;
  Recorder keep(1, &fired);
  queue.Arm(&keep.timer, At(20));
  {
    Recorder gone(2, &fired);
    queue.Arm(&gone.timer, At(10));
  }
  EXPECT_EQ(queue.size(), 1u);
  queue.RunDue(At(30));
  EXPECT_EQ(fired, (std::vector<int>{1}));
}

TEST(TimerQueueTest, HandlerMayRearmAndCancelOthers) {
  std::vector<int> fired;
  TimerQueue queue;
  Recorder a(1, &fired), b(2, &fired), c(3, &fired);
  queue.Arm(&a.timer, At(9));
  queue.Arm(&b.timer, At(9));
  queue.Arm(&c.timer, At(10));
  int rearms = 0;
  // Each of a's runs re-arms it for a time already due and cancels c.
  a.on_timer = [&] {
    queue.Disarm(&c.timer);
    if (++rearms < 100) queue.Arm(&a.timer, At(0));
  };
  b.on_timer = [&] { queue.Disarm(&c.timer); };
  queue.RunDue(At(10));
  // Three were armed, so at most three runs: no endless loop on a's re-arms.
  EXPECT_LE(fired.size(), 3u);
  EXPECT_EQ(std::count(fired.begin(), fired.end(), 3), 0);
  EXPECT_TRUE(a.timer.armed());
  queue.RunDue(At(10));
  EXPECT_GT(fired.size(), 2u);
}

TEST(TimerQueueTest, ManyTimersFireInDeadlineOrder) {
  std::vector<int> fired;
  TimerQueue queue;
  std::vector<std::unique_ptr<Recorder>> recorders;
  std::mt19937 rng(7);
  std::vector<int> deadline(2000);
  for (int i = 0; i < 2000; ++i) {
    recorders.push_back(std::make_unique<Recorder>(i, &fired));
    deadline[i] = static_cast<int>(rng() % 5000);
    queue.Arm(&recorders[i]->timer, At(deadline[i]));
  }
  // Move a third, cancel a third.
  for (int i = 0; i < 2000; i += 3) {
    deadline[i] = static_cast<int>(rng() % 5000);
    queue.Arm(&recorders[i]->timer, At(deadline[i]));
  }
  for (int i = 1; i < 2000; i += 3) queue.Disarm(&recorders[i]->timer);
  for (int t = 0; t <= 5000; t += 50) queue.RunDue(At(t));
  EXPECT_TRUE(queue.empty());
  ASSERT_EQ(fired.size(), 2000u - 667u);
  for (size_t k = 1; k < fired.size(); ++k) {
    // Within one RunDue call order is exact; across calls it is too.
    EXPECT_LE(deadline[fired[k - 1]], deadline[fired[k]]) << k;
  }
}

}  // namespace
}  // namespace chatd
