// HttpRequestParser reads HTTP/1.1 requests from a client's byte stream with
// llhttp (Node.js's parser) and hands them out one at a time, so a
// connection can answer each before the next (keep-alive, pipelining) or
// switch protocols after an upgrade request.
//
// Only what a small web front end needs is kept: method, target, headers
// (names lower-cased) and whether the client wants keep-alive or an upgrade.
// Request bodies are read and thrown away. Headers are limited to
// kMaxHeaderBytes (431), a body to kMaxBodyBytes (413); anything llhttp
// rejects is 400.
//
// One parser per HTTP connection, owned by it and used on its worker's
// thread only.
#ifndef CHATD_NET_HTTP_REQUEST_PARSER_H_
#define CHATD_NET_HTTP_REQUEST_PARSER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace chatd {

struct HttpRequest {
  std::string method;  // As sent: "GET", "HEAD", "POST"...
  std::string target;  // The request target: "/ws?x=1".
  // In order of arrival; names lower-cased, values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = false;  // The client keeps the connection open after.
  bool upgrade = false;     // The client asks to switch protocols.

  // The target without its query.
  absl::string_view path() const;
  // The first value of header `lower_name`, empty if absent.
  absl::string_view Header(absl::string_view lower_name) const;
  bool HasHeader(absl::string_view lower_name) const;
  // Whether any value of header `lower_name`, read as a comma-separated
  // list, holds `token`, compared case-insensitively ("Connection:
  // keep-alive, Upgrade" holds "upgrade").
  bool HeaderHasToken(absl::string_view lower_name,
                      absl::string_view token) const;
};

class HttpRequestParser {
 public:
  // Request line and header fields, counted without separators.
  static constexpr size_t kMaxHeaderBytes = 8 * 1024;
  static constexpr size_t kMaxBodyBytes = 8 * 1024;

  enum class Status {
    kNeedMore,  // Everything was consumed; no complete request yet.
    kRequest,   // request() is complete; bytes after it were not consumed.
    kError,     // The stream is broken: answer error_status() and close.
  };

  HttpRequestParser();
  ~HttpRequestParser();
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses the next bytes. `*consumed` is set to the bytes used; after
  // kRequest the rest of `input` belongs to the next request (or, after an
  // upgrade, to the new protocol) and must be passed again.
  Status Parse(absl::string_view input, size_t* consumed);

  // After kRequest, until the next Parse() call.
  const HttpRequest& request() const { return request_; }
  // After kError: 400, 413 or 431, and a short reason.
  int error_status() const { return error_status_; }
  absl::string_view error_reason() const { return error_reason_; }

 private:
  struct Llhttp;  // llhttp's state, kept out of this header.
  friend struct Llhttp;

  std::unique_ptr<Llhttp> llhttp_;
  HttpRequest request_;
  std::string* field_ = nullptr;  // The header name being read.
  bool in_value_ = false;
  bool complete_ = false;  // request_ was handed out by the last Parse().
  size_t header_bytes_ = 0;
  size_t body_bytes_ = 0;
  int error_status_ = 0;
  absl::string_view error_reason_;  // A string literal.
};

}  // namespace chatd

#endif  // CHATD_NET_HTTP_REQUEST_PARSER_H_
