#include "net/timer_queue.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace chatd {
namespace {

// Heap slots kept however empty the heap gets.
constexpr size_t kKeepCapacity = 1024;

}  // namespace

Timer::~Timer() {
  if (queue_ != nullptr) queue_->Disarm(this);
}

TimerQueue::~TimerQueue() {
  for (Timer* timer : heap_) {
    timer->queue_ = nullptr;
    timer->slot_ = Timer::kNoSlot;
  }
}

void TimerQueue::Arm(Timer* timer, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    Disarm(timer);
    return;
  }
  CHECK(timer->queue_ == nullptr || timer->queue_ == this)
      << "timer armed in another queue";
  const int64_t deadline_ns = absl::ToUnixNanos(deadline);
  if (timer->queue_ == this) {
    const bool earlier = deadline_ns < timer->deadline_ns_;
    timer->deadline_ns_ = deadline_ns;
    if (earlier) {
      SiftUp(timer->slot_);
    } else {
      SiftDown(timer->slot_);
    }
    return;
  }
  CHECK_LT(heap_.size(), size_t{Timer::kNoSlot}) << "too many timers";
  timer->queue_ = this;
  timer->deadline_ns_ = deadline_ns;
  heap_.push_back(timer);
  timer->slot_ = static_cast<uint32_t>(heap_.size() - 1);
  SiftUp(timer->slot_);
}

void TimerQueue::Disarm(Timer* timer) {
  if (timer->queue_ != this) return;
  Remove(timer);
}

int TimerQueue::TimeoutMs(absl::Time now, int cap_ms) const {
  if (heap_.empty()) return cap_ms;
  const absl::Duration wait = heap_.front()->deadline() - now;
  if (wait <= absl::ZeroDuration()) return 0;
  const int64_t ms =
      absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1)));
  const int64_t capped = std::min<int64_t>(ms, std::numeric_limits<int>::max());
  if (cap_ms < 0) return static_cast<int>(capped);
  return static_cast<int>(std::min<int64_t>(capped, cap_ms));
}

void TimerQueue::RunDue(absl::Time now) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  for (size_t budget = heap_.size(); budget > 0 && !heap_.empty(); --budget) {
    Timer* timer = heap_.front();
    if (timer->deadline_ns_ > now_ns) return;
    Remove(timer);
    timer->handler_->OnTimer();
  }
}

void TimerQueue::Place(Timer* timer, size_t slot) {
  heap_[slot] = timer;
  timer->slot_ = static_cast<uint32_t>(slot);
}

void TimerQueue::SiftUp(size_t slot) {
  Timer* const timer = heap_[slot];
  while (slot > 0) {
    const size_t parent = (slot - 1) / 2;
    if (heap_[parent]->deadline_ns_ <= timer->deadline_ns_) break;
    Place(heap_[parent], slot);
    slot = parent;
  }
  Place(timer, slot);
}

void TimerQueue::SiftDown(size_t slot) {
  Timer* const timer = heap_[slot];
  const size_t n = heap_.size();
  while (true) {
    size_t child = 2 * slot + 1;
    if (child >= n) break;
    if (child + 1 < n &&
        heap_[child + 1]->deadline_ns_ < heap_[child]->deadline_ns_) {
      ++child;
    }
    if (timer->deadline_ns_ <= heap_[child]->deadline_ns_) break;
    Place(heap_[child], slot);
    slot = child;
  }
  Place(timer, slot);
}

void TimerQueue::Remove(Timer* timer) {
  const size_t slot = timer->slot_;
  DCHECK(slot < heap_.size() && heap_[slot] == timer);
  Timer* const last = heap_.back();
  heap_.pop_back();
  timer->queue_ = nullptr;
  timer->slot_ = Timer::kNoSlot;
  // A burst of connections arms a timer each until they join; give the
  // heap's memory back once the burst is over.
  if (heap_.capacity() > kKeepCapacity && heap_.size() < heap_.capacity() / 4) {
    heap_.shrink_to_fit();
  }
  if (last == timer) return;
  Place(last, slot);
  // The moved timer may belong above or below its new slot.
  SiftUp(slot);
  SiftDown(last->slot_);
}

}  // namespace chatd
