// Mailbox<T> carries typed envelopes from any thread to one consumer thread:
// a lock-free multi-producer single-consumer queue (Vyukov's node queue) with
// an eventfd the consumer's epoll loop watches. Each worker owns one and is
// its only consumer; the acceptor and the other workers post to it.
//
// Wakeups coalesce: the consumer arms the mailbox before it drains, and only
// the one producer that finds it armed (and disarms it) writes the eventfd.
// A burst of posts to a busy or sleeping consumer costs one write syscall,
// and no post is ever left unseen: a post that lands after the consumer
// armed the mailbox signals again.
//
// The mailbox also counts its depth, envelopes posted and not yet drained,
// so producers can hold back before a slow consumer's queue grows without
// bound (see Worker's back-pressure). Depth and the armed flag share one
// word, so counting costs a post nothing more than the wakeup check did.
#ifndef CHATD_NET_MAILBOX_H_
#define CHATD_NET_MAILBOX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "net/event_fd.h"

namespace chatd {

// T must be default-constructible and movable.
template <typename T>
class Mailbox {
 public:
  Mailbox() : head_(&stub_), tail_(&stub_) {}
  // Drops undelivered envelopes. No producer may still be posting.
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Any thread. Lock-free: one allocation, two atomic read-modify-writes
  // (a third for the one post that wakes the consumer), and an eventfd
  // write only if the consumer has not been signalled yet. Returns the
  // depth right after this post, this one included.
  size_t Post(T value);

  // Envelopes posted and not yet drained, as of some recent moment: exact
  // once the producers are quiet. Any thread. Relaxed: a measure for flow
  // control, not a way to see the envelopes.
  size_t depth() const {
    return state_.load(std::memory_order_relaxed) >> kDepthShift;
  }

  // The fd the consumer's loop watches for EPOLLIN.
  int fd() const { return event_.fd(); }

  // Consumer thread only. Calls `fn(T&&)` for up to `max` envelopes, oldest
  // first (FIFO per producer). Returns how many were handled; when that is
  // `max`, the mailbox re-signals itself so the rest wait for the next pass
  // instead of starving the loop's sockets.
  template <typename Fn>
  size_t Drain(size_t max, Fn&& fn);

  // Counts eventfd writes; for tests of wakeup coalescing. Relaxed: a
  // statistic, read after the producers are joined.
  size_t wakeups_for_testing() const {
    return wakeups_.load(std::memory_order_relaxed);
  }

 private:
  // state_: bit 0 is "armed" (the next post must wake the consumer), the
  // bits above count the depth.
  static constexpr uint64_t kArmed = 1;
  static constexpr int kDepthShift = 1;
  static constexpr uint64_t kOnePost = uint64_t{1} << kDepthShift;

  struct Node {
    Node() = default;
    explicit Node(T v) : value(std::move(v)) {}
    std::atomic<Node*> next{nullptr};
    T value;
  };

  void Signal();
  // Disarms the mailbox; true for the one caller that found it armed.
  bool TakeArmed() {
    return state_.fetch_and(~kArmed, std::memory_order_acq_rel) & kArmed;
  }
  // Consumer only: the next envelope, or false when the queue is empty or a
  // producer is between its exchange and its link (it will signal after).
  bool Pop(T* out);

  // Producers swap themselves in here. Acq_rel: acquire to link after the
  // previous node is complete, release so the consumer sees our node.
  std::atomic<Node*> head_;
  // Depth and armed flag; starts armed, so the first post wakes the
  // consumer. Every read-modify-write of it is acq_rel: a producer's add,
  // which comes after its node is linked, releases the node to the
  // consumer's arming, which acquires; whichever of the two comes first in
  // the word's modification order, either the consumer's pops see the node
  // or the producer sees the mailbox armed and wakes it. The depth cannot
  // underflow: the consumer subtracts only nodes it has popped, whose adds
  // it has therefore seen.
  std::atomic<uint64_t> state_{kArmed};
  // Consumer only: the last node taken (a stub whose value is spent).
  Node* tail_;
  Node stub_;
  std::atomic<size_t> wakeups_{0};
  EventFd event_;
};

template <typename T>
Mailbox<T>::~Mailbox() {
  T discard;
  while (Pop(&discard)) {
  }
  if (tail_ != &stub_) delete tail_;
}

template <typename T>
size_t Mailbox<T>::Post(T value) {
  Node* node = new Node(std::move(value));
  Node* prev = head_.exchange(node, std::memory_order_acq_rel);
  // Release: the consumer's acquire load of `next` then sees node->value.
  prev->next.store(node, std::memory_order_release);
  const uint64_t before = state_.fetch_add(kOnePost, std::memory_order_acq_rel);
  if ((before & kArmed) && TakeArmed()) Signal();
  return static_cast<size_t>((before >> kDepthShift) + 1);
}

template <typename T>
void Mailbox<T>::Signal() {
  wakeups_.fetch_add(1, std::memory_order_relaxed);
  event_.Signal();
}

template <typename T>
bool Mailbox<T>::Pop(T* out) {
  Node* tail = tail_;
  // Acquire: pairs with the producer's release store of `next`.
  Node* next = tail->next.load(std::memory_order_acquire);
  if (next == nullptr) return false;
  *out = std::move(next->value);
  tail_ = next;
  if (tail != &stub_) delete tail;
  return true;
}

template <typename T>
template <typename Fn>
size_t Mailbox<T>::Drain(size_t max, Fn&& fn) {
  event_.Drain();
  // Arm before looking, so a post that our pops miss signals again.
  state_.fetch_or(kArmed, std::memory_order_acq_rel);
  size_t handled = 0;
  T value;
  while (handled < max && Pop(&value)) {
    fn(std::move(value));
    ++handled;
  }
  if (handled > 0) {
    state_.fetch_sub(uint64_t{handled} << kDepthShift,
                     std::memory_order_acq_rel);
  }
  // Left some for the next pass: wake ourselves, unless a post already has.
  if (handled == max && TakeArmed()) Signal();
  return handled;
}

}  // namespace chatd

#endif  // CHATD_NET_MAILBOX_H_
