// A blocking HTTP/1.1 client over loopback TCP, for integration tests of
// chatd's HTTP port.
//
// Requests are raw bytes, so tests can send anything: pipelined requests in
// one write, malformed ones, headers dribbled a byte at a time. Responses are
// read one at a time from a buffered stream (status line, headers, a
// Content-Length body), so several can be read from one keep-alive
// connection. Every wait is bounded by a timeout built on poll(), as in
// ChatClient. Also reads raw bytes, for what follows a WebSocket upgrade.

#ifndef CHATD_TESTS_HTTP_CLIENT_H_
#define CHATD_TESTS_HTTP_CLIENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"

namespace chatd_test {

struct HttpReply {
  int status = 0;
  std::string status_line;  // Without its "\r\n".
  // In order of arrival; names lower-cased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of header `name` (any case), empty if absent.
  std::string Header(absl::string_view name) const;
  bool HasHeader(absl::string_view name) const;
};

class HttpClient {
 public:
  HttpClient() = default;
  ~HttpClient();
  HttpClient(HttpClient&& other) noexcept;
  HttpClient& operator=(HttpClient&& other) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Connects to 127.0.0.1:`port`. A refused connection is Unavailable with
  // "Connection refused" in the message.
  absl::Status Connect(int port, absl::Duration timeout = kDefaultTimeout);

  // Writes all of `bytes` (never raises SIGPIPE).
  absl::Status Send(absl::string_view bytes,
                    absl::Duration timeout = kDefaultTimeout);

  // Reads the next response. `head` says the request was HEAD, so no body
  // follows whatever Content-Length says.
  absl::StatusOr<HttpReply> ReadResponse(
      bool head = false, absl::Duration timeout = kDefaultTimeout);

  // Sends "`method` `target` HTTP/1.1" with a Host header and
  // `extra_headers` (each ending in "\r\n"), then reads the response.
  absl::StatusOr<HttpReply> Request(absl::string_view method,
                                    absl::string_view target,
                                    absl::string_view extra_headers = "",
                                    absl::Duration timeout = kDefaultTimeout);

  // Exactly `n` bytes, or an error.
  absl::StatusOr<std::string> ReadBytes(
      size_t n, absl::Duration timeout = kDefaultTimeout);

  // OK when the server ends the connection (EOF or reset) within `timeout`
  // without sending anything more; otherwise an error with the bytes that
  // came, or DeadlineExceeded.
  absl::Status ExpectClosed(absl::Duration timeout = kDefaultTimeout);

  void Close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  absl::Status WaitFor(short events, absl::Time deadline);
  // Reads what is available into buffer_; 0 means EOF.
  absl::StatusOr<size_t> FillBuffer(absl::Time deadline);
  // Returns the next "\r\n"-terminated line without the terminator.
  absl::StatusOr<std::string> ReadCrlfLine(absl::Time deadline);

  int fd_ = -1;
  int port_ = 0;
  std::string buffer_;  // Unread bytes.
  bool eof_ = false;
  std::string eof_reason_;
};

// GET `target` on a fresh connection to `port` (with "Connection: close").
absl::StatusOr<HttpReply> HttpGet(int port, absl::string_view target,
                                  absl::Duration timeout = kDefaultTimeout);

}  // namespace chatd_test

#endif  // CHATD_TESTS_HTTP_CLIENT_H_
