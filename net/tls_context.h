// TlsContext is one certificate and key loaded into an OpenSSL server
// context, configured once for every TLS listener: TLS 1.2 and 1.3 only,
// forward-secret AEAD ciphers, kernel TLS enabled where the kernel has it,
// and no 16 KiB buffers held by idle connections (SSL_MODE_RELEASE_BUFFERS).
//
// The same class holds a client context (LoadClient) for chatd's own tools
// and tests: loadgen and the test clients speak TLS through the same
// TlsStream as the server.
//
// A TlsContext is immutable once loaded and shared (shared_ptr) by the
// connections made with it: each SSL object also holds a reference to its
// SSL_CTX, so a reload (SIGHUP) builds a new TlsContext for new connections
// while existing ones keep theirs. TlsContextSlot is where the server keeps
// the current one; any thread may read or replace it.
#ifndef CHATD_NET_TLS_CONTEXT_H_
#define CHATD_NET_TLS_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "third_party/mutex.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;

namespace chatd {

class TlsContext {
 public:
  struct Options {
    std::string cert_file;  // PEM: the certificate, then its chain.
    std::string key_file;   // PEM: the private key.
    // The ALPN protocol to select when the client offers it ("http/1.1"
    // on the web port); empty: no ALPN.
    std::string alpn;
  };

  // Reads the files and checks that the key matches the certificate.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> Load(
      const Options& options);

  struct ClientOptions {
    // PEM file of the CAs to trust; empty: the system's default CAs.
    std::string ca_file;
    // Skip certificate checks (a test against a bad peer).
    bool verify = true;
    // Offered in the handshake when not empty.
    std::string alpn;
    // 0: the server context's range, TLS 1.2 and 1.3. A test sets an older
    // version to check that the server refuses it.
    int min_version = 0;
    int max_version = 0;
  };
  // A client context; the host name to check is given per connection.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> LoadClient(
      const ClientOptions& options);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  const Options& options() const { return options_; }
  // When the certificate expires; InfinitePast for a client context.
  absl::Time not_after() const { return not_after_; }

 private:
  TlsContext(SSL_CTX* ctx, const Options& options);
  // A context of `method` with what both roles set.
  static absl::StatusOr<std::shared_ptr<TlsContext>> New(
      const SSL_METHOD* method, const Options& options);

  SSL_CTX* const ctx_;
  const Options options_;  // alpn_ is read by OpenSSL's callback.
  absl::Time not_after_ = absl::InfinitePast();
};

// The OpenSSL errors queued on this thread, as one line, and clears them.
std::string OpenSslErrors();

// Whether this kernel can take over TLS record encryption (kTLS): the "tls"
// upper-layer protocol is listed in /proc/sys/net/ipv4/tcp_available_ulp.
// OpenSSL falls back to user space by itself when it is not.
bool KernelTlsAvailable();

// The current TlsContext of a listener. Read once per new connection,
// replaced on reload; never on the message path.
class TlsContextSlot {
 public:
  std::shared_ptr<const TlsContext> Get() const {
    MutexLock lock(&mu_);
    return current_;
  }
  void Set(std::shared_ptr<const TlsContext> context) {
    MutexLock lock(&mu_);
    current_ = std::move(context);
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<const TlsContext> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chatd

#endif  // CHATD_NET_TLS_CONTEXT_H_
