// ReactorThread is one loadgen worker: a thread running one EventLoop over
// its share of the connections (ids i with i mod threads == index). It
// connects them at the configured pace, and once the controller publishes
// the send phase it drives the senders it owns: open-loop on a fixed
// schedule with --rate, or closed-loop within --window otherwise. The
// controller (LoadRun) owns the ReactorThreads; it reads their counters
// while they run and their connections after Join().
#ifndef CHATD_TOOLS_LOADGEN_REACTOR_THREAD_H_
#define CHATD_TOOLS_LOADGEN_REACTOR_THREAD_H_

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "tools/loadgen/connection.h"
#include "tools/loadgen/deadline_timer.h"
#include "tools/loadgen/run_shared.h"
#include "tools/loadgen/thread_context.h"
#include "tools/loadgen/waker.h"

namespace chatd::loadgen {

class ReactorThread {
 public:
  ReactorThread(int index, RunShared* shared);
  ~ReactorThread();
  ReactorThread(const ReactorThread&) = delete;
  ReactorThread& operator=(const ReactorThread&) = delete;

  // Before Start(): adds a connection, connected in the order added.
  void AddConnection(uint32_t id);
  void Start();
  void Join();

  Waker* waker() { return &waker_; }
  // The last phase this thread acted on; once it is kDrain, this thread
  // sends nothing more.
  Phase seen_phase() const {
    return seen_phase_.load(std::memory_order_acquire);
  }
  const ThreadCounters& counters() const { return ctx_.counters; }
  const LatencyHistogram& latency() const { return ctx_.latency; }
  // Only after Join().
  const std::vector<std::unique_ptr<Connection>>& connections() const {
    return connections_;
  }

 private:
  struct Sender {
    Connection* connection;
    bool done = false;
  };

  // Routes the waker's and the timer's readiness into the loop.
  class WakeHandler final : public EventLoop::Handler {
   public:
    explicit WakeHandler(ReactorThread* t) : thread_(t) {}
    void OnEvents(uint32_t events) override;

   private:
    ReactorThread* thread_;
  };
  class TimerHandler final : public EventLoop::Handler {
   public:
    explicit TimerHandler(ReactorThread* t) : thread_(t) {}
    void OnEvents(uint32_t events) override;

   private:
    ReactorThread* thread_;
  };

  void Run();
  void EnterPhase(Phase phase, int64_t now);
  // Connects started on this thread that have neither joined nor failed.
  int64_t ConnectsInFlight() const;
  void StartConnects(int64_t now);
  void ExpireStragglers(int64_t now);
  void BeginSending();
  void PumpWindowed(int64_t now);
  void PumpPaced(int64_t now);
  // The paced schedule: when sender `id` sends its message of `round`.
  int64_t PacedDueNs(uint32_t id, uint64_t round) const;
  void MarkDone(Sender& sender);
  void StopSending();
  void FlushDirty();
  int64_t NextDeadline(int64_t now) const;

  ThreadContext ctx_;
  Waker waker_;
  DeadlineTimer timer_;
  WakeHandler wake_handler_{this};
  TimerHandler timer_handler_{this};
  std::thread thread_;
  std::atomic<Phase> seen_phase_{Phase::kConnect};

  std::vector<std::unique_ptr<Connection>> connections_;
  // Connect pacing.
  size_t next_to_start_ = 0;
  int64_t next_connect_ns_ = 0;
  int64_t connect_interval_ns_ = 0;  // 0: unpaced.
  int64_t max_connecting_ = 1;
  int64_t next_expiry_check_ns_ = 0;

  // Sending.
  std::vector<Sender> senders_;  // By id, ascending.
  size_t senders_left_ = 0;
  bool send_begun_ = false;
  bool sending_ = false;
  // Paced mode: the next (sender index, round) due.
  size_t cursor_ = 0;
  uint64_t round_ = 0;
  double paced_step_ns_ = 0;  // Between consecutive senders' slots.
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_REACTOR_THREAD_H_
