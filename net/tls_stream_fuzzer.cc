// Fuzzes a server TlsStream with the bytes a client sends: each input is
// written to a fresh loopback TCP connection whose other end is a server
// stream, then the client half-closes, as a client that sends its bytes
// and hangs up. The server reads until the stream ends. Whatever arrives,
// the stream must end (kClosed or kError) within a bounded number of calls
// once the peer's FIN is there, Read() must report sizes within its buffer
// and data only once established, and a failure must say why.
//
// The input is written in two pieces, split where its last byte says, with
// server reads between them, so a record can also arrive in parts.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"
#include "tools/fuzz/fuzz_check.h"

namespace chatd {
namespace {

using Result = TlsStream::Result;

constexpr size_t kMaxInput = 64 * 1024;
// Far more calls than any input needs once the whole input and the FIN
// are in the server's socket: each call consumes bytes or ends the stream.
constexpr int kMaxIterations = 10000;
constexpr int kPollMillis = 1000;

bool WriteFile(const std::string& path, bool key, EVP_PKEY* pkey, X509* cert) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return false;
  const int ok = key ? PEM_write_PrivateKey(file, pkey, nullptr, nullptr, 0,
                                            nullptr, nullptr)
                     : PEM_write_X509(file, cert);
  return std::fclose(file) == 0 && ok == 1;
}

// A server context with a fresh self-signed P-256 certificate for
// localhost. Made here rather than by tools/dev-cert.sh because the fuzz
// macro gives the target no data files and no known working directory
// (bazel test, bazel run and .ci/run each start it elsewhere), and the
// certificate's contents never matter: no input gets past the ServerHello.
std::shared_ptr<const TlsContext> MakeServerContext() {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  FUZZ_CHECK(pkey != nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
  X509_set_pubkey(cert, pkey);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(
      nullptr, nullptr, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  FUZZ_CHECK(san != nullptr);
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  FUZZ_CHECK(X509_sign(cert, pkey, EVP_sha256()) > 0);

  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/tls_stream_fuzzer.XXXXXX";
  FUZZ_CHECK(mkdtemp(&dir[0]) != nullptr);
  TlsContext::Options options;
  options.cert_file = dir + "/server.pem";
  options.key_file = dir + "/server.key";
  FUZZ_CHECK(WriteFile(options.cert_file, false, pkey, cert));
  FUZZ_CHECK(WriteFile(options.key_file, true, pkey, cert));
  X509_free(cert);
  EVP_PKEY_free(pkey);
  auto context = TlsContext::Load(options);
  if (!context.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(context.status().message()).c_str());
  }
  FUZZ_CHECK(context.ok());
  // The context holds what it needs in memory.
  unlink(options.cert_file.c_str());
  unlink(options.key_file.c_str());
  rmdir(dir.c_str());
  return *context;
}

// One listener for the whole run; a connection per input.
int Listener() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  FUZZ_CHECK(fd >= 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
             0);
  FUZZ_CHECK(listen(fd, 16) == 0);
  return fd;
}

struct Connection {
  int server = -1;
  int client = -1;
};

Connection Connect(int listener) {
  sockaddr_in address = {};
  socklen_t length = sizeof(address);
  FUZZ_CHECK(getsockname(listener, reinterpret_cast<sockaddr*>(&address),
                         &length) == 0);
  Connection connection;
  connection.client = socket(AF_INET, SOCK_STREAM, 0);
  FUZZ_CHECK(connection.client >= 0);
  FUZZ_CHECK(connect(connection.client, reinterpret_cast<sockaddr*>(&address),
                     sizeof(address)) == 0);
  connection.server = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
  FUZZ_CHECK(connection.server >= 0);
  const int one = 1;
  setsockopt(connection.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  FUZZ_CHECK(fcntl(connection.client, F_SETFL, O_NONBLOCK) == 0);
  return connection;
}

void Close(const Connection& connection) {
  // A reset instead of a FIN: tens of thousands of connections a minute
  // must not leave their ports in TIME_WAIT.
  const linger abort = {1, 0};
  setsockopt(connection.client, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  close(connection.client);
  close(connection.server);
}

// libssl is a system library without coverage instrumentation, so all
// libFuzzer sees is this file and the stream's few branches, which nearly
// every input takes alike: left alone it keeps three tiny inputs and drops
// the ClientHellos. These counters tell it where in OpenSSL an input ended
// up: the error OpenSSL gave, and what the server sent back.
__attribute__((used, section("__libfuzzer_extra_counters")))
uint8_t extra_counters[1 << 12];

void Observe(absl::string_view feature) {
  uint32_t hash = 2166136261u;  // FNV-1a: the same buckets in every run.
  for (const char c : feature) {
    hash = (hash ^ static_cast<uint8_t>(c)) * 16777619u;
  }
  uint8_t& counter = extra_counters[hash % sizeof(extra_counters)];
  if (counter < 255) ++counter;
}

void Observe(absl::string_view kind, uint64_t value) {
  Observe(absl::StrCat(kind, ":", value));
}

// Discards what the server sent (its hello, alerts), so its writes never
// wait for a client that does not read; keeps its first bytes.
void DrainClient(int fd, std::string* reply, size_t* reply_size) {
  char buffer[16384];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    if (reply->size() < 8) {
      reply->append(buffer, std::min<size_t>(n, 8 - reply->size()));
    }
    *reply_size += static_cast<size_t>(n);
  }
}

// The first record's type and, for an alert, its description; for a
// handshake record, the message type (ServerHello or HelloRetryRequest
// alike). And roughly how much came: the certificate flight or not.
void ObserveReply(const std::string& reply, size_t reply_size) {
  const auto byte = [&reply](size_t i) -> uint64_t {
    return i < reply.size() ? static_cast<uint8_t>(reply[i]) : 256;
  };
  Observe("reply",
          (byte(0) << 16) | (byte(5) << 8) | (byte(0) == 0x15 ? byte(6) : 0));
  uint64_t log2 = 0;
  while ((reply_size >> log2) > 1) ++log2;
  Observe("reply size", log2);
}

bool Ended(Result result) {
  return result == Result::kClosed || result == Result::kError;
}

void CheckStream(TlsStream* stream) {
  if (!stream->established()) {
    FUZZ_CHECK(!stream->kernel_send());
    FUZZ_CHECK(stream->alpn().empty());
  }
}

void FuzzOne(const uint8_t* data, size_t size) {
  // Made on first use: the bazel test driver does not call
  // LLVMFuzzerInitialize.
  static const std::shared_ptr<const TlsContext>* const context =
      new std::shared_ptr<const TlsContext>(MakeServerContext());
  static const int listener = Listener();

  if (size > kMaxInput) size = kMaxInput;
  const size_t split = size == 0 ? 0 : data[size - 1] % (size + 1);
  const Connection connection = Connect(listener);
  auto created =
      TlsStream::Create(*context, connection.server, TlsStream::Role::kServer);
  FUZZ_CHECK(created.ok());
  std::unique_ptr<TlsStream> stream = std::move(*created);

  size_t written = 0;
  size_t target = split;  // Written before the server reads the rest.
  bool fin = false;
  bool shut = false;
  Result result = Result::kWantRead;
  std::string reply;
  size_t reply_size = 0;
  int iterations = 0;
  for (; iterations < kMaxIterations && !Ended(result) && !shut; ++iterations) {
    if (written < target) {
      const ssize_t sent = send(connection.client, data + written,
                                target - written, MSG_NOSIGNAL);
      if (sent > 0) written += static_cast<size_t>(sent);
    }
    if (written == size && !fin) {
      FUZZ_CHECK(shutdown(connection.client, SHUT_WR) == 0);
      fin = true;
    }
    DrainClient(connection.client, &reply, &reply_size);

    char buffer[TlsStream::kMaxRecord];
    size_t n = 1;
    result = stream->Read(buffer, sizeof(buffer), &n);
    CheckStream(stream.get());
    if (result == Result::kDone) {
      FUZZ_CHECK(stream->established());
      FUZZ_CHECK(n > 0 && n <= sizeof(buffer));
      // A handshake the input completed (it cannot, without the server's
      // keys): the server would answer and hang up.
      size_t taken = 0;
      const Result wrote = stream->Write("OK\n", &taken);
      FUZZ_CHECK(wrote != Result::kDone || (taken > 0 && taken <= 3));
      if (wrote == Result::kWantRead || wrote == Result::kWantWrite) {
        FUZZ_CHECK(taken == 3 && stream->write_blocked());
      } else {
        shut = stream->Shutdown() == Result::kDone;
      }
      continue;
    }
    FUZZ_CHECK(n == 0);
    Observe(absl::StrCat("result ", static_cast<int>(result), " at ",
                         std::min(iterations, 8)));
    if (result == Result::kError) {
      const std::string error = stream->TakeError();
      FUZZ_CHECK(!error.empty());
      Observe(error);
      break;
    }
    if (result == Result::kWantRead && written == target && target < size) {
      target = size;  // The second piece.
      continue;
    }
    if (Ended(result)) break;
    pollfd fds[2] = {};
    fds[0].fd = connection.server;
    fds[0].events = result == Result::kWantWrite ? POLLOUT : POLLIN;
    fds[1].fd = connection.client;
    fds[1].events = written < target ? POLLOUT : 0;
    poll(fds, 2, kPollMillis);
  }
  // A stream that neither ends nor asks for anything new after EOF would
  // hold a server connection forever.
  FUZZ_CHECK(Ended(result) || shut);
  DrainClient(connection.client, &reply, &reply_size);
  ObserveReply(reply, reply_size);
  stream.reset();
  Close(connection);
}

}  // namespace
}  // namespace chatd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chatd::FuzzOne(data, size);
  return 0;
}
