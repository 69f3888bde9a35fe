// A main() for fuzz targets outside libFuzzer builds, so `bazel test //...`
// runs every fuzz target as a regression test: it feeds the target each
// file named on the command line (or in named directories), then a fixed
// number of pseudo-random inputs from a fixed seed, mutating the seeds. Under
// --config=fuzz the targets link libFuzzer instead and this file is unused.

#include <dirent.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr int kRandomInputs = 20000;
constexpr size_t kMaxRandomBytes = 512;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void CollectInputs(const std::string& path, std::vector<std::string>* out) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    out->push_back(ReadFile(path));
    return;
  }
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    CollectInputs(path + "/" + name, out);
  }
  closedir(dir);
}

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                         input.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) CollectInputs(argv[i], &seeds);
  for (const std::string& seed : seeds) Run(seed);

  // Random bytes biased towards the protocol's alphabet, and mutated seeds.
  static constexpr char kAlphabet[] = "JOIN abc/_.-\r\n\n\n /who/quit//\x00\xff";
  std::mt19937 rng(12345);
  for (int i = 0; i < kRandomInputs; ++i) {
    std::string input;
    if (!seeds.empty() && i % 2 == 0) input = seeds[rng() % seeds.size()];
    const size_t edits = 1 + rng() % 16;
    for (size_t e = 0; e < edits && input.size() < kMaxRandomBytes; ++e) {
      const char c = rng() % 4 == 0
                         ? static_cast<char>(rng())
                         : kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      const size_t at = input.empty() ? 0 : rng() % (input.size() + 1);
      if (rng() % 3 == 0 && !input.empty()) {
        input[at % input.size()] = c;
      } else {
        input.insert(input.begin() + at, static_cast<size_t>(1 + rng() % 8),
                     c);
      }
    }
    Run(input);
  }
  std::printf("fuzz driver: %zu seeds, %d random inputs, no crash\n",
              seeds.size(), kRandomInputs);
  return 0;
}
