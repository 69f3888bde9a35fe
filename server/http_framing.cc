#include "server/http_framing.h"

#include <glog/logging.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "net/http_response.h"
#include "server/chat_page.h"
#include "server/client_connection.h"
#include "server/websocket_framing.h"
#include "server/worker.h"

namespace chatd {
namespace {

constexpr absl::string_view kWebSocketPath = "/ws";
constexpr absl::string_view kSubprotocol = "chatd.line";

void Respond(ClientConnection& connection, const HttpResponse& response) {
  connection.Send(FormatHttpResponse(response));
}

HttpResponse Error(int status, absl::string_view body) {
  HttpResponse response;
  response.status = status;
  response.body = body;
  response.keep_alive = false;
  return response;
}

}  // namespace

Session::InputState HttpFraming::OnInput(ClientConnection& connection,
                                         absl::string_view bytes) {
  while (true) {
    size_t consumed = 0;
    const HttpRequestParser::Status status = parser_.Parse(bytes, &consumed);
    bytes.remove_prefix(consumed);
    switch (status) {
      case HttpRequestParser::Status::kNeedMore:
        mid_request_ = mid_request_ || consumed > 0;
        return Session::InputState::kReady;
      case HttpRequestParser::Status::kError: {
        VLOG(1) << "fd " << connection.fd() << ": HTTP "
                << parser_.error_status() << ": " << parser_.error_reason();
        connection.CountDrop(DropReason::kProtocolError);
        const std::string body = absl::StrCat(parser_.error_reason(), "\n");
        Respond(connection, Error(parser_.error_status(), body));
        return Session::InputState::kOver;
      }
      case HttpRequestParser::Status::kRequest:
        mid_request_ = false;
        WorkerStats::Add(connection.worker().stats().http_requests,
                         uint64_t{1});
        if (!Serve(connection, parser_.request(), bytes)) {
          return Session::InputState::kOver;
        }
        connection.ExtendDeadline();  // For the next request, or the JOIN.
        if (successor_ != nullptr || bytes.empty()) {
          return Session::InputState::kReady;
        }
        break;  // A pipelined request follows.
    }
  }
}

bool HttpFraming::Serve(ClientConnection& connection,
                        const HttpRequest& request, absl::string_view rest) {
  const absl::string_view path = request.path();
  if (path == kWebSocketPath && request.method == "GET") {
    return Upgrade(connection, request, rest);
  }
  if (request.upgrade) {
    // What follows is in a protocol we do not speak.
    Respond(connection, Error(404, "not found\n"));
    return false;
  }
  HttpResponse response;
  response.keep_alive = request.keep_alive;
  const bool serving = options_->site->serving();
  if (!serving) response.keep_alive = false;
  std::string metrics;
  if (request.method != "GET" && request.method != "HEAD") {
    response.status = 405;
    response.body = "method not allowed\n";
    response.extra_headers = "Allow: GET, HEAD\r\n";
  } else if (path == "/") {
    response.content_type = "text/html; charset=utf-8";
    response.body = ChatPageHtml();
  } else if (path == "/healthz") {
    response.status = serving ? 200 : 503;
    response.body = serving ? "ok\n" : "shutting down\n";
  } else if (path == "/metrics") {
    metrics = options_->site->Metrics();
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics;
  } else if (path == kWebSocketPath) {
    response.status = 405;
    response.body = "method not allowed\n";
    response.extra_headers = "Allow: GET\r\n";
  } else {
    response.status = 404;
    response.body = "not found\n";
  }
  response.head = request.method == "HEAD";
  Respond(connection, response);
  return response.keep_alive;
}

bool HttpFraming::Upgrade(ClientConnection& connection,
                          const HttpRequest& request, absl::string_view rest) {
  if (!options_->site->serving()) {
    Respond(connection, Error(503, "shutting down\n"));
    return false;
  }
  const websocket::Handshake handshake =
      AcceptHandshake(request, options_->origins, kSubprotocol);
  if (handshake.status != 101) {
    VLOG(1) << "fd " << connection.fd() << ": WebSocket handshake refused ("
            << handshake.status << "): " << handshake.reason;
    connection.CountDrop(DropReason::kProtocolError);
    HttpResponse response = Error(handshake.status, "");
    const std::string body = absl::StrCat(handshake.reason, "\n");
    response.body = body;
    response.extra_headers = handshake.response_headers;
    Respond(connection, response);
    return false;
  }
  connection.Send(Payload::Copy(handshake.response_headers));
  // Lines from now on go out as WebSocket messages.
  connection.output().set_wire(Wire::kWebSocket);
  const Worker& worker = connection.worker();
  successor_ = new WebSocketFraming(worker.options().session.max_line_bytes,
                                    options_->ws_ping_interval, worker.now());
  successor_input_ = rest;
  return true;
}

Framing* HttpFraming::TakeSuccessor(absl::string_view* rest) {
  Framing* successor = successor_;
  successor_ = nullptr;
  *rest = successor_input_;
  return successor;
}

void HttpFraming::SendFinal(ClientConnection& connection, PayloadRef line,
                            CloseReason why) {
  // `line` is for the line protocol; HTTP says it with a status, and only
  // to a client in the middle of a request.
  switch (why) {
    case CloseReason::kTimeout:
      if (mid_request_) Respond(connection, Error(408, "request timeout\n"));
      return;
    case CloseReason::kRefused:
      Respond(connection, Error(503, "server full\n"));
      return;
    case CloseReason::kShutdown:
      if (mid_request_) Respond(connection, Error(503, "shutting down\n"));
      return;
    case CloseReason::kTooSlow:
    case CloseReason::kKicked:  // An HTTP connection has no session.
      return;
  }
}

}  // namespace chatd
