#include "tools/loadgen/reactor_thread.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tools/loadgen/client_socket.h"
#include "tools/loadgen/clock.h"

namespace chatd::loadgen {
namespace {

// How often connections that have not joined are checked against their
// deadline.
constexpr int64_t kExpiryCheckNs = 100 * kNsPerMs;
// Longest sleep in epoll; phase changes also wake the thread directly.
constexpr int kMaxPollMs = 100;
// A sender stops queueing while this much of its output is unwritten, so a
// stalled socket does not grow memory without bound (window mode only;
// paced mode is open-loop by definition).
constexpr size_t kMaxQueuedBytes = 256 * 1024;
// Paced messages sent per pass when behind schedule, so receiving goes on.
constexpr int kMaxPacedPerPass = 4096;

}  // namespace

ReactorThread::ReactorThread(int index, RunShared* shared)
    : ctx_(index, shared) {
  const LoadConfig& config = shared->config;
  max_connecting_ = std::max<int64_t>(
      1, (config.max_connecting + config.threads - 1) / config.threads);
  if (config.connect_rate > 0) {
    connect_interval_ns_ = static_cast<int64_t>(
        std::llround(kNsPerSec * config.threads / config.connect_rate));
  }
  if (config.rate > 0) paced_step_ns_ = kNsPerSec / config.rate;
}

ReactorThread::~ReactorThread() {
  if (thread_.joinable()) thread_.join();
}

void ReactorThread::AddConnection(uint32_t id) {
  connections_.push_back(std::make_unique<Connection>(id, &ctx_));
}

void ReactorThread::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ReactorThread::Join() { thread_.join(); }

void ReactorThread::WakeHandler::OnEvents(uint32_t) {
  thread_->waker_.Clear();
  // An acknowledgement from another thread may have opened a window.
  thread_->ctx_.pump_senders = true;
}

void ReactorThread::TimerHandler::OnEvents(uint32_t) {
  thread_->timer_.Acknowledge();
  thread_->ctx_.pump_senders = true;
}

void ReactorThread::Run() {
  // The default 50 us timer slack would add up to that much to every paced
  // send, and the message is stamped with its scheduled time.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  ctx_.loop.Add(waker_.fd(), EPOLLIN, &wake_handler_);
  ctx_.loop.Add(timer_.fd(), EPOLLIN, &timer_handler_);
  Phase seen = Phase::kConnect;
  next_connect_ns_ = MonotonicNowNs();
  while (true) {
    const int64_t now = MonotonicNowNs();
    const Phase phase = ctx_.shared->phase.load(std::memory_order_acquire);
    if (phase != seen) {
      EnterPhase(phase, now);
      seen = phase;
      seen_phase_.store(phase, std::memory_order_release);
    }
    if (phase == Phase::kStop) break;
    if (phase == Phase::kConnect) StartConnects(now);
    if (now >= next_expiry_check_ns_) ExpireStragglers(now);
    if (sending_) {
      if (ctx_.shared->config.rate > 0) {
        PumpPaced(now);
      } else if (ctx_.pump_senders) {
        ctx_.pump_senders = false;
        PumpWindowed(now);
      }
    }
    FlushDirty();
    const int64_t deadline = NextDeadline(now);
    timer_.ArmAt(deadline);
    // Flushing can free a window sender: go round again without sleeping.
    const bool more =
        sending_ && ctx_.pump_senders && ctx_.shared->config.rate == 0;
    ctx_.loop.Poll(more ? 0 : kMaxPollMs);
  }
  ctx_.loop.Remove(waker_.fd());
  ctx_.loop.Remove(timer_.fd());
}

void ReactorThread::EnterPhase(Phase phase, int64_t now) {
  if (phase >= Phase::kSend && !send_begun_) {
    // Not ctx_.plan_visible: a connection may have set that already, on a
    // message from another thread's sender that beat this check.
    send_begun_ = true;
    ctx_.plan_visible = true;  // Seen with acquire in Run().
    BeginSending();
    if (ctx_.shared->config.rate > 0) {
      PumpPaced(now);
    } else {
      PumpWindowed(now);
    }
  }
  if (phase >= Phase::kDrain) StopSending();
}

int64_t ReactorThread::ConnectsInFlight() const {
  const ThreadCounters& c = ctx_.counters;
  return c.started.Get() - c.joined.Get() - c.failed.Get();
}

void ReactorThread::StartConnects(int64_t now) {
  const LoadConfig& config = ctx_.shared->config;
  while (next_to_start_ < connections_.size()) {
    if (ConnectsInFlight() >= max_connecting_) return;
    if (connect_interval_ns_ > 0) {
      if (next_connect_ns_ > now) return;
      // After a stall (in-flight bound) do not burst to catch up.
      next_connect_ns_ =
          std::max(next_connect_ns_ + connect_interval_ns_, now - kNsPerSec);
    }
    Connection* connection = connections_[next_to_start_++].get();
    std::optional<in_addr> source;
    if (config.source_ips > 0) {
      source = LoopbackSource(connection->id(), config.source_ips);
    }
    connection->Start(ctx_.shared->ServerOf(connection->id()).socket_address,
                      source, now + config.connect_timeout_ns);
  }
}

void ReactorThread::ExpireStragglers(int64_t now) {
  next_expiry_check_ns_ = now + kExpiryCheckNs;
  const ThreadCounters& c = ctx_.counters;
  if (c.started.Get() == c.joined.Get() + c.failed.Get()) return;
  for (auto& connection : connections_) {
    const Connection::State state = connection->state();
    if ((state == Connection::State::kConnecting ||
         state == Connection::State::kJoining) &&
        connection->deadline_ns() <= now) {
      connection->Close(state == Connection::State::kConnecting
                            ? "connect timed out (--connect_timeout)"
                            : "join timed out (--connect_timeout)");
    }
  }
}

void ReactorThread::BeginSending() {
  const RunShared& shared = *ctx_.shared;
  for (auto& connection : connections_) {
    const uint32_t id = connection->id();
    if (shared.config.shape.IsSender(id) && shared.member[id]) {
      senders_.push_back(Sender{connection.get()});
    }
  }
  senders_left_ = senders_.size();
  sending_ = senders_left_ > 0;
  cursor_ = 0;
  round_ = 0;
}

void ReactorThread::MarkDone(Sender& sender) {
  if (sender.done) return;
  sender.done = true;
  --senders_left_;
  ctx_.counters.senders_done.Add(1);
  if (senders_left_ == 0) sending_ = false;
}

void ReactorThread::StopSending() {
  for (Sender& sender : senders_) MarkDone(sender);
  sending_ = false;
}

void ReactorThread::PumpWindowed(int64_t now) {
  const RunShared& shared = *ctx_.shared;
  const uint64_t limit = shared.config.messages;
  const uint32_t window = shared.config.window;
  const bool time_up = now >= shared.send_end_ns;
  for (Sender& sender : senders_) {
    if (sender.done) continue;
    Connection* c = sender.connection;
    if (time_up || c->state() != Connection::State::kJoined) {
      MarkDone(sender);
      continue;
    }
    const uint32_t id = c->id();
    // Without a pacing receiver (a group of one) only the socket paces.
    const uint32_t receiver = shared.pacing_receiver[id];
    const bool paced = receiver != kNoReceiver;
    if (paced && shared.closed[receiver].load(std::memory_order_acquire)) {
      // No acknowledgement can come: stop rather than stall the run (the
      // disconnect already fails it).
      MarkDone(sender);
      continue;
    }
    while ((limit == 0 || c->sent() < limit) &&
           c->queued_bytes() < kMaxQueuedBytes &&
           (!paced || static_cast<int64_t>(c->sent()) -
                              shared.acked[id].load(std::memory_order_relaxed) <
                          window)) {
      c->QueueMessage(now);
    }
    if (limit != 0 && c->sent() >= limit) MarkDone(sender);
  }
}

int64_t ReactorThread::PacedDueNs(uint32_t id, uint64_t round) const {
  const double slot =
      static_cast<double>(id) +
      static_cast<double>(round) * ctx_.shared->config.shape.senders;
  return ctx_.shared->send_start_ns +
         static_cast<int64_t>(slot * paced_step_ns_);
}

void ReactorThread::PumpPaced(int64_t now) {
  const RunShared& shared = *ctx_.shared;
  const uint64_t limit = shared.config.messages;
  int budget = kMaxPacedPerPass;
  while (sending_ && budget > 0) {
    Sender& sender = senders_[cursor_];
    const int64_t due = PacedDueNs(sender.connection->id(), round_);
    if (due > now) return;
    if (due >= shared.send_end_ns) {
      StopSending();
      return;
    }
    if (!sender.done) {
      Connection* c = sender.connection;
      if (c->state() != Connection::State::kJoined) {
        MarkDone(sender);
      } else {
        // Stamped with the scheduled time, not the actual one: if this
        // client falls behind, the delay counts against latency instead of
        // hiding (no coordinated omission).
        c->QueueMessage(due);
        --budget;
        if (limit != 0 && c->sent() >= limit) MarkDone(sender);
      }
    }
    if (++cursor_ == senders_.size()) {
      cursor_ = 0;
      ++round_;
    }
  }
}

void ReactorThread::FlushDirty() {
  // Flush() only writes (it never queues output), so it never adds to the
  // list while we walk it.
  for (Connection* connection : ctx_.dirty) connection->Flush();
  ctx_.dirty.clear();
}

int64_t ReactorThread::NextDeadline(int64_t now) const {
  int64_t deadline = 0;
  auto consider = [&deadline](int64_t t) {
    if (t > 0 && t != INT64_MAX && (deadline == 0 || t < deadline)) {
      deadline = t;
    }
  };
  // Only while a connect may start: at the in-flight bound the deadline is
  // usually past, and re-arming it would spin; a join or failure (a socket
  // event) or the expiry check ends that wait instead.
  if (connect_interval_ns_ > 0 && next_to_start_ < connections_.size() &&
      ConnectsInFlight() < max_connecting_) {
    consider(next_connect_ns_);
  }
  if (sending_) {
    if (ctx_.shared->config.rate > 0) {
      consider(PacedDueNs(senders_[cursor_].connection->id(), round_));
    }
    consider(ctx_.shared->send_end_ns);
  }
  return deadline;
}

}  // namespace chatd::loadgen
