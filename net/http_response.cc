#include "net/http_response.h"

#include "absl/strings/str_cat.h"

namespace chatd {

absl::string_view HttpReasonPhrase(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

PayloadRef FormatHttpResponse(const HttpResponse& response) {
  const std::string head = absl::StrCat(
      "HTTP/1.1 ", response.status, " ", HttpReasonPhrase(response.status),
      "\r\nContent-Type: ", response.content_type,
      "\r\nContent-Length: ", response.body.size(),
      "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
      response.keep_alive ? "" : "Connection: close\r\n",
      response.extra_headers, "\r\n");
  if (response.head) return Payload::Copy(head);
  return Payload::Concat({head, response.body});
}

}  // namespace chatd
