#include "server/framing.h"

#include "core/protocol.h"
#include "server/client_connection.h"
#include "server/worker.h"

namespace chatd {
namespace {

class StreamFraming final : public Framing {
 public:
  explicit StreamFraming(FramingKind kind) : kind_(kind) {}
  void Release() override {}  // Shared by every connection of its kind.
  FramingKind kind() const override { return kind_; }

  Session::InputState OnInput(ClientConnection& connection,
                              absl::string_view bytes) override {
    return connection.session().OnInput(bytes, connection.worker().now());
  }

  Session::InputState Resume(ClientConnection& connection) override {
    return connection.session().Resume(connection.worker().now());
  }

  void SendFinal(ClientConnection& connection, PayloadRef line,
                 CloseReason why) override {
    connection.Send(connection.session().FinalLine(std::move(line)));
  }

 private:
  const FramingKind kind_;
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
    case FramingKind::kIrc:
      return "irc";
  }
  return "unknown";
}

Framing* LineFraming() {
  static StreamFraming* const framing = new StreamFraming(FramingKind::kLine);
  return framing;
}

Framing* IrcFraming() {
  static StreamFraming* const framing = new StreamFraming(FramingKind::kIrc);
  return framing;
}

}  // namespace chatd
