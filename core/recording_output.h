// RecordingOutput is a SessionOutput for tests: it keeps every payload a
// session or shard queues for its client, in order, and counts the times
// the session was ended from outside (EndSession), whose last words it keeps
// too.
#ifndef CHATD_CORE_RECORDING_OUTPUT_H_
#define CHATD_CORE_RECORDING_OUTPUT_H_

#include <string>
#include <utility>
#include <vector>

#include "core/member.h"
#include "net/payload.h"

namespace chatd {

class RecordingOutput final : public SessionOutput {
 public:
  void Send(PayloadRef line) override { sent_.push_back(std::move(line)); }
  void EndSession(PayloadRef last) override {
    sent_.push_back(std::move(last));
    ++ended_;
  }

  // The payloads' stream forms.
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const PayloadRef& p : sent_) out.emplace_back(p->view());
    return out;
  }
  const std::vector<PayloadRef>& sent() const { return sent_; }
  void Clear() { sent_.clear(); }
  int ended() const { return ended_; }

 private:
  std::vector<PayloadRef> sent_;
  int ended_ = 0;
};

}  // namespace chatd

#endif  // CHATD_CORE_RECORDING_OUTPUT_H_
