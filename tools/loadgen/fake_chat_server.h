// FakeChatServer is a tiny, single-threaded chatd-protocol server for
// loadgen's end-to-end tests. It speaks just enough of chatd (JOIN, the
// welcome with its online count, join announcements, relaying lines to the
// other members) and can break delivery on purpose, once, so the tests can
// check that loadgen notices: drop, duplicate or reorder one message from
// member "c0" to member "c1". With a TLS context it speaks TLS on every
// connection (loadgen --tls). It also records who connected and joined, so
// a test can see how loadgen spread its connections over several servers.
// Test-only; owns its listening socket and thread.
#ifndef CHATD_TOOLS_LOADGEN_FAKE_CHAT_SERVER_H_
#define CHATD_TOOLS_LOADGEN_FAKE_CHAT_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/tls_context.h"
#include "net/tls_stream.h"

namespace chatd::loadgen {

class FakeChatServer {
 public:
  enum class Fault {
    kNone,
    kDrop,       // c0's message kFaultyIndex never reaches c1.
    kDuplicate,  // ...reaches c1 twice.
    kReorder,    // ...reaches c1 after c0's next message.
  };
  // Which of c0's messages (0-based) the fault hits.
  static constexpr int kFaultyIndex = 5;

  explicit FakeChatServer(Fault fault,
                          std::shared_ptr<const TlsContext> tls = nullptr);
  ~FakeChatServer();  // Stops the thread and closes everything.
  FakeChatServer(const FakeChatServer&) = delete;
  FakeChatServer& operator=(const FakeChatServer&) = delete;

  uint16_t port() const { return port_; }
  // Connections accepted so far; any thread.
  int accepted() const { return accepted_.load(); }
  // The names ("c<i>") that joined so far, in join order; any thread.
  std::vector<std::string> joined_names() const;

 private:
  struct Client {
    int fd = -1;
    std::unique_ptr<TlsStream> tls;  // With a TLS context.
    std::string in;                  // Bytes not yet split into lines.
    std::string name;                // Empty until joined.
    std::string group;
    int messages_sent = 0;
    std::string held;  // A line held back to reorder.
  };

  void Run();
  // Appends what `client` sent to its `in`; false once it is gone.
  bool ReadFrom(Client& client);
  void WriteAll(Client& client, const std::string& bytes);
  void OnLine(size_t from, const std::string& line);
  void Relay(size_t from, const std::string& line);
  void DeliverTo(Client& to, const Client& from, const std::string& line,
                 int index);

  const Fault fault_;
  const std::shared_ptr<const TlsContext> tls_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<Client> clients_;
  std::atomic<int> accepted_{0};
  mutable std::mutex joined_mutex_;
  std::vector<std::string> joined_names_;  // Guarded by joined_mutex_.
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_FAKE_CHAT_SERVER_H_
