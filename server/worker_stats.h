// WorkerStats are one worker's counters: written only by the worker's own
// thread, read by any thread (the metrics endpoint, tests, the log at
// shutdown). Every field is a relaxed atomic: a counter publishes no other
// data, and a reader wants a recent value, not a consistent snapshot of all
// of them. A read never stalls the worker.
#ifndef CHATD_SERVER_WORKER_STATS_H_
#define CHATD_SERVER_WORKER_STATS_H_

#include <atomic>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "net/single_writer_counter.h"
#include "server/framing.h"

namespace chatd {

// Why the server dropped a connection, for /metrics.
enum class DropReason : uint8_t {
  kSlow,           // Output backed up past --max_output_bytes.
  kLineTooLong,    // A line (or WebSocket message) over --max_line_bytes.
  kJoinTimeout,    // No JOIN (or no complete HTTP request) in time.
  kServerFull,     // Refused at accept: --max_connections or per address.
  kProtocolError,  // Any other ERROR, a WebSocket or HTTP protocol error.
  kPingTimeout,    // A WebSocket client did not answer our ping.
  kTlsHandshake,   // A TLS handshake failed or did not finish in time.
};
inline constexpr int kDropReasons = 7;
absl::string_view DropReasonName(DropReason reason);

// How a TLS connection encrypts, for /metrics.
enum class TlsMode : uint8_t {
  kHandshake,  // Not established yet.
  kUser,       // OpenSSL encrypts each record in user space.
  kKernel,     // The kernel encrypts what is sent (kTLS).
};
inline constexpr int kTlsModes = 3;
absl::string_view TlsModeName(TlsMode mode);

// Upper bounds of the loop-pass duration histogram, in microseconds.
inline constexpr int64_t kPassBucketsUs[] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000};
inline constexpr int kPassBuckets =
    sizeof(kPassBucketsUs) / sizeof(kPassBucketsUs[0]);

struct WorkerStats {
  // Adds `n` to a counter or gauge. One writer per counter, so a load and a
  // store would do; fetch_add keeps it obviously right at the same cost on
  // these rare events.
  template <typename T>
  static void Add(std::atomic<T>& counter, T n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }

  // Times a member found its token bucket empty and its input was paused.
  std::atomic<uint64_t> throttle_events{0};
  // Connections whose input waits for a token right now.
  std::atomic<int64_t> throttled_connections{0};
  // Times this worker stopped reading chat input because a mailbox it
  // posts to was over the high-water mark.
  std::atomic<uint64_t> input_pauses{0};
  // Whether input is paused for that reason right now (0 or 1).
  std::atomic<int64_t> input_paused{0};

  // Open connections by framing (an HTTP connection that upgrades moves to
  // kWebSocket).
  std::atomic<int64_t> connections[kFramingKinds] = {};
  // Open TLS connections by how they encrypt.
  std::atomic<int64_t> tls_connections[kTlsModes] = {};
  std::atomic<uint64_t> drops[kDropReasons] = {};
  // Bytes read from and written to client sockets.
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> http_requests{0};

  // Loop passes by duration, from the wake-up to the end of the flush:
  // pass_buckets[i] counts passes of at most kPassBucketsUs[i] (not
  // cumulative); pass_buckets[kPassBuckets] the longer ones.
  std::atomic<uint64_t> pass_buckets[kPassBuckets + 1] = {};
  std::atomic<uint64_t> pass_ns_sum{0};
};

}  // namespace chatd

#endif  // CHATD_SERVER_WORKER_STATS_H_
