#include "tests/paced_traffic.h"

#include <thread>

#include "absl/strings/str_cat.h"

namespace chatd_test {

PacedTrafficResult RunPacedTraffic(const std::vector<PacedSender>& senders,
                                   const std::vector<PacedReader>& readers,
                                   const PacedTrafficOptions& options) {
  // Lines each reader had before the traffic: what is due comes on top.
  std::vector<size_t> base;
  for (const PacedReader& reader : readers) {
    base.push_back(reader.recorder->Count());
  }
  std::vector<std::atomic<int>> sent(senders.size());
  for (std::atomic<int>& n : sent) n.store(0);
  auto due = [&](size_t r) {
    size_t lines = base[r];
    for (int s : readers[r].hears) lines += sent[s].load();
    return lines;
  };

  const absl::Time deadline = absl::Now() + options.timeout;
  PacedTrafficResult result;
  result.statuses.resize(senders.size());
  std::vector<std::thread> threads;
  for (size_t s = 0; s < senders.size(); ++s) {
    threads.emplace_back([&, s] {
      absl::Status& status = result.statuses[s];
      for (int seq = 0; seq < options.messages_per_sender && status.ok();) {
        if (options.stop != nullptr && options.stop->load()) return;
        for (size_t r = 0; r < readers.size() && options.window > 0; ++r) {
          const size_t lines = due(r);
          if (lines <= static_cast<size_t>(options.window)) continue;
          status = readers[r].recorder->WaitForCount(lines - options.window,
                                                     deadline - absl::Now());
          if (!status.ok()) {
            status =
                absl::Status(status.code(),
                             absl::StrCat(readers[r].name,
                                          " fell behind: ", status.message()));
            return;
          }
        }
        std::string batch;
        for (int i = 0; i < options.batch && seq < options.messages_per_sender;
             ++i, ++seq) {
          absl::StrAppend(&batch, options.text(senders[s].name, seq), "\n");
        }
        status = senders[s].client->SendRaw(batch, deadline - absl::Now());
        if (status.ok()) sent[s].store(seq);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (std::atomic<int>& n : sent) result.sent.push_back(n.load());
  return result;
}

}  // namespace chatd_test
