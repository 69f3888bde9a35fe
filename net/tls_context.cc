#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <time.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chatd {
namespace {

// TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only. TLS 1.3's
// defaults are all AEAD already.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Selects options->alpn when the client offers it; with no match the
// handshake goes on without ALPN, as RFC 7301 allows a server to.
int SelectAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_len,
               const unsigned char* in, unsigned int in_len, void* arg) {
  const std::string& wanted =
      static_cast<const TlsContext::Options*>(arg)->alpn;
  for (unsigned int i = 0; i < in_len;) {
    const unsigned int length = in[i];
    if (i + 1 + length > in_len) break;
    if (absl::string_view(reinterpret_cast<const char*>(in + i + 1), length) ==
        wanted) {
      *out = in + i + 1;
      *out_len = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long error = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(error, buffer, sizeof(buffer));
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "no OpenSSL error queued" : text;
}

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::New(
    const SSL_METHOD* method, const Options& options) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslErrors()));
  }
  // From here on the TlsContext owns ctx, also on the callers' error paths.
  std::shared_ptr<TlsContext> context(new TlsContext(ctx, options));
  // Both sides: kTLS where the kernel has it; an EOF without close_notify
  // is an end, not an error.
  SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Idle connections give their read and write buffers back; a write may
  // progress record by record, and a retry may pass the same bytes from a
  // moved buffer (TlsStream's copy of a blocked record).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
                            SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return context;
}

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::Load(
    const Options& options) {
  absl::StatusOr<std::shared_ptr<TlsContext>> made =
      New(TLS_server_method(), options);
  if (!made.ok()) return made.status();
  std::shared_ptr<TlsContext> context = *std::move(made);
  SSL_CTX* const ctx = context->ctx_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // No session tickets: nothing is written after the handshake, which
  // keeps the kernel-TLS path a plain sendmsg; clients do a full handshake
  // on reconnect, which chat clients rarely do.
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return absl::InternalError(absl::StrCat("cipher list: ", OpenSslErrors()));
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", options.cert_file, ": ", OpenSslErrors()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("key ", options.key_file, ": ", OpenSslErrors()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("key ", options.key_file, " does not match certificate ",
                     options.cert_file, ": ", OpenSslErrors()));
  }
  tm expiry{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(SSL_CTX_get0_certificate(ctx)),
                      &expiry) == 1) {
    context->not_after_ = absl::FromTimeT(timegm(&expiry));
  }
  if (!options.alpn.empty()) {
    SSL_CTX_set_alpn_select_cb(ctx, &SelectAlpn,
                               const_cast<Options*>(&context->options_));
  }
  return std::shared_ptr<const TlsContext>(std::move(context));
}

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::LoadClient(
    const ClientOptions& client) {
  absl::StatusOr<std::shared_ptr<TlsContext>> made =
      New(TLS_client_method(), Options());
  if (!made.ok()) return made.status();
  std::shared_ptr<TlsContext> context = *std::move(made);
  SSL_CTX* const ctx = context->ctx_;
  SSL_CTX_set_min_proto_version(
      ctx, client.min_version != 0 ? client.min_version : TLS1_2_VERSION);
  if (client.max_version != 0) {
    SSL_CTX_set_max_proto_version(ctx, client.max_version);
  }
  if (client.min_version != 0 && client.min_version < TLS1_2_VERSION) {
    // Versions before 1.2 are not even offered at the default level.
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
  }
  if (client.verify) {
    const int loaded = client.ca_file.empty()
                           ? SSL_CTX_set_default_verify_paths(ctx)
                           : SSL_CTX_load_verify_locations(
                                 ctx, client.ca_file.c_str(), nullptr);
    if (loaded != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("CA file ", client.ca_file, ": ", OpenSslErrors()));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!client.alpn.empty()) {
    // The wire form: one length byte, then the name.
    std::string protos(1, static_cast<char>(client.alpn.size()));
    protos += client.alpn;
    SSL_CTX_set_alpn_protos(
        ctx, reinterpret_cast<const unsigned char*>(protos.data()),
        static_cast<unsigned int>(protos.size()));
  }
  return std::shared_ptr<const TlsContext>(std::move(context));
}

TlsContext::TlsContext(SSL_CTX* ctx, const Options& options)
    : ctx_(ctx), options_(options) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

bool KernelTlsAvailable() {
  std::ifstream file("/proc/sys/net/ipv4/tcp_available_ulp");
  std::stringstream contents;
  contents << file.rdbuf();
  for (absl::string_view ulp : absl::StrSplit(
           contents.str(), absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    if (ulp == "tls") return true;
  }
  return false;
}

}  // namespace chatd
