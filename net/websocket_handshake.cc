#include "net/websocket_handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chatd {
namespace websocket {
namespace {

constexpr absl::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// "http://Host:8080/" -> "host:8080": the authority of an origin.
absl::string_view OriginAuthority(absl::string_view origin) {
  const size_t scheme = origin.find("://");
  if (scheme == absl::string_view::npos) return {};
  absl::string_view rest = origin.substr(scheme + 3);
  return rest.substr(0, rest.find('/'));
}

}  // namespace

std::string AcceptKey(absl::string_view client_key) {
  const std::string input = absl::StrCat(client_key, kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
       digest);
  // 20 bytes encode to 28 characters and a terminating NUL.
  char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded),
                                digest, SHA_DIGEST_LENGTH);
  return std::string(encoded, n);
}

OriginPolicy::OriginPolicy(absl::string_view allowed) {
  for (absl::string_view item : absl::StrSplit(allowed, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    if (item == "*") any_ = true;
    std::string origin = absl::AsciiStrToLower(item);
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
    allowed_.push_back(std::move(origin));
  }
}

bool OriginPolicy::Allows(absl::string_view origin,
                          absl::string_view host) const {
  if (origin.empty() || any_) return true;
  if (allowed_.empty()) {
    const absl::string_view authority = OriginAuthority(origin);
    return !authority.empty() && absl::EqualsIgnoreCase(authority, host);
  }
  for (const std::string& allowed : allowed_) {
    if (absl::EqualsIgnoreCase(allowed, origin)) return true;
  }
  return false;
}

Handshake AcceptHandshake(const HttpRequest& request,
                          const OriginPolicy& origins,
                          absl::string_view subprotocol) {
  Handshake result;
  if (!request.HeaderHasToken("upgrade", "websocket") ||
      !request.HeaderHasToken("connection", "upgrade")) {
    result.status = 426;
    result.reason = "this is a WebSocket endpoint: upgrade to websocket";
    result.response_headers =
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\n";
    return result;
  }
  if (request.Header("sec-websocket-version") != "13") {
    result.status = 426;
    result.reason = "unsupported WebSocket version: 13 is supported";
    result.response_headers = "Sec-WebSocket-Version: 13\r\n";
    return result;
  }
  const absl::string_view key = request.Header("sec-websocket-key");
  std::string decoded;
  if (!absl::Base64Unescape(key, &decoded) || decoded.size() != 16) {
    result.status = 400;
    result.reason = "missing or invalid Sec-WebSocket-Key";
    return result;
  }
  if (!origins.Allows(request.Header("origin"), request.Header("host"))) {
    result.status = 403;
    result.reason = "origin not allowed";
    return result;
  }
  result.status = 101;
  result.response_headers = absl::StrCat(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: ",
      AcceptKey(key), "\r\n");
  if (!subprotocol.empty() &&
      request.HeaderHasToken("sec-websocket-protocol", subprotocol)) {
    absl::StrAppend(&result.response_headers,
                    "Sec-WebSocket-Protocol: ", subprotocol, "\r\n");
  }
  absl::StrAppend(&result.response_headers, "\r\n");
  return result;
}

}  // namespace websocket
}  // namespace chatd
