#include "net/tls_stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace chatd {
namespace {

bool IsIpLiteral(const std::string& name) {
  unsigned char address[16];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

// Before each OpenSSL call: SSL_get_error() reads the error queue, and for
// SSL_ERROR_SYSCALL errno, so neither may hold a leftover.
void ClearErrors() {
  ERR_clear_error();
  errno = 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsStream>> TlsStream::Create(
    std::shared_ptr<const TlsContext> context, int fd, Role role,
    absl::string_view server_name) {
  ClearErrors();
  SSL* ssl = SSL_new(context->ctx());
  if (ssl == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("SSL_new: ", OpenSslErrors()));
  }
  std::unique_ptr<TlsStream> stream(new TlsStream(std::move(context), ssl));
  if (SSL_set_fd(ssl, fd) != 1) {
    return absl::InternalError(absl::StrCat("SSL_set_fd: ", OpenSslErrors()));
  }
  if (role == Role::kServer) {
    SSL_set_accept_state(ssl);
    return stream;
  }
  SSL_set_connect_state(ssl);
  const std::string name(server_name);
  if (name.empty()) return stream;
  // SNI carries host names only; an address is checked as an address.
  const bool verify = (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0;
  if (IsIpLiteral(name)) {
    if (verify)
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    if (verify) SSL_set1_host(ssl, name.c_str());
  }
  return stream;
}

TlsStream::TlsStream(std::shared_ptr<const TlsContext> context, SSL* ssl)
    : ssl_(ssl), context_(std::move(context)) {}

TlsStream::~TlsStream() { SSL_free(ssl_); }

TlsStream::Result TlsStream::Failure(int ret) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return Result::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Result::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return Result::kClosed;
    case SSL_ERROR_SYSCALL:
      // With SSL_OP_IGNORE_UNEXPECTED_EOF a bare EOF is ZERO_RETURN; this is
      // a reset or another socket error.
      saved_errno_ = errno;
      if (saved_errno_ == 0 && ERR_peek_error() == 0) return Result::kClosed;
      return Result::kError;
    default:
      saved_errno_ = 0;
      return Result::kError;
  }
}

TlsStream::Result TlsStream::Handshake() {
  if (established_) return Result::kDone;
  ClearErrors();
  const int ret = SSL_do_handshake(ssl_);
  if (ret != 1) return Failure(ret);
  established_ = true;
  // OpenSSL turns kTLS on during the handshake when the kernel and the
  // cipher allow it (SSL_OP_ENABLE_KTLS); from then on it stays as it is.
  kernel_send_ = BIO_get_ktls_send(SSL_get_wbio(ssl_)) != 0;
  context_.reset();
  return Result::kDone;
}

TlsStream::Result TlsStream::Read(char* buffer, size_t size, size_t* n) {
  const Result result = ReadSome(buffer, size, n);
  read_wants_write_ = result == Result::kWantWrite;
  return result;
}

TlsStream::Result TlsStream::ReadSome(char* buffer, size_t size, size_t* n) {
  *n = 0;
  const Result handshake = Handshake();
  if (handshake != Result::kDone) return handshake;
  ClearErrors();
  size_t read = 0;
  const int ret = SSL_read_ex(ssl_, buffer, size, &read);
  if (ret == 1) {
    *n = read;
    return Result::kDone;
  }
  return Failure(ret);
}

TlsStream::Result TlsStream::Write(absl::string_view bytes, size_t* taken) {
  const Result result = WriteRecord(bytes, taken);
  write_wants_read_ = result == Result::kWantRead;
  return result;
}

TlsStream::Result TlsStream::WriteRecord(absl::string_view bytes,
                                         size_t* taken) {
  *taken = 0;
  const Result handshake = Handshake();
  if (handshake != Result::kDone) return handshake;
  ClearErrors();
  size_t written = 0;
  const int ret = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written);
  if (ret == 1) {
    *taken = written;
    return Result::kDone;
  }
  const Result result = Failure(ret);
  if (result == Result::kWantRead || result == Result::kWantWrite) {
    // OpenSSL has begun this record; the retry must present the same bytes
    // (from any address: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
    blocked_.reset(new char[bytes.size()]);
    std::memcpy(blocked_.get(), bytes.data(), bytes.size());
    blocked_size_ = static_cast<uint32_t>(bytes.size());
    *taken = bytes.size();
  }
  return result;
}

TlsStream::Result TlsStream::ResumeWrite() {
  write_wants_read_ = false;
  while (blocked_size_ > 0) {
    ClearErrors();
    size_t written = 0;
    const int ret = SSL_write_ex(ssl_, blocked_.get(), blocked_size_, &written);
    if (ret != 1) {
      const Result result = Failure(ret);
      write_wants_read_ = result == Result::kWantRead;
      return result;
    }
    // A record cut short leaves a tail, which is a new write of its own.
    blocked_size_ -= static_cast<uint32_t>(written);
    std::memmove(blocked_.get(), blocked_.get() + written, blocked_size_);
  }
  blocked_.reset();
  return Result::kDone;
}

TlsStream::Result TlsStream::Shutdown() {
  if (shut_) return Result::kDone;
  if (!established_) {
    shut_ = true;  // No session to close.
    return Result::kDone;
  }
  ClearErrors();
  // 0 means our close_notify went and the peer's has not come: we do not
  // wait for it, the owner reads until EOF anyway.
  const int ret = SSL_shutdown(ssl_);
  if (ret >= 0) {
    shut_ = true;
    return Result::kDone;
  }
  const Result result = Failure(ret);
  if (result == Result::kWantRead || result == Result::kWantWrite) {
    return result;
  }
  shut_ = true;
  return result;
}

std::string TlsStream::version() const {
  // OpenSSL names the method's version before anything is negotiated.
  return established_ ? SSL_get_version(ssl_) : "";
}

std::string TlsStream::cipher() const {
  const char* name = established_ ? SSL_get_cipher_name(ssl_) : nullptr;
  return name != nullptr ? name : "";
}

std::string TlsStream::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  if (data == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(data), length);
}

std::string TlsStream::TakeError() {
  if (saved_errno_ != 0) {
    const int error = saved_errno_;
    saved_errno_ = 0;
    ClearErrors();
    return strerror(error);
  }
  return OpenSslErrors();
}

}  // namespace chatd
