// Complete HTTP/1.1 responses as Payloads, ready to queue on a connection.
// Used by the web front end for pages, errors and the WebSocket handshake.
#ifndef CHATD_NET_HTTP_RESPONSE_H_
#define CHATD_NET_HTTP_RESPONSE_H_

#include "absl/strings/string_view.h"
#include "net/payload.h"

namespace chatd {

// "Not Found" for 404 and so on; "Unknown" for a status it does not know.
absl::string_view HttpReasonPhrase(int status);

struct HttpResponse {
  int status = 200;
  absl::string_view content_type = "text/plain; charset=utf-8";
  absl::string_view body;
  // Each "Name: value\r\n", added verbatim.
  absl::string_view extra_headers;
  // False adds "Connection: close": the server closes after this response.
  bool keep_alive = true;
  // A HEAD request: the same headers, no body.
  bool head = false;
};

PayloadRef FormatHttpResponse(const HttpResponse& response);

}  // namespace chatd

#endif  // CHATD_NET_HTTP_RESPONSE_H_
