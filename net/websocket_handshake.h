// The server side of the WebSocket opening handshake (RFC 6455 section 4.2):
// checks an HTTP upgrade request and builds the 101 response, or says which
// HTTP status refuses it. Pure functions over a parsed HttpRequest; the
// connection that owns the request sends the answer.
#ifndef CHATD_NET_WEBSOCKET_HANDSHAKE_H_
#define CHATD_NET_WEBSOCKET_HANDSHAKE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "net/http_request_parser.h"

namespace chatd {
namespace websocket {

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64 of the SHA-1
// of the key and the RFC's GUID.
std::string AcceptKey(absl::string_view client_key);

// Which browser pages may open a WebSocket to us. A request without Origin
// is not from a browser page and is always allowed.
class OriginPolicy {
 public:
  // `allowed` is a comma-separated list of origins ("https://chat.example",
  // "*" for any). Empty: only pages served by the host the request names in
  // its Host header, the same-origin rule.
  explicit OriginPolicy(absl::string_view allowed);

  bool Allows(absl::string_view origin, absl::string_view host) const;

 private:
  std::vector<std::string> allowed_;  // Lower-cased.
  bool any_ = false;
};

struct Handshake {
  // 101 when accepted; otherwise the HTTP status to refuse with.
  int status = 0;
  // When refused: why, for the response body and the log.
  absl::string_view reason;
  // When accepted, the whole 101 response. When refused with 426, the
  // header that names the version we speak.
  std::string response_headers;
};

// Checks `request` (a GET to the WebSocket path). `subprotocol` is the one
// we speak: echoed when the client offers it, and a client that offers
// others or none is still accepted.
Handshake AcceptHandshake(const HttpRequest& request,
                          const OriginPolicy& origins,
                          absl::string_view subprotocol);

}  // namespace websocket
}  // namespace chatd

#endif  // CHATD_NET_WEBSOCKET_HANDSHAKE_H_
