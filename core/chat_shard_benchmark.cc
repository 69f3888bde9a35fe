// Fan-out inside one worker: one message from one member of a group of N on
// the same shard reaches N-1 output queues. Measures what a broadcast costs
// per recipient (a reference bump and a queue push; no copy, no format).

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/chat_shard.h"
#include "core/group_registry.h"
#include "core/line_session.h"
#include "core/member.h"
#include "core/session.h"
#include "net/payload.h"

namespace chatd {
namespace {

// One worker posting to itself, as a Worker's mailbox would: the shard's
// own announcements must come back through Deliver, or it holds every later
// message behind them.
class SelfTransport : public ChatShard::Transport {
 public:
  void Post(int, ShardPost post) override {
    posted_.push_back(std::move(post));
  }
  void DeliverAll(ChatShard& shard) {
    for (const ShardPost& post : posted_) shard.Deliver(post);
    posted_.clear();
  }

 private:
  std::vector<ShardPost> posted_;
};

// Holds what a session is sent, like a connection's output queue would,
// and drops it in bulk like a flush.
class QueueOutput final : public SessionOutput {
 public:
  void Send(PayloadRef line) override { queued_.push_back(std::move(line)); }
  void EndSession(PayloadRef) override {}
  size_t queued() const { return queued_.size(); }
  void Flush() { queued_.clear(); }

 private:
  std::vector<PayloadRef> queued_;
};

void BM_BroadcastWithinOneShard(benchmark::State& state) {
  const int members = static_cast<int>(state.range(0));
  GroupRegistry registry;
  SelfTransport transport;
  ChatShard shard(0, &registry, &transport);
  SessionLimits limits;
  const absl::Time now = absl::Now();
  std::vector<std::unique_ptr<QueueOutput>> outputs;
  std::vector<std::unique_ptr<LineSession>> sessions;
  for (int i = 0; i < members; ++i) {
    outputs.push_back(std::make_unique<QueueOutput>());
    sessions.push_back(
        std::make_unique<LineSession>(&shard, outputs.back().get(), limits));
    sessions.back()->OnInput(absl::StrCat("JOIN room m", i, "\n"), now);
    transport.DeliverAll(shard);
  }
  for (auto& o : outputs) o->Flush();
  const std::string line = std::string(63, 'x') + "\n";
  for (auto _ : state) {
    // 16 messages per flush, as a busy pass would coalesce them.
    for (int m = 0; m < 16; ++m) sessions[m % members]->OnInput(line, now);
    transport.DeliverAll(shard);
    state.PauseTiming();
    size_t queued = 0;
    for (auto& o : outputs) {
      queued += o->queued();
      o->Flush();
    }
    if (queued != 16u * (members - 1)) {
      state.SkipWithError("a broadcast did not reach every other member");
      break;
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * 16 * (members - 1));
  for (auto& s : sessions) s->End();
}
BENCHMARK(BM_BroadcastWithinOneShard)->Arg(2)->Arg(20)->Arg(200)->Arg(2500);

}  // namespace
}  // namespace chatd
