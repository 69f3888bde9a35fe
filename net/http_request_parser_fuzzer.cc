// Fuzzes the HttpRequestParser. One parser takes the input whole; another
// takes it in chunks of a fuzzer-chosen size. Each is driven as a connection
// drives it: after a request the bytes it did not consume are passed again,
// and an upgrade request ends the HTTP part of the stream. Whatever the
// chunking, both must hand out the same requests in the same order and end
// with the same status and error status; no request may carry more header
// bytes than the limit, and no Parse() may consume more than it was given.
// Each request also goes through the WebSocket handshake check.
//
// Input: a byte for the chunk size, then the client's bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "net/http_request_parser.h"
#include "net/websocket_handshake.h"
#include "tools/fuzz/fuzz_check.h"

namespace chatd {
namespace {

using Status = HttpRequestParser::Status;

struct Outcome {
  std::vector<std::string> requests;  // One line per request handed out.
  Status status = Status::kNeedMore;  // The last Parse() result.
  int error_status = 0;
  size_t consumed = 0;  // Bytes of the input used in all.
};

std::string Describe(const HttpRequest& request) {
  std::string line = absl::StrCat(
      request.method, " ", request.target, " ", request.headers.size(),
      request.keep_alive ? " ka" : " -", request.upgrade ? " up" : " -");
  for (const auto& [name, value] : request.headers) {
    absl::StrAppend(&line, "|", name, ":", value);
  }
  return line;
}

// The WebSocket handshake judges every parsed request: an accepted one
// gets a well-formed 101 with the right key, anything else a status the
// server knows how to send.
void CheckHandshake(const HttpRequest& request) {
  static const websocket::OriginPolicy* const same_host =
      new websocket::OriginPolicy("");
  const websocket::Handshake handshake =
      websocket::AcceptHandshake(request, *same_host, "chatd.line");
  if (handshake.status == 101) {
    FUZZ_CHECK(absl::StartsWith(handshake.response_headers,
                                "HTTP/1.1 101 Switching Protocols\r\n"));
    FUZZ_CHECK(absl::EndsWith(handshake.response_headers, "\r\n\r\n"));
    FUZZ_CHECK(absl::StrContains(
        handshake.response_headers,
        absl::StrCat("Sec-WebSocket-Accept: ",
                     websocket::AcceptKey(request.Header("sec-websocket-key")),
                     "\r\n")));
    // Header values end up in the response only through the accept key.
    FUZZ_CHECK(handshake.response_headers.find('\0') == std::string::npos);
  } else {
    FUZZ_CHECK(handshake.status == 400 || handshake.status == 403 ||
               handshake.status == 426);
    FUZZ_CHECK(!handshake.reason.empty());
  }
}

// Feeds `input` to a fresh parser in chunks of `step` bytes.
Outcome Run(absl::string_view input, size_t step) {
  HttpRequestParser parser;
  Outcome outcome;
  size_t next = 0;            // The start of the next chunk in `input`.
  absl::string_view pending;  // What the connection has not parsed yet.
  while (!pending.empty() || next < input.size()) {
    if (pending.empty()) {
      pending = input.substr(next, step);
      next += pending.size();
    }
    size_t consumed = 0;
    outcome.status = parser.Parse(pending, &consumed);
    FUZZ_CHECK(consumed <= pending.size());
    outcome.consumed += consumed;
    pending.remove_prefix(consumed);
    if (outcome.status == Status::kError) break;
    FUZZ_CHECK(parser.error_status() == 0);
    if (outcome.status == Status::kNeedMore) {
      FUZZ_CHECK(pending.empty());
      continue;
    }
    // kRequest.
    FUZZ_CHECK(consumed > 0);
    const HttpRequest& request = parser.request();
    FUZZ_CHECK(!request.method.empty());
    size_t header_bytes = request.target.size();
    for (const auto& [name, value] : request.headers) {
      header_bytes += name.size() + value.size();
      for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    }
    FUZZ_CHECK(header_bytes <= HttpRequestParser::kMaxHeaderBytes);
    outcome.requests.push_back(Describe(request));
    CheckHandshake(request);
    if (request.upgrade) break;  // The rest belongs to the new protocol.
  }
  FUZZ_CHECK(outcome.consumed <= input.size());
  if (outcome.status == Status::kError) {
    const int error = parser.error_status();
    FUZZ_CHECK(error == 400 || error == 413 || error == 431);
    FUZZ_CHECK(!parser.error_reason().empty());
    outcome.error_status = error;
    // An error is final.
    size_t consumed = 1;
    FUZZ_CHECK(parser.Parse(input, &consumed) == Status::kError);
    FUZZ_CHECK(consumed == 0);
    FUZZ_CHECK(parser.error_status() == error);
  }
  return outcome;
}

}  // namespace
}  // namespace chatd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatd;
  if (size < 1) return 0;
  // Small chunks often; chunks of up to 16 KiB now and then, to reach the
  // limits in few pieces.
  const size_t step =
      data[0] < 0x80 ? 1 + data[0] % 32 : 1 + (data[0] & 0x7f) * 128;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1,
                                size - 1);

  const Outcome whole = Run(input, input.size() + 1);
  const Outcome chunked = Run(input, step);
  FUZZ_CHECK(chunked.requests == whole.requests);
  FUZZ_CHECK(chunked.status == whole.status);
  FUZZ_CHECK(chunked.error_status == whole.error_status);
  if (whole.status != Status::kError) {
    FUZZ_CHECK(chunked.consumed == whole.consumed);
  }
  return 0;
}
