// HttpFraming serves the HTTP port: it parses requests with
// HttpRequestParser and answers them (the chat page, /healthz, /metrics,
// errors), keeping the connection alive between requests, until a request
// to /ws upgrades the connection to WebSocket, when it hands the connection
// to a WebSocketFraming.
//
// Owned by its ClientConnection, used on its worker's thread.
#ifndef CHATD_SERVER_HTTP_FRAMING_H_
#define CHATD_SERVER_HTTP_FRAMING_H_

#include <memory>

#include "absl/time/time.h"
#include "net/http_request_parser.h"
#include "net/websocket_handshake.h"
#include "server/framing.h"
#include "server/web_site.h"

namespace chatd {

// The settings of the HTTP port, shared read-only by every worker.
struct WebOptions {
  const WebSite* site = nullptr;
  websocket::OriginPolicy origins{""};
  // Ping a WebSocket client silent this long; zero turns pings off.
  absl::Duration ws_ping_interval = absl::Seconds(30);
};

class HttpFraming final : public Framing {
 public:
  explicit HttpFraming(const WebOptions* options) : options_(options) {}

  void Release() override { delete this; }
  FramingKind kind() const override { return FramingKind::kHttp; }
  Session::InputState OnInput(ClientConnection& connection,
                              absl::string_view bytes) override;
  // Never throttled: requests take no tokens.
  Session::InputState Resume(ClientConnection& connection) override {
    return Session::InputState::kReady;
  }
  void SendFinal(ClientConnection& connection, PayloadRef line,
                 CloseReason why) override;
  Framing* TakeSuccessor(absl::string_view* rest) override;

 private:
  ~HttpFraming() = default;

  // Answers one request; returns false when the connection must close.
  bool Serve(ClientConnection& connection, const HttpRequest& request,
             absl::string_view rest);
  bool Upgrade(ClientConnection& connection, const HttpRequest& request,
               absl::string_view rest);

  const WebOptions* const options_;
  HttpRequestParser parser_;
  bool mid_request_ = false;  // Bytes of an unfinished request arrived.
  Framing* successor_ = nullptr;
  absl::string_view successor_input_;
};

}  // namespace chatd

#endif  // CHATD_SERVER_HTTP_FRAMING_H_
