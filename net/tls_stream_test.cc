// Checks TlsStream end to end over real loopback TCP connections, as the
// server and loadgen use it: handshakes (versions, ALPN, certificate and
// host checks), data both ways, a write blocked by a full socket and its
// resumption, close_notify and bare EOF, and the peers a server must refuse
// (plaintext, TLS 1.1).

#include "net/tls_stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/tls_context.h"

namespace chatd {
namespace {

using Result = TlsStream::Result;

constexpr size_t kMaxRecord = TlsStream::kMaxRecord;
// Bounds for every pump loop, so a stream that never finishes fails the
// test instead of hanging it.
constexpr int kMaxIterations = 100000;
constexpr absl::Duration kPumpTime = absl::Seconds(10);

const char* ResultName(Result result) {
  switch (result) {
    case Result::kDone:
      return "kDone";
    case Result::kWantRead:
      return "kWantRead";
    case Result::kWantWrite:
      return "kWantWrite";
    case Result::kClosed:
      return "kClosed";
    case Result::kError:
      return "kError";
  }
  return "?";
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(Fd&& other) : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

void SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  ASSERT_EQ(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0) << strerror(errno);
}

// A connected loopback TCP pair, both ends non-blocking, as the acceptor
// and loadgen make them.
void TcpPair(Fd* server, Fd* client) {
  Fd listener(socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_GE(listener.get(), 0) << strerror(errno);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&address),
                 sizeof(address)),
            0)
      << strerror(errno);
  ASSERT_EQ(listen(listener.get(), 1), 0) << strerror(errno);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address),
                        &length),
            0);
  *client = Fd(socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_GE(client->get(), 0) << strerror(errno);
  ASSERT_EQ(connect(client->get(), reinterpret_cast<sockaddr*>(&address),
                    sizeof(address)),
            0)
      << strerror(errno);
  *server = Fd(accept(listener.get(), nullptr, nullptr));
  ASSERT_GE(server->get(), 0) << strerror(errno);
  const int one = 1;
  for (const Fd* fd : {server, client}) {
    SetNonBlocking(fd->get());
    setsockopt(fd->get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
}

// One end of a connection: its stream and what the stream last asked for.
struct Side {
  std::unique_ptr<TlsStream> stream;
  int fd = -1;
  Result last = Result::kWantRead;

  bool failed() const {
    return last == Result::kError || last == Result::kClosed;
  }
  bool handshake_over() const { return stream->established() || failed(); }
};

// Sleeps until one of `sides` can make progress on what it last asked for,
// or a short while: a pump never spins, and never waits for long.
void Wait(std::initializer_list<const Side*> sides) {
  std::vector<pollfd> fds;
  for (const Side* side : sides) {
    if (side->failed()) continue;
    pollfd entry = {};
    entry.fd = side->fd;
    entry.events = side->last == Result::kWantWrite ? POLLOUT : POLLIN;
    fds.push_back(entry);
  }
  poll(fds.data(), fds.size(), 20);
}

// Runs both handshakes until each side is established or has failed. The
// handshake runs inside Read(), as it does in the server's connections.
void Handshake(Side* server, Side* client) {
  const absl::Time deadline = absl::Now() + kPumpTime;
  for (int i = 0; i < kMaxIterations && absl::Now() < deadline; ++i) {
    for (Side* side : {server, client}) {
      if (side->handshake_over()) continue;
      char byte;
      size_t n = 1;
      side->last = side->stream->Read(&byte, 1, &n);
      EXPECT_EQ(n, 0u) << "no data is sent during the handshake";
    }
    if (server->handshake_over() && client->handshake_over()) return;
    Wait({server, client});
  }
  ADD_FAILURE() << "handshake did not finish: server "
                << ResultName(server->last) << ", client "
                << ResultName(client->last);
}

// Reads what `side` has now into `out`; false on kClosed or kError.
bool Drain(Side* side, std::string* out) {
  char buffer[kMaxRecord];
  for (;;) {
    size_t n = 0;
    side->last = side->stream->Read(buffer, sizeof(buffer), &n);
    if (side->last != Result::kDone) {
      EXPECT_EQ(n, 0u);
      return !side->failed();
    }
    EXPECT_GT(n, 0u);
    EXPECT_LE(n, sizeof(buffer));
    out->append(buffer, n);
  }
}

// Sends `message` from `from` to `to` in Writes of at most `chunk` bytes
// while `to` reads into `received`, until it holds `want` bytes.
void SendInto(Side* from, Side* to, absl::string_view message, size_t want,
              std::string* received, size_t chunk = kMaxRecord) {
  size_t sent = 0;
  const absl::Time deadline = absl::Now() + kPumpTime;
  for (int i = 0; i < kMaxIterations && absl::Now() < deadline; ++i) {
    const size_t before = sent + received->size();
    if (from->stream->write_blocked()) {
      from->last = from->stream->ResumeWrite();
    } else if (sent < message.size()) {
      size_t taken = 0;
      from->last = from->stream->Write(
          message.substr(sent, std::min(chunk, message.size() - sent)), &taken);
      sent += taken;
    } else {
      from->last = Result::kDone;
    }
    if (from->failed()) {
      ADD_FAILURE() << "writer: " << ResultName(from->last) << ": "
                    << from->stream->TakeError();
      return;
    }
    if (!Drain(to, received)) {
      ADD_FAILURE() << "reader: " << ResultName(to->last) << ": "
                    << to->stream->TakeError();
      return;
    }
    if (received->size() >= want && !from->stream->write_blocked()) return;
    if (sent + received->size() == before) Wait({from, to});
  }
  ADD_FAILURE() << "sent " << sent << " of " << message.size() << ", received "
                << received->size() << " of " << want;
}

std::string Send(Side* from, Side* to, absl::string_view message,
                 size_t chunk = kMaxRecord) {
  std::string received;
  SendInto(from, to, message, message.size(), &received, chunk);
  return received;
}

// Bytes that show where they came from: a shifted, dropped or repeated
// piece of the stream does not compare equal.
std::string Pattern(size_t size, uint32_t seed) {
  std::string bytes(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    bytes[i] = static_cast<char>(x >> 24);
  }
  return bytes;
}

class TlsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = new std::string(
        absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/tls-stream"));
    other_ = new std::string(*dir_ + "-other");
    for (const std::string* dir : {dir_, other_}) {
      const std::string command =
          absl::StrCat("bash tools/dev-cert.sh ", *dir, " 2>/dev/null");
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
  }

  static std::shared_ptr<const TlsContext> ServerContext(
      const std::string& alpn = "") {
    TlsContext::Options options;
    options.cert_file = *dir_ + "/server.pem";
    options.key_file = *dir_ + "/server.key";
    options.alpn = alpn;
    auto context = TlsContext::Load(options);
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? *context : nullptr;
  }

  // Trusts the dev CA unless told otherwise.
  static TlsContext::ClientOptions Trusting() {
    TlsContext::ClientOptions options;
    options.ca_file = *dir_ + "/ca.pem";
    return options;
  }

  static std::shared_ptr<const TlsContext> ClientContext(
      const TlsContext::ClientOptions& options) {
    auto context = TlsContext::LoadClient(options);
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? *context : nullptr;
  }

  // A fresh connection with a server stream and a client stream on it.
  void Connect(std::shared_ptr<const TlsContext> server_context,
               const TlsContext::ClientOptions& client_options,
               absl::string_view server_name = "localhost") {
    TcpPair(&server_fd_, &client_fd_);
    ASSERT_NE(server_context, nullptr);
    std::shared_ptr<const TlsContext> client_context =
        ClientContext(client_options);
    ASSERT_NE(client_context, nullptr);
    auto server = TlsStream::Create(std::move(server_context), server_fd_.get(),
                                    TlsStream::Role::kServer);
    ASSERT_TRUE(server.ok()) << server.status();
    auto client = TlsStream::Create(std::move(client_context), client_fd_.get(),
                                    TlsStream::Role::kClient, server_name);
    ASSERT_TRUE(client.ok()) << client.status();
    server_.stream = std::move(*server);
    server_.fd = server_fd_.get();
    client_.stream = std::move(*client);
    client_.fd = client_fd_.get();
  }

  void ConnectAndHandshake(std::shared_ptr<const TlsContext> server_context,
                           const TlsContext::ClientOptions& client_options,
                           absl::string_view server_name = "localhost") {
    Connect(std::move(server_context), client_options, server_name);
    if (HasFatalFailure()) return;
    Handshake(&server_, &client_);
    ASSERT_TRUE(server_.stream->established())
        << ResultName(server_.last) << ": " << server_.stream->TakeError();
    ASSERT_TRUE(client_.stream->established())
        << ResultName(client_.last) << ": " << client_.stream->TakeError();
  }

  // Reads on the server until it stops waiting for bytes.
  Result ServerReadUntilDecided() {
    std::string ignored;
    const absl::Time deadline = absl::Now() + kPumpTime;
    for (int i = 0; i < kMaxIterations && absl::Now() < deadline; ++i) {
      char buffer[kMaxRecord];
      size_t n = 0;
      server_.last = server_.stream->Read(buffer, sizeof(buffer), &n);
      if (server_.last != Result::kWantRead &&
          server_.last != Result::kWantWrite) {
        return server_.last;
      }
      Wait({&server_});
    }
    return server_.last;
  }

  static std::string* dir_;
  static std::string* other_;

  // Declared before the streams: a stream's fd must outlive it.
  Fd server_fd_;
  Fd client_fd_;
  Side server_;
  Side client_;
};

std::string* TlsStreamTest::dir_ = nullptr;
std::string* TlsStreamTest::other_ = nullptr;

TEST_F(TlsStreamTest, HandshakeNegotiatesTls13ByDefault) {
  ConnectAndHandshake(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  EXPECT_EQ(server_.stream->version(), "TLSv1.3");
  EXPECT_EQ(client_.stream->version(), "TLSv1.3");
  EXPECT_FALSE(server_.stream->cipher().empty());
  EXPECT_EQ(server_.stream->cipher(), client_.stream->cipher());
  EXPECT_EQ(server_.stream->alpn(), "");
  // kTLS is used only where the kernel has it; then both ends may use it.
  for (const Side* side : {&server_, &client_}) {
    if (side->stream->kernel_send()) EXPECT_TRUE(KernelTlsAvailable());
  }
}

TEST_F(TlsStreamTest, HandshakeNegotiatesTls12WhenTheClientStopsThere) {
  TlsContext::ClientOptions options = Trusting();
  options.max_version = TLS1_2_VERSION;
  ConnectAndHandshake(ServerContext(), options);
  if (HasFatalFailure()) return;
  EXPECT_EQ(server_.stream->version(), "TLSv1.2");
  EXPECT_EQ(client_.stream->version(), "TLSv1.2");
  for (const Side* side : {&server_, &client_}) {
    if (side->stream->kernel_send()) EXPECT_TRUE(KernelTlsAvailable());
  }
  // Data flows over 1.2 as well.
  EXPECT_EQ(Send(&client_, &server_, "JOIN g alice\n"), "JOIN g alice\n");
  EXPECT_EQ(Send(&server_, &client_, "OK\n"), "OK\n");
}

TEST_F(TlsStreamTest, NothingIsNegotiatedBeforeTheHandshake) {
  Connect(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  for (const Side* side : {&server_, &client_}) {
    EXPECT_FALSE(side->stream->established());
    EXPECT_FALSE(side->stream->kernel_send());
    EXPECT_FALSE(side->stream->write_blocked());
    // The header promises "" for all three before the handshake.
    EXPECT_EQ(side->stream->version(), "");
    EXPECT_EQ(side->stream->cipher(), "");
    EXPECT_EQ(side->stream->alpn(), "");
  }
}

TEST_F(TlsStreamTest, DataFlowsBothWays) {
  ConnectAndHandshake(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  EXPECT_EQ(Send(&client_, &server_, "JOIN g alice\n"), "JOIN g alice\n");
  EXPECT_EQ(Send(&server_, &client_, "MSG g alice hi\n"), "MSG g alice hi\n");
  EXPECT_EQ(Send(&client_, &server_, "x"), "x");
}

TEST_F(TlsStreamTest, MessageLargerThanARecordArrivesWhole) {
  ConnectAndHandshake(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  // Not a multiple of the record size, so the last record is short.
  const std::string big = Pattern(5 * kMaxRecord + 1234, 1);
  EXPECT_TRUE(Send(&server_, &client_, big) == big);
  const std::string up = Pattern(3 * kMaxRecord + 7, 2);
  EXPECT_TRUE(Send(&client_, &server_, up) == up);
  // Writes smaller than a record, each its own record.
  const std::string odd = Pattern(100000, 3);
  EXPECT_TRUE(Send(&server_, &client_, odd, 1000) == odd);
}

TEST_F(TlsStreamTest, BlockedWriteResumesWithTheBytesItTook) {
  ConnectAndHandshake(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  // The caller's one staging buffer, refilled for every Write as the
  // server's connections do.
  std::string staging(kMaxRecord, '\0');
  std::string expected;
  Result result = Result::kDone;
  // A client that does not read fills both socket buffers within a few
  // megabytes; the bound only stops a broken test.
  for (uint32_t record = 0; record < 4096; ++record) {
    staging = Pattern(kMaxRecord, 100 + record);
    size_t taken = 0;
    result = server_.stream->Write(staging, &taken);
    if (result != Result::kDone) {
      ASSERT_EQ(result, Result::kWantWrite) << server_.stream->TakeError();
      EXPECT_EQ(taken, staging.size());
      EXPECT_TRUE(server_.stream->write_blocked());
      expected += staging;
      break;
    }
    EXPECT_GT(taken, 0u);
    EXPECT_FALSE(server_.stream->write_blocked());
    expected.append(staging, 0, taken);
  }
  ASSERT_EQ(result, Result::kWantWrite) << "the socket never filled up";
  // The stream holds its own copy: the caller may reuse the buffer now.
  std::memset(&staging[0], 0xAA, staging.size());

  std::string received;
  const absl::Time deadline = absl::Now() + kPumpTime;
  for (int i = 0; i < kMaxIterations && absl::Now() < deadline &&
                  server_.stream->write_blocked();
       ++i) {
    ASSERT_TRUE(Drain(&client_, &received)) << client_.stream->TakeError();
    server_.last = server_.stream->ResumeWrite();
    if (server_.last == Result::kDone) break;
    ASSERT_EQ(server_.last, Result::kWantWrite) << server_.stream->TakeError();
    Wait({&server_, &client_});
  }
  ASSERT_EQ(server_.last, Result::kDone);
  EXPECT_FALSE(server_.stream->write_blocked());
  // The stream goes on as before after the blocked record.
  const std::string tail = Pattern(777, 99);
  expected += tail;
  SendInto(&server_, &client_, tail, expected.size(), &received);
  ASSERT_EQ(received.size(), expected.size());
  // Compared by hand: a mismatch in megabytes should print its offset.
  size_t mismatch = 0;
  while (mismatch < expected.size() && received[mismatch] == expected[mismatch])
    ++mismatch;
  EXPECT_EQ(mismatch, expected.size())
      << "first difference at byte " << mismatch << " of " << expected.size();
}

TEST_F(TlsStreamTest, ClientSeesClosedAfterServerShutdown) {
  ConnectAndHandshake(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  EXPECT_EQ(Send(&server_, &client_, "BYE\n"), "BYE\n");
  Result result = Result::kWantWrite;
  for (int i = 0; i < 100 && result == Result::kWantWrite; ++i) {
    result = server_.stream->Shutdown();
    if (result == Result::kWantWrite) Wait({&server_});
  }
  ASSERT_EQ(result, Result::kDone) << server_.stream->TakeError();
  EXPECT_EQ(server_.stream->Shutdown(), Result::kDone) << "sent only once";
  std::string received;
  const absl::Time deadline = absl::Now() + kPumpTime;
  while (Drain(&client_, &received) && absl::Now() < deadline) {
    Wait({&client_});
  }
  EXPECT_EQ(client_.last, Result::kClosed) << client_.stream->TakeError();
  EXPECT_EQ(received, "");
}

TEST_F(TlsStreamTest, PeerEofWithoutCloseNotifyIsClosed) {
  ConnectAndHandshake(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  EXPECT_EQ(Send(&client_, &server_, "QUIT\n"), "QUIT\n");
  // The client's process dies: FIN, and no close_notify.
  ASSERT_EQ(shutdown(client_fd_.get(), SHUT_WR), 0) << strerror(errno);
  EXPECT_EQ(ServerReadUntilDecided(), Result::kClosed)
      << server_.stream->TakeError();
}

TEST_F(TlsStreamTest, PlaintextChatCommandIsRefused) {
  Connect(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  constexpr absl::string_view kLine = "JOIN g alice\n";
  ASSERT_EQ(write(client_fd_.get(), kLine.data(), kLine.size()),
            static_cast<ssize_t>(kLine.size()));
  EXPECT_EQ(ServerReadUntilDecided(), Result::kError);
  EXPECT_FALSE(server_.stream->established());
  EXPECT_NE(server_.stream->TakeError(), "");
}

TEST_F(TlsStreamTest, PlaintextHttpRequestIsRefused) {
  Connect(ServerContext(), Trusting());
  if (HasFatalFailure()) return;
  constexpr absl::string_view kRequest =
      "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_EQ(write(client_fd_.get(), kRequest.data(), kRequest.size()),
            static_cast<ssize_t>(kRequest.size()));
  EXPECT_EQ(ServerReadUntilDecided(), Result::kError);
  EXPECT_FALSE(server_.stream->established());
  EXPECT_NE(server_.stream->TakeError(), "");
}

TEST_F(TlsStreamTest, ServerRefusesTls11) {
  TlsContext::ClientOptions options = Trusting();
  options.min_version = TLS1_1_VERSION;
  options.max_version = TLS1_1_VERSION;
  Connect(ServerContext(), options);
  if (HasFatalFailure()) return;
  Handshake(&server_, &client_);
  EXPECT_EQ(server_.last, Result::kError);
  EXPECT_FALSE(server_.stream->established());
  EXPECT_NE(server_.stream->TakeError(), "");
  EXPECT_FALSE(client_.stream->established());
}

TEST_F(TlsStreamTest, ClientRefusesACertificateFromAnotherCa) {
  TlsContext::ClientOptions options = Trusting();
  options.ca_file = *other_ + "/ca.pem";
  Connect(ServerContext(), options);
  if (HasFatalFailure()) return;
  Handshake(&server_, &client_);
  EXPECT_EQ(client_.last, Result::kError);
  EXPECT_FALSE(client_.stream->established());
  EXPECT_NE(client_.stream->TakeError(), "");
  // The server learns it from the client's alert.
  EXPECT_FALSE(server_.stream->established());
}

TEST_F(TlsStreamTest, ClientChecksTheHostName) {
  Connect(ServerContext(), Trusting(), "chat.example.com");
  if (HasFatalFailure()) return;
  Handshake(&server_, &client_);
  EXPECT_EQ(client_.last, Result::kError);
  EXPECT_FALSE(client_.stream->established());
}

TEST_F(TlsStreamTest, IpLiteralServerNameVerifiesAgainstTheAddressSan) {
  ConnectAndHandshake(ServerContext(), Trusting(), "127.0.0.1");
  if (HasFatalFailure()) return;
  EXPECT_EQ(Send(&client_, &server_, "JOIN g alice\n"), "JOIN g alice\n");
}

TEST_F(TlsStreamTest, IpLiteralServerNameIsChecked) {
  // Not in the certificate: the address is checked, not skipped.
  Connect(ServerContext(), Trusting(), "127.0.0.2");
  if (HasFatalFailure()) return;
  Handshake(&server_, &client_);
  EXPECT_EQ(client_.last, Result::kError);
  EXPECT_FALSE(client_.stream->established());
}

TEST_F(TlsStreamTest, AlpnSelectsHttp11WhenOffered) {
  TlsContext::ClientOptions options = Trusting();
  options.alpn = "http/1.1";
  ConnectAndHandshake(ServerContext("http/1.1"), options);
  if (HasFatalFailure()) return;
  EXPECT_EQ(server_.stream->alpn(), "http/1.1");
  EXPECT_EQ(client_.stream->alpn(), "http/1.1");
}

TEST_F(TlsStreamTest, AlpnIsEmptyWhenTheClientOffersNothing) {
  ConnectAndHandshake(ServerContext("http/1.1"), Trusting());
  if (HasFatalFailure()) return;
  EXPECT_EQ(server_.stream->alpn(), "");
  EXPECT_EQ(client_.stream->alpn(), "");
}

}  // namespace
}  // namespace chatd
