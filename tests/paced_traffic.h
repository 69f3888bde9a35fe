// Heavy traffic that the receiving members can keep up with.
//
// Senders that write flat out outrun the readers of a test on a small
// machine, and a server would then rightly drop those readers as too slow.
// RunPacedTraffic() sends from several members at once, a thread each, as
// fast as the members who read can take it: a sender waits while any reader
// is more than `window` lines behind on what has been sent to it, so no
// reader ever lags by more than window + batch * senders lines. Every wait
// is bounded by the timeout.

#ifndef CHATD_TESTS_PACED_TRAFFIC_H_
#define CHATD_TESTS_PACED_TRAFFIC_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"
#include "tests/line_recorder.h"

namespace chatd_test {

struct PacedSender {
  ChatClient* client;
  std::string name;
};

struct PacedReader {
  LineRecorder* recorder;
  std::string name;
  // Indices into the senders of those this reader hears from.
  std::vector<int> hears;
};

struct PacedTrafficOptions {
  int messages_per_sender = 1000;
  // Lines a reader may be behind before senders wait; 0 means no pacing
  // (full speed).
  int window = 0;
  int batch = 8;  // Lines per write.
  absl::Duration timeout = absl::Seconds(60);
  // Checked before each batch: senders stop early once it is set.
  const std::atomic<bool>* stop = nullptr;
  // The text of message `seq` (from 0) of `sender`.
  std::function<std::string(const std::string& sender, int seq)> text;
};

struct PacedTrafficResult {
  std::vector<int> sent;               // Messages each sender got out.
  std::vector<absl::Status> statuses;  // Why each sender stopped early.
};

PacedTrafficResult RunPacedTraffic(const std::vector<PacedSender>& senders,
                                   const std::vector<PacedReader>& readers,
                                   const PacedTrafficOptions& options);

}  // namespace chatd_test

#endif  // CHATD_TESTS_PACED_TRAFFIC_H_
