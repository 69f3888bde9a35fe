#include "net/mailbox.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace chatd {
namespace {

struct Item {
  int producer = -1;
  int64_t seq = -1;
};

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

TEST(MailboxTest, DeliversInOrderAndSignalsOnce) {
  Mailbox<Item> mailbox;
  EXPECT_FALSE(Readable(mailbox.fd(), 0));
  for (int i = 0; i < 100; ++i) mailbox.Post(Item{0, i});
  EXPECT_TRUE(Readable(mailbox.fd(), 0));
  // A burst to a consumer that has not drained yet costs one wakeup.
  EXPECT_EQ(mailbox.wakeups_for_testing(), 1u);

  std::vector<int64_t> seen;
  EXPECT_EQ(mailbox.Drain(1000, [&](Item&& item) { seen.push_back(item.seq); }),
            100u);
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_FALSE(Readable(mailbox.fd(), 0));

  // After a drain, the next post signals again.
  mailbox.Post(Item{0, 100});
  EXPECT_EQ(mailbox.wakeups_for_testing(), 2u);
  EXPECT_TRUE(Readable(mailbox.fd(), 0));
}

TEST(MailboxTest, DrainCapLeavesTheRestSignalled) {
  Mailbox<Item> mailbox;
  for (int i = 0; i < 10; ++i) mailbox.Post(Item{0, i});
  std::vector<int64_t> seen;
  auto record = [&](Item&& item) { seen.push_back(item.seq); };
  EXPECT_EQ(mailbox.Drain(4, record), 4u);
  // The consumer must come back for the rest even though nobody posts again.
  EXPECT_TRUE(Readable(mailbox.fd(), 0));
  EXPECT_EQ(mailbox.Drain(4, record), 4u);
  EXPECT_EQ(mailbox.Drain(4, record), 2u);
  EXPECT_FALSE(Readable(mailbox.fd(), 0));
  ASSERT_EQ(seen.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seen[i], i);
}

TEST(MailboxTest, DestructorFreesUndelivered) {
  // Run under ASan/LSan this proves no node leaks; the shared_ptr proves the
  // values are destroyed.
  auto tracker = std::make_shared<int>(0);
  {
    Mailbox<std::shared_ptr<int>> mailbox;
    for (int i = 0; i < 5; ++i) mailbox.Post(tracker);
    EXPECT_EQ(tracker.use_count(), 6);
  }
  EXPECT_EQ(tracker.use_count(), 1);
}

// Several producers hammer one consumer that sleeps in poll() like a worker
// does: nothing is lost, duplicated or reordered per producer, and the
// consumer never sleeps through a post.
TEST(MailboxTest, ManyProducersOneSleepingConsumer) {
  constexpr int kProducers = 4;
  constexpr int64_t kPerProducer = 200000;
  Mailbox<Item> mailbox;
  std::vector<int64_t> next(kProducers, 0);
  int64_t received = 0;
  bool in_order = true;

  std::thread consumer([&] {
    while (received < kProducers * kPerProducer) {
      // A missed wakeup would hang here; the test's timeout catches it.
      ASSERT_TRUE(Readable(mailbox.fd(), 10000)) << "lost wakeup";
      mailbox.Drain(1024, [&](Item&& item) {
        if (item.seq != next[item.producer]) in_order = false;
        next[item.producer] = item.seq + 1;
        ++received;
      });
    }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&mailbox, p] {
      for (int64_t i = 0; i < kPerProducer; ++i) {
        mailbox.Post(Item{p, i});
        if (i % 1000 == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& t : producers) t.join();
  consumer.join();

  EXPECT_TRUE(in_order);
  EXPECT_EQ(received, kProducers * kPerProducer);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
  // Coalescing: far fewer eventfd writes than posts.
  EXPECT_LT(mailbox.wakeups_for_testing(),
            static_cast<size_t>(kProducers * kPerProducer / 2));
  // A post that landed after the consumer's last clear, or a full batch,
  // may leave one wakeup outstanding; taking it finds nothing and leaves
  // none behind.
  if (Readable(mailbox.fd(), 0)) {
    EXPECT_EQ(mailbox.Drain(1024, [](Item&&) {}), 0u);
  }
  EXPECT_FALSE(Readable(mailbox.fd(), 0));
}

TEST(MailboxTest, DepthCountsPostsNotYetDrained) {
  Mailbox<Item> mailbox;
  EXPECT_EQ(mailbox.depth(), 0u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(mailbox.Post(Item{0, i}), i + 1u);
  EXPECT_EQ(mailbox.depth(), 10u);
  EXPECT_EQ(mailbox.Drain(4, [](Item&&) {}), 4u);
  EXPECT_EQ(mailbox.depth(), 6u);
  EXPECT_EQ(mailbox.Post(Item{0, 10}), 7u);
  EXPECT_EQ(mailbox.Drain(100, [](Item&&) {}), 7u);
  EXPECT_EQ(mailbox.depth(), 0u);
}

TEST(MailboxTest, DepthIsExactOnceConcurrentProducersAreDone) {
  Mailbox<Item> mailbox;
  constexpr int kProducers = 4;
  constexpr int kPosts = 20000;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&mailbox, p] {
      for (int i = 0; i < kPosts; ++i) mailbox.Post(Item{p, i});
    });
  }
  size_t drained = 0;
  while (drained < size_t{kProducers} * kPosts / 2) {
    drained += mailbox.Drain(100, [](Item&&) {});
  }
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(mailbox.depth(), size_t{kProducers} * kPosts - drained);
}

}  // namespace
}  // namespace chatd
