// TlsLink against a TlsStream server on the other end of a socket pair,
// both driven from this one thread: the plaintext greeting then handshake
// then queued bytes order that NATS needs, the refusal of a greeting that
// does not offer TLS, and a transfer big enough to block both ways.
#include "tools/loadgen/tls_link.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"

namespace chatd::loadgen {
namespace {

constexpr absl::string_view kGreeting =
    "INFO {\"server_id\":\"x\",\"tls_required\":true}\r\n";
// Poll rounds before a test gives up; each waits at most 10 ms.
constexpr int kMaxRounds = 2000;

class TlsLinkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = new std::string(
        absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/tls_link_test"));
    const std::string command =
        absl::StrCat("bash tools/dev-cert.sh ", *dir_, " 2>/dev/null");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    client_fd_ = fds[0];
    server_fd_ = fds[1];
    TlsContext::Options server_options;
    server_options.cert_file = *dir_ + "/server.pem";
    server_options.key_file = *dir_ + "/server.key";
    absl::StatusOr<std::shared_ptr<const TlsContext>> server_context =
        TlsContext::Load(server_options);
    ASSERT_TRUE(server_context.ok()) << server_context.status();
    absl::StatusOr<std::unique_ptr<TlsStream>> server = TlsStream::Create(
        *server_context, server_fd_, TlsStream::Role::kServer);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    TlsContext::ClientOptions client_options;
    client_options.ca_file = *dir_ + "/ca.pem";
    absl::StatusOr<std::shared_ptr<const TlsContext>> client_context =
        TlsContext::LoadClient(client_options);
    ASSERT_TRUE(client_context.ok()) << client_context.status();
    client_context_ = *std::move(client_context);
  }

  void TearDown() override {
    link_.reset();
    server_.reset();
    close(client_fd_);
    close(server_fd_);
  }

  void MakeLink(bool greeting_line) {
    TlsLink::Options options;
    options.server_name = "localhost";
    options.greeting_line = greeting_line;
    options.greeting_must_contain = "\"tls_required\":true";
    absl::StatusOr<std::unique_ptr<TlsLink>> link =
        TlsLink::Create(client_context_, client_fd_, options);
    ASSERT_TRUE(link.ok()) << link.status();
    link_ = *std::move(link);
  }

  // One round of both ends: the client reads and flushes, the server
  // reads into server_in_ and writes what is left of server_out_. Returns
  // the client's worst result.
  TlsLink::Io Round() {
    pollfd p[2] = {{client_fd_, POLLIN, 0}, {server_fd_, POLLIN, 0}};
    if (link_->wants_write()) p[0].events |= POLLOUT;
    if (server_blocked_ || server_out_offset_ < server_out_.size()) {
      p[1].events |= POLLOUT;
    }
    poll(p, 2, 10);
    TlsLink::Io io = link_->Read(buffer_.get(), kBuffer, &n_);
    client_in_.append(buffer_.get(), n_);
    if (io != TlsLink::Io::kOk) return io;
    io = link_->Flush();
    if (io != TlsLink::Io::kOk) return io;
    while (true) {
      size_t got = 0;
      if (server_->Read(buffer_.get(), kBuffer, &got) !=
          TlsStream::Result::kDone) {
        break;
      }
      server_in_.append(buffer_.get(), got);
    }
    if (server_blocked_) {
      server_blocked_ = server_->ResumeWrite() != TlsStream::Result::kDone;
    }
    while (!server_blocked_ && server_out_offset_ < server_out_.size()) {
      size_t taken = 0;
      const TlsStream::Result result =
          server_->Write(absl::string_view(server_out_)
                             .substr(server_out_offset_, TlsStream::kMaxRecord),
                         &taken);
      server_out_offset_ += taken;
      if (result != TlsStream::Result::kDone) {
        server_blocked_ = taken > 0;
        break;
      }
    }
    return TlsLink::Io::kOk;
  }

  // Rounds until `done` or the link fails; false if it never got there.
  bool RunUntil(const std::function<bool()>& done) {
    for (int i = 0; i < kMaxRounds; ++i) {
      if (done()) return true;
      if (Round() != TlsLink::Io::kOk) return false;
    }
    return done();
  }

