// Mailbox<T> carries typed envelopes from any thread to one consumer thread:
// a lock-free multi-producer single-consumer queue (Vyukov's node queue) with
// an eventfd the consumer's epoll loop watches. Each worker owns one and is
// its only consumer; the acceptor and the other workers post to it.
//
// Wakeups coalesce: a producer writes the eventfd only when it moves the
// `signalled_` flag from false to true, and the consumer clears the flag
// before it drains. A burst of posts to a busy or sleeping consumer costs one
// write syscall, and no post is ever left unseen: a post that lands after the
// consumer cleared the flag signals again.
//
// The mailbox also counts its depth, envelopes posted and not yet drained,
// so producers can hold back before a slow consumer's queue grows without
// bound (see Worker's back-pressure).
#ifndef CHATD_NET_MAILBOX_H_
#define CHATD_NET_MAILBOX_H_

#include <atomic>
#include <cstddef>
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

  // Any thread. Lock-free: one allocation, two atomic read-modify-writes,
  // and an eventfd write only if the consumer has not been signalled yet.
  // Returns the depth right after this post, this one included.
  size_t Post(T value);

  // Envelopes posted and not yet drained, as of some recent moment: exact
  // once the producers are quiet. Any thread.
  size_t depth() const { return depth_.load(std::memory_order_relaxed); }

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
  struct Node {
    Node() = default;
    explicit Node(T v) : value(std::move(v)) {}
    std::atomic<Node*> next{nullptr};
    T value;
  };

  void Signal();
  // Consumer only: the next envelope, or false when the queue is empty or a
  // producer is between its exchange and its link (it will signal after).
  bool Pop(T* out);

  // Producers swap themselves in here. Acq_rel: acquire to link after the
  // previous node is complete, release so the consumer sees our node.
  std::atomic<Node*> head_;
  // Relaxed: a measure for flow control that publishes no data. It cannot
  // underflow all the same: a post's increment is sequenced before its
  // exchange, and the consumer's decrement comes after the acquire in Pop()
  // that saw the node, so every decrement follows its increment.
  std::atomic<size_t> depth_{0};
  // Consumer only: the last node taken (a stub whose value is spent).
  Node* tail_;
  Node stub_;
  // True while a wakeup is outstanding.
  std::atomic<bool> signalled_{false};
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
  const size_t depth = depth_.fetch_add(1, std::memory_order_relaxed) + 1;
  Node* prev = head_.exchange(node, std::memory_order_acq_rel);
  // Release: the consumer's acquire load of `next` then sees node->value.
  prev->next.store(node, std::memory_order_release);
  // Acq_rel: release so the consumer's clearing exchange, which acquires,
  // sees our node; acquire pairs with the consumer's release of the clear.
  if (!signalled_.exchange(true, std::memory_order_acq_rel)) Signal();
  return depth;
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
  // Clear before looking, so a post that our pops miss signals again.
  // Acq_rel: acquire synchronizes with every producer that found the flag
  // already set (their nodes are then visible to Pop).
  signalled_.exchange(false, std::memory_order_acq_rel);
  size_t handled = 0;
  T value;
  while (handled < max && Pop(&value)) {
    fn(std::move(value));
    ++handled;
  }
  depth_.fetch_sub(handled, std::memory_order_relaxed);
  if (handled == max && !signalled_.exchange(true, std::memory_order_acq_rel)) {
    Signal();
  }
  return handled;
}

}  // namespace chatd

#endif  // CHATD_NET_MAILBOX_H_
