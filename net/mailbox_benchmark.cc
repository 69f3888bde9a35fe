// Mailbox throughput: posts and drains per second with one producer and with
// several producers racing for one consumer, as workers do on a broadcast.

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "net/mailbox.h"
#include "net/payload.h"

namespace chatd {
namespace {

struct Envelope {
  uint64_t group_id = 0;
  PayloadRef line;
};

// One thread posts a batch and drains it: the cost without contention.
void BM_PostDrainSameThread(benchmark::State& state) {
  Mailbox<Envelope> mailbox;
  const PayloadRef line = Payload::Copy("alice: hello\n");
  const int64_t batch = state.range(0);
  for (auto _ : state) {
    for (int64_t i = 0; i < batch; ++i) mailbox.Post(Envelope{1, line});
    mailbox.Drain(batch, [](Envelope&& e) { benchmark::DoNotOptimize(e); });
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_PostDrainSameThread)->Arg(1)->Arg(64)->Arg(1024);

// N producer threads post as fast as they can while one consumer sleeps in
// poll() on the eventfd between drains, like a worker.
void BM_ProducersToSleepingConsumer(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  constexpr int64_t kPerProducer = 200000;
  const PayloadRef line = Payload::Copy("alice: hello\n");
  size_t wakeups = 0;
  for (auto _ : state) {
    Mailbox<Envelope> mailbox;
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        for (int64_t i = 0; i < kPerProducer; ++i) mailbox.Post({1, line});
      });
    }
    int64_t received = 0;
    while (received < producers * kPerProducer) {
      pollfd pfd{mailbox.fd(), POLLIN, 0};
      poll(&pfd, 1, 1000);
      received += mailbox.Drain(4096, [](Envelope&& e) {
        benchmark::DoNotOptimize(e);
      });
    }
    for (auto& t : threads) t.join();
    wakeups += mailbox.wakeups_for_testing();
  }
  state.SetItemsProcessed(state.iterations() * producers * kPerProducer);
  state.counters["posts_per_wakeup"] =
      static_cast<double>(state.iterations() * producers * kPerProducer) /
      static_cast<double>(wakeups);
}
BENCHMARK(BM_ProducersToSleepingConsumer)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace chatd
