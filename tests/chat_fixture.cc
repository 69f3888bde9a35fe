#include "tests/chat_fixture.h"

#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "tests/status_macros.h"

namespace chatd_test {

void ChatServerTest::SetUp() {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(ServerOptions());
  ASSERT_OK(server);
  server_ = *std::move(server);
}

void ChatServerTest::TearDown() {
  if (server_ != nullptr && !stopped_) {
    EXPECT_TRUE(server_->IsRunning()) << "the server died during the test";
  }
}

absl::StatusOr<ChatClient> ChatServerTest::Connect() {
  ChatClient client;
  absl::Status status = client.Connect(port());
  if (!status.ok()) return status;
  return client;
}

absl::StatusOr<ChatClient> ChatServerTest::Join(absl::string_view group,
                                                absl::string_view name,
                                                int online) {
  return ChatClient::Join(port(), group, name, online);
}

absl::StatusOr<ChatClient> ChatServerTest::JoinEventually(
    absl::string_view group, absl::string_view name, int online,
    absl::string_view retry_error, absl::Duration timeout) {
  return JoinEventuallyFrom("", group, name, online, retry_error, timeout);
}

absl::StatusOr<ChatClient> ChatServerTest::JoinEventuallyFrom(
    absl::string_view source_ip, absl::string_view group,
    absl::string_view name, int online, absl::string_view retry_error,
    absl::Duration timeout) {
  absl::Time start = absl::Now();
  absl::Time deadline = start + timeout;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<ChatClient> client =
        ChatClient::Join(port(), group, name, online, source_ip);
    if (client.ok() || absl::Now() >= deadline ||
        !absl::StrContains(client.status().message(), retry_error)) {
      if (attempt > 1) {
        // How long the server took to free the resource, for the log.
        std::fprintf(stderr, "join of %s took %d attempts in %s\n",
                     std::string(name).c_str(), attempt,
                     absl::FormatDuration(absl::Now() - start).c_str());
      }
      return client;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::StatusOr<int> ChatServerTest::StopServer(int signo,
                                               absl::Duration timeout) {
  stopped_ = true;
  return server_->Stop(timeout, signo);
}

}  // namespace chatd_test