  static constexpr size_t kBuffer = 64 * 1024;
  static std::string* dir_;
  int client_fd_ = -1;
  int server_fd_ = -1;
  std::shared_ptr<const TlsContext> client_context_;
  std::unique_ptr<TlsStream> server_;
  std::unique_ptr<TlsLink> link_;
  std::unique_ptr<char[]> buffer_{new char[kBuffer]};
  size_t n_ = 0;
  std::string client_in_;
  std::string server_in_;
  std::string server_out_;
  size_t server_out_offset_ = 0;
  bool server_blocked_ = false;
};

std::string* TlsLinkTest::dir_ = nullptr;

TEST_F(TlsLinkTest, GreetingLineThenHandshakeThenQueuedBytes) {
  MakeLink(/*greeting_line=*/true);
  // Queued before the greeting: nothing may reach the socket yet, not
  // even a ClientHello.
  link_->Queue("CONNECT {}\r\n");
  ASSERT_EQ(link_->Flush(), TlsLink::Io::kOk);
  char byte;
  EXPECT_EQ(recv(server_fd_, &byte, 1, MSG_DONTWAIT), -1);
  ASSERT_EQ(send(server_fd_, kGreeting.data(), kGreeting.size(), 0),
            static_cast<ssize_t>(kGreeting.size()));
  server_out_ = "+OK\r\n";
  ASSERT_TRUE(RunUntil([&] {
    return server_in_ == "CONNECT {}\r\n" &&
           client_in_.size() == kGreeting.size() + 5;
  })) << "client got: "
      << client_in_ << "; server got: " << server_in_;
  // The greeting came up as received bytes, before anything decrypted.
  EXPECT_EQ(client_in_, absl::StrCat(kGreeting, "+OK\r\n"));
  EXPECT_TRUE(link_->established());
}

TEST_F(TlsLinkTest, GreetingWithoutTlsIsRefused) {
  MakeLink(/*greeting_line=*/true);
  const absl::string_view plain = "INFO {\"server_id\":\"x\"}\r\n";
  ASSERT_EQ(send(server_fd_, plain.data(), plain.size(), 0),
            static_cast<ssize_t>(plain.size()));
  pollfd p = {client_fd_, POLLIN, 0};
  poll(&p, 1, 1000);
  EXPECT_EQ(link_->Read(buffer_.get(), kBuffer, &n_), TlsLink::Io::kError);
  EXPECT_TRUE(absl::StrContains(link_->error(), "does not offer TLS"))
      << link_->error();
}

TEST_F(TlsLinkTest, BulkBothWaysThroughFullSockets) {
  MakeLink(/*greeting_line=*/false);
  // Far more than the socket buffers hold, so writes block on both ends
  // and the link's retries and EPOLLOUT interest are exercised.
  std::string up;
  std::string down;
  for (int i = 0; up.size() < (4 << 20); ++i) {
    absl::StrAppend(&up, "up ", i, "\n");
    absl::StrAppend(&down, "down ", i, "\n");
  }
  for (size_t at = 0; at < up.size(); at += 100000) {
    link_->Queue(absl::string_view(up).substr(at, 100000));
  }
  server_out_ = down;
  ASSERT_TRUE(RunUntil([&] {
    return server_in_.size() == up.size() && client_in_.size() == down.size();
  })) << server_in_.size()
      << " of " << up.size() << " up, " << client_in_.size() << " of "
      << down.size() << " down";
  EXPECT_TRUE(server_in_ == up);
  EXPECT_TRUE(client_in_ == down);
  EXPECT_EQ(link_->pending_bytes(), 0u);
  EXPECT_FALSE(link_->wants_write());
}

TEST_F(TlsLinkTest, WrongNameFailsTheHandshake) {
  TlsLink::Options options;
  options.server_name = "example.com";
  absl::StatusOr<std::unique_ptr<TlsLink>> link =
      TlsLink::Create(client_context_, client_fd_, options);
  ASSERT_TRUE(link.ok()) << link.status();
  link_ = *std::move(link);
  link_->Queue("hello\n");
  bool failed = false;
  for (int i = 0; i < kMaxRounds && !failed; ++i) {
    failed = Round() == TlsLink::Io::kError;
  }
  EXPECT_TRUE(failed);
  EXPECT_TRUE(absl::StrContains(link_->error(), "certificate verify failed"))
      << link_->error();
}

}  // namespace
}  // namespace chatd::loadgen
