#include "server/metrics_text.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chatd {

void MetricsText::Family(absl::string_view name, absl::string_view type,
                         absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                  type, "\n");
}

void MetricsText::Name(absl::string_view name, absl::string_view labels) {
  absl::StrAppend(&text_, name);
  if (!labels.empty()) absl::StrAppend(&text_, "{", labels, "}");
  text_.push_back(' ');
}

void MetricsText::Sample(absl::string_view name, absl::string_view labels,
                         double value) {
  Name(name, labels);
  char buffer[32];
  snprintf(buffer, sizeof(buffer), "%.9g", value);
  absl::StrAppend(&text_, buffer, "\n");
}

void MetricsText::Sample(absl::string_view name, absl::string_view labels,
                         uint64_t value) {
  Name(name, labels);
  absl::StrAppend(&text_, value, "\n");
}

void MetricsText::Sample(absl::string_view name, absl::string_view labels,
                         int64_t value) {
  Name(name, labels);
  absl::StrAppend(&text_, value, "\n");
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  {
    std::ifstream file("/proc/self/stat");
    std::string line;
    std::getline(file, line);
    // The command name may hold spaces: fields count from after its ')'.
    const size_t paren = line.rfind(')');
    if (paren != std::string::npos && ticks > 0) {
      const std::vector<absl::string_view> fields = absl::StrSplit(
          absl::string_view(line).substr(paren + 2), ' ', absl::SkipEmpty());
      // Fields 14, 15 (utime, stime), 22 (starttime), 23 (vsize), 24
      // (rss) of proc(5), less the two before the list.
      uint64_t utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
      if (fields.size() > 21 && absl::SimpleAtoi(fields[11], &utime) &&
          absl::SimpleAtoi(fields[12], &stime) &&
          absl::SimpleAtoi(fields[19], &start) &&
          absl::SimpleAtoi(fields[20], &vsize) &&
          absl::SimpleAtoi(fields[21], &rss)) {
        stats.cpu_seconds = static_cast<double>(utime + stime) / ticks;
        stats.virtual_bytes = vsize;
        stats.resident_bytes = static_cast<uint64_t>(rss * page);
        std::ifstream uptime_file("/proc/stat");
        std::string stat_line;
        while (std::getline(uptime_file, stat_line)) {
          uint64_t boot = 0;
          if (absl::StartsWith(stat_line, "btime ") &&
              absl::SimpleAtoi(absl::string_view(stat_line).substr(6), &boot)) {
            stats.start_time_seconds =
                static_cast<double>(boot) + static_cast<double>(start) / ticks;
            break;
          }
        }
      }
    }
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    int64_t count = 0;
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    closedir(dir);
    stats.open_fds = count - 1;  // Not the one opendir holds.
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats.max_fds = static_cast<int64_t>(limit.rlim_cur);
  }
  return stats;
}

}  // namespace chatd
