#include "server/framing.h"

#include "core/protocol.h"
#include "server/client_connection.h"
#include "server/worker.h"

namespace chatd {
namespace {

class LineStreamFraming final : public Framing {
 public:
  void Release() override {}  // Shared by every line connection.
  FramingKind kind() const override { return FramingKind::kLine; }

  Session::InputState OnInput(ClientConnection& connection,
                              absl::string_view bytes) override {
    return connection.session().OnInput(bytes, connection.worker().now());
  }

  Session::InputState Resume(ClientConnection& connection) override {
    return connection.session().Resume(connection.worker().now());
  }

  void SendFinal(ClientConnection& connection, PayloadRef line,
                 CloseReason why) override {
    connection.Send(std::move(line));
  }
};

}  // namespace

absl::string_view FramingKindName(FramingKind kind) {
  switch (kind) {
    case FramingKind::kLine:
      return "line";
    case FramingKind::kHttp:
      return "http";
    case FramingKind::kWebSocket:
      return "websocket";
  }
  return "unknown";
}

Framing* LineFraming() {
  static LineStreamFraming* const framing = new LineStreamFraming;
  return framing;
}

}  // namespace chatd
