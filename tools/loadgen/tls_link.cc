#include "tools/loadgen/tls_link.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace chatd::loadgen {
namespace {

// NATS's INFO is a few hundred bytes; anything this long is not a greeting.
constexpr size_t kMaxGreetingBytes = 64 * 1024;
// Output buffer capacity kept once everything is sent: enough for a burst
// of messages without reallocating, little on an idle connection.
constexpr size_t kKeepCapacity = 16 * 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<TlsLink>> TlsLink::Create(
    std::shared_ptr<const TlsContext> context, int fd, const Options& options) {
  absl::StatusOr<std::unique_ptr<TlsStream>> stream = TlsStream::Create(
      std::move(context), fd, TlsStream::Role::kClient, options.server_name);
  if (!stream.ok()) return stream.status();
  return std::unique_ptr<TlsLink>(new TlsLink(*std::move(stream), fd, options));
}

TlsLink::TlsLink(std::unique_ptr<TlsStream> stream, int fd,
                 const Options& options)
    : stream_(std::move(stream)),
      fd_(fd),
      greeting_must_contain_(options.greeting_must_contain),
      in_greeting_(options.greeting_line) {}

TlsLink::Io TlsLink::Fail(absl::string_view what) {
  error_ = absl::StrCat(what, stream_->TakeError());
  return Io::kError;
}

TlsLink::Io TlsLink::ReadGreeting(char* buffer, size_t size, size_t* n,
                                  bool* done) {
  *done = false;
  // Peek first and take only through the newline: the server's next bytes
  // are its handshake, which belong to OpenSSL. (It sends none before our
  // ClientHello, but a peek costs one syscall once per connection.)
  char chunk[4096];
  while (true) {
    const ssize_t got =
        recv(fd_, chunk, sizeof(chunk), MSG_PEEK | MSG_DONTWAIT);
    if (got == 0) return Io::kClosed;
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::kOk;
      error_ = absl::StrCat("read: ", strerror(errno));
      return Io::kError;
    }
    const absl::string_view peeked(chunk, static_cast<size_t>(got));
    const size_t newline = peeked.find('\n');
    const size_t take =
        newline == absl::string_view::npos ? peeked.size() : newline + 1;
    const ssize_t taken = recv(fd_, chunk, take, MSG_DONTWAIT);
    if (taken != static_cast<ssize_t>(take)) {
      error_ = absl::StrCat("read: ", taken < 0 ? strerror(errno) : "short");
      return Io::kError;
    }
    greeting_.append(chunk, take);
    // The buffer must also keep room for the handshake's first read.
    if (greeting_.size() > kMaxGreetingBytes ||
        greeting_.size() + TlsStream::kMaxRecord > size) {
      error_ = "plaintext greeting line too long";
      return Io::kError;
    }
    if (newline != absl::string_view::npos) break;
  }
  if (greeting_.find(greeting_must_contain_) == std::string::npos) {
    error_ = absl::StrCat("server does not offer TLS: ",
                          absl::string_view(greeting_).substr(0, 200));
    return Io::kError;
  }
  memcpy(buffer, greeting_.data(), greeting_.size());
  *n = greeting_.size();
  std::string().swap(greeting_);
  in_greeting_ = false;
  *done = true;
  return Io::kOk;
}

TlsLink::Io TlsLink::Read(char* buffer, size_t size, size_t* n) {
  *n = 0;
  if (in_greeting_) {
    bool done = false;
    const Io io = ReadGreeting(buffer, size, n, &done);
    if (io != Io::kOk || !done) return io;
    // Straight on to the handshake below: its first read sends the
    // ClientHello.
  }
  read_wants_write_ = false;
  // Records are read one by one (OpenSSL returns at most one per call);
  // gathering them lets the session parse many messages per Feed, as one
  // recv does without TLS. The buffer always has room for a whole record,
  // so nothing stays inside OpenSSL that epoll would not report.
  while (size - *n >= TlsStream::kMaxRecord) {
    size_t got = 0;
    switch (stream_->Read(buffer + *n, size - *n, &got)) {
      case TlsStream::Result::kDone:
        *n += got;
        continue;
      case TlsStream::Result::kWantRead:
        return Io::kOk;
      case TlsStream::Result::kWantWrite:
        read_wants_write_ = true;
        return Io::kOk;
      case TlsStream::Result::kClosed:
        return Io::kClosed;
      case TlsStream::Result::kError:
        return Fail("tls: ");
    }
  }
  return Io::kOk;
}

TlsLink::Io TlsLink::SendKernel() {
  while (out_offset_ < out_.size()) {
    const ssize_t sent =
        send(fd_, out_.data() + out_offset_, out_.size() - out_offset_,
             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        write_wants_write_ = true;
        return Io::kOk;
      }
      error_ = absl::StrCat("send: ", strerror(errno));
      return Io::kError;
    }
    out_offset_ += static_cast<size_t>(sent);
  }
  return Io::kOk;
}

TlsLink::Io TlsLink::Flush() {
  write_wants_write_ = false;
  write_wants_read_ = false;
  if (in_greeting_) {
    // Nothing may go out before the handshake; Read() starts it.
    write_wants_read_ = true;
    return Io::kOk;
  }
  auto blocked = [this](TlsStream::Result result) {
    switch (result) {
      case TlsStream::Result::kWantRead:
        write_wants_read_ = true;
        return Io::kOk;
      case TlsStream::Result::kWantWrite:
        write_wants_write_ = true;
        return Io::kOk;
      case TlsStream::Result::kClosed:
        return Io::kClosed;
      default:
        return Fail("tls: ");
    }
  };
  if (stream_->write_blocked()) {
    const TlsStream::Result result = stream_->ResumeWrite();
    if (result != TlsStream::Result::kDone) return blocked(result);
  }
  while (out_offset_ < out_.size()) {
    if (stream_->established() && stream_->kernel_send()) {
      const Io io = SendKernel();
      if (io != Io::kOk || write_wants_write_) return io;
      break;
    }
    const size_t chunk =
        std::min(out_.size() - out_offset_, TlsStream::kMaxRecord);
    size_t taken = 0;
    const TlsStream::Result result = stream_->Write(
        absl::string_view(out_.data() + out_offset_, chunk), &taken);
    // A blocked record was taken whole (the stream keeps its copy); a
    // handshake still under way took nothing.
    out_offset_ += taken;
    if (result != TlsStream::Result::kDone) {
      const Io io = blocked(result);
      if (out_offset_ == out_.size() || out_offset_ >= kKeepCapacity) {
        out_.erase(0, out_offset_);
        out_offset_ = 0;
      }
      return io;
    }
  }
  out_.clear();
  out_offset_ = 0;
  if (out_.capacity() > kKeepCapacity) std::string().swap(out_);
  return Io::kOk;
}

void TlsLink::Shutdown() {
  if (!stream_->established()) return;
  // One non-blocking try: the run is over and nobody waits for the answer.
  stream_->Shutdown();
}

}  // namespace chatd::loadgen
