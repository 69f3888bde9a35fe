// MetricsText builds the Prometheus text exposition format (0.0.4): a
// "# HELP" and "# TYPE" line per metric family, then its samples. Used by
// the server's /metrics; it knows nothing about chat.
//
// ReadProcessStats() reads the process's own CPU time, resident memory and
// open file descriptors from /proc, for the process_* metrics every
// Prometheus exporter has.
#ifndef CHATD_SERVER_METRICS_TEXT_H_
#define CHATD_SERVER_METRICS_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace chatd {

class MetricsText {
 public:
  // Starts a family; `type` is "counter", "gauge" or "histogram".
  void Family(absl::string_view name, absl::string_view type,
              absl::string_view help);
  // A sample of the current family. `labels` is empty or the inside of
  // the braces, e.g. `worker="0"`; values in it must be escaped already.
  void Sample(absl::string_view name, absl::string_view labels, double value);
  void Sample(absl::string_view name, absl::string_view labels, uint64_t value);
  void Sample(absl::string_view name, absl::string_view labels, int64_t value);

  // A family with one unlabeled sample.
  template <typename T>
  void Single(absl::string_view name, absl::string_view type,
              absl::string_view help, T value) {
    Family(name, type, help);
    Sample(name, "", value);
  }

  std::string Take() { return std::move(text_); }

 private:
  void Name(absl::string_view name, absl::string_view labels);
  std::string text_;
};

// A label value escaped for the text format (backslash, quote, newline).
std::string EscapeLabelValue(absl::string_view value);

struct ProcessStats {
  double cpu_seconds = 0;       // User and system.
  uint64_t resident_bytes = 0;  // RSS.
  uint64_t virtual_bytes = 0;
  int64_t open_fds = 0;
  int64_t max_fds = 0;
  double start_time_seconds = 0;  // Since the Unix epoch.
};

// Fields it cannot read stay zero.
ProcessStats ReadProcessStats();

}  // namespace chatd

#endif  // CHATD_SERVER_METRICS_TEXT_H_
