// LineFramer throughput on typical reads: many short chat lines per read, and
// lines split across reads.

#include <string>

#include <benchmark/benchmark.h>

#include "core/line_framer.h"

namespace chatd {
namespace {

std::string Lines(int count, int bytes_per_line) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    out.append(bytes_per_line - 1, 'x');
    out.push_back('\n');
  }
  return out;
}

void BM_FrameWholeReads(benchmark::State& state) {
  const std::string read = Lines(1000, static_cast<int>(state.range(0)));
  LineFramer framer(4096);
  size_t lines = 0;
  for (auto _ : state) {
    framer.Feed(read, [&](absl::string_view line) {
      benchmark::DoNotOptimize(line);
      ++lines;
      return true;
    });
  }
  state.SetBytesProcessed(state.iterations() * read.size());
  state.SetItemsProcessed(lines);
}
BENCHMARK(BM_FrameWholeReads)->Arg(16)->Arg(80)->Arg(1024);

// Reads of 1000 bytes that cut 80-byte lines anywhere, as a slow network
// would: exercises the partial-line path.
void BM_FrameSplitReads(benchmark::State& state) {
  const std::string stream = Lines(1000, 80);
  LineFramer framer(4096);
  size_t lines = 0;
  for (auto _ : state) {
    for (size_t pos = 0; pos < stream.size(); pos += 1000) {
      framer.Feed(absl::string_view(stream).substr(pos, 1000),
                  [&](absl::string_view line) {
                    benchmark::DoNotOptimize(line);
                    ++lines;
                    return true;
                  });
    }
  }
  state.SetBytesProcessed(state.iterations() * stream.size());
  state.SetItemsProcessed(lines);
}
BENCHMARK(BM_FrameSplitReads);

}  // namespace
}  // namespace chatd
