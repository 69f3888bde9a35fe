// Fuzzes whole sessions: several clients on two shards sharing a registry,
// fed random byte streams, closed and replaced at random, with broadcasts
// carried between the shards at random moments, and throttled sessions
// resumed as their tokens fall due. Checks that every line sent to a client
// is one complete line, that a throttled session always waits for a time
// still to come, and that once every session has ended, no group, member or
// payload is left behind.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/chat_shard.h"
#include "core/group_registry.h"
#include "core/line_session.h"
#include "core/member.h"
#include "core/protocol.h"
#include "core/queued_transport.h"
#include "core/session.h"
#include "net/payload.h"
#include "tools/fuzz/fuzz_check.h"

namespace chatd {
namespace {

constexpr int kShards = 2;
constexpr int kClients = 5;
constexpr size_t kMaxLine = 40;
constexpr absl::string_view kPrivatePrefix = "(private) ";

class CheckedOutput : public SessionOutput {
 public:
  void Send(PayloadRef line) override {
    const absl::string_view bytes = line->view();
    FUZZ_CHECK(!bytes.empty() && bytes.back() == '\n');
    FUZZ_CHECK(bytes.find('\n') == bytes.size() - 1);
    // Longest reply: a private message line from a full-length name.
    FUZZ_CHECK(bytes.size() <= kPrivatePrefix.size() + kMaxIdentifierBytes + 2 +
                                   kMaxLine + 1 ||
               bytes.substr(0, 12) == "* online in ");
    held_.push_back(std::move(line));
  }
  // Line sessions end only through input or End(): nobody kicks here.
  void EndSession(PayloadRef) override { FUZZ_CHECK(false); }
  void Clear() { held_.clear(); }

 private:
  std::vector<PayloadRef> held_;
};

struct Client {
  Client(ChatShard* shard, const SessionLimits& limits)
      : session(shard, &output, limits) {}
  ~Client() { session.End(); }
  CheckedOutput output;
  LineSession session;
};

class World {
 public:
  World() {
    limits_.max_line_bytes = kMaxLine;
    limits_.max_msgs_per_sec = 5;
    limits_.max_burst = 3;
    for (int s = 0; s < kShards; ++s) {
      shards_.push_back(
          std::make_unique<ChatShard>(s, &registry_, &transport_));
    }
    for (int c = 0; c < kClients; ++c) Replace(c);
  }

  ~World() {
    clients_.clear();
    DeliverPosts();
    FUZZ_CHECK(registry_.group_count() == 0);
    FUZZ_CHECK(registry_.person_count() == 0);
  }

  // As a connection does: nothing is read while the session is throttled.
  void Input(int c, absl::string_view bytes) {
    Session& session = clients_[c]->session;
    if (session.throttled()) return;
    After(c, session.OnInput(bytes, now_));
  }
  // As the connection's timer does, for every throttled session now due.
  void ServeDue() {
    for (int c = 0; c < static_cast<int>(clients_.size()); ++c) {
      Session& session = clients_[c]->session;
      if (session.throttled() && session.resume_at() <= now_) {
        After(c, session.Resume(now_));
      }
    }
  }
  void After(int c, Session::InputState state) {
    if (state == Session::InputState::kOver) {
      Replace(c);
      return;
    }
    const Session& session = clients_[c]->session;
    FUZZ_CHECK((state == Session::InputState::kThrottled) ==
               session.throttled());
    // A throttled session waits for a time still to come, or its timer
    // would fire again at once, forever.
    if (session.throttled()) FUZZ_CHECK(session.resume_at() > now_);
  }
  void Replace(int c) {
    if (c < static_cast<int>(clients_.size())) {
      clients_[c].reset();
    } else {
      clients_.emplace_back();
    }
    clients_[c] = std::make_unique<Client>(shards_[c % kShards].get(), limits_);
  }
  void DeliverPosts() {
    // Until every mailbox is empty: a delivery may post again.
    for (auto posts = transport_.Take(); !posts.empty();
         posts = transport_.Take()) {
      for (const auto& post : posts) {
        FUZZ_CHECK(post.worker >= 0 && post.worker < kShards);
        shards_[post.worker]->Deliver(post.post);
      }
    }
  }
  void Advance(absl::Duration d) { now_ += d; }
  void ClearOutputs() {
    for (auto& c : clients_) c->output.Clear();
  }

 private:
  SessionLimits limits_;
  GroupRegistry registry_;
  QueuedTransport transport_;
  std::vector<std::unique_ptr<ChatShard>> shards_;
  std::vector<std::unique_ptr<Client>> clients_;
  absl::Time now_ = absl::FromUnixSeconds(1000);
};

}  // namespace
}  // namespace chatd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatd;
  World world;
  size_t i = 0;
  while (i + 2 < size) {
    const uint8_t op = data[i] % 8;
    const int client = data[i + 1] % kClients;
    i += 2;
    switch (op) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const size_t n = std::min<size_t>(data[i] % 64, size - i - 1);
        world.Input(
            client,
            absl::string_view(reinterpret_cast<const char*>(data) + i + 1, n));
        i += 1 + n;
        break;
      }
      case 4:
        world.Replace(client);
        break;
      case 5:
        world.DeliverPosts();
        break;
      case 6:
        world.Advance(absl::Milliseconds(data[i++] * 10));
        world.ServeDue();
        break;
      case 7:
        world.ClearOutputs();
        break;
    }
  }
  return 0;
}
