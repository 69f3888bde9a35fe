// RunTotals adds up every reactor thread's counters and latency histogram
// at one moment; ProgressPrinter turns successive totals into the
// once-a-second progress line on stderr. Both are used by the controller
// thread only.
#ifndef CHATD_TOOLS_LOADGEN_RUN_TOTALS_H_
#define CHATD_TOOLS_LOADGEN_RUN_TOTALS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/loadgen/reactor_thread.h"

namespace chatd::loadgen {

struct RunTotals {
  int64_t started = 0;
  int64_t connected = 0;
  int64_t joined = 0;
  int64_t failed = 0;
  int64_t disconnected = 0;
  int64_t notices_expected = 0;
  int64_t notices_seen = 0;
  int64_t last_event_ns = 0;
  int64_t sent = 0;
  int64_t senders_done = 0;
  int64_t delivered = 0;
  int64_t duplicates = 0;
  int64_t reordered = 0;
  int64_t corrupt = 0;
  int64_t server_errors = 0;
  int64_t last_delivery_ns = 0;
};

RunTotals SumTotals(const std::vector<std::unique_ptr<ReactorThread>>& threads);

class ProgressPrinter {
 public:
  ProgressPrinter(int64_t connections, int64_t start_ns)
      : connections_(connections), start_ns_(start_ns) {}

  // Prints a line if a second has passed since the last one.
  void MaybePrint(absl::string_view phase, int64_t now_ns,
                  const std::vector<std::unique_ptr<ReactorThread>>& threads);

 private:
  const int64_t connections_;
  const int64_t start_ns_;
  int64_t last_print_ns_ = 0;
  int64_t last_delivered_ = 0;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_RUN_TOTALS_H_
