// A gtest fixture that gives each test its own freshly started chatd.
//
// A server per test keeps tests independent: no test can see another's
// groups, names or connection counts. Subclasses override ServerOptions() to
// start the server with other flags. TearDown() fails the test if the server
// died while it ran, which catches crashes that no client noticed.

#ifndef CHATD_TESTS_CHAT_FIXTURE_H_
#define CHATD_TESTS_CHAT_FIXTURE_H_

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"
#include "tests/server_process.h"

namespace chatd_test {

class ChatServerTest : public ::testing::Test {
 protected:
  virtual ServerProcess::Options ServerOptions() const { return {}; }

  void SetUp() override;
  void TearDown() override;

  int port() const { return server_->port(); }
  // The running server, for tests that look at its process (memory, fds,
  // log) from outside.
  ServerProcess& server() { return *server_; }

  // A connected client that has not sent anything yet.
  absl::StatusOr<ChatClient> Connect();
  // A client that has joined and seen the welcome for `online` members.
  absl::StatusOr<ChatClient> Join(absl::string_view group,
                                  absl::string_view name, int online);
  // Join() that retries while the server answers with `retry_error`, for
  // rules whose effect the test cannot observe directly: a name or a
  // connection slot is freed on the server's side of a close, which a client
  // can't see happen.
  absl::StatusOr<ChatClient> JoinEventually(
      absl::string_view group, absl::string_view name, int online,
      absl::string_view retry_error, absl::Duration timeout = kDefaultTimeout);
  // JoinEventually() from the local address `source_ip` (127.x.y.z).
  absl::StatusOr<ChatClient> JoinEventuallyFrom(
      absl::string_view source_ip, absl::string_view group,
      absl::string_view name, int online, absl::string_view retry_error,
      absl::Duration timeout = kDefaultTimeout);

  // Sends `signo`, then returns the server's exit code, or an error if it
  // does not exit within `timeout` (see ServerProcess::Stop).
  absl::StatusOr<int> StopServer(int signo = SIGTERM,
                                 absl::Duration timeout = absl::Seconds(10));

 private:
  std::unique_ptr<ServerProcess> server_;
  bool stopped_ = false;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_CHAT_FIXTURE_H_
