#include "tools/loadgen/protocol.h"

#include "tools/loadgen/chatd_protocol.h"
#include "tools/loadgen/irc_protocol.h"
#include "tools/loadgen/nats_protocol.h"
#include "tools/loadgen/redis_protocol.h"

namespace chatd::loadgen {

std::optional<ProtocolKind> ParseProtocolKind(absl::string_view name) {
  if (name == "chatd") return ProtocolKind::kChatd;
  if (name == "irc") return ProtocolKind::kIrc;
  if (name == "nats") return ProtocolKind::kNats;
  if (name == "redis") return ProtocolKind::kRedis;
  return std::nullopt;
}

absl::string_view ProtocolName(ProtocolKind kind) {
  switch (kind) {
    case ProtocolKind::kChatd:
      return "chatd";
    case ProtocolKind::kIrc:
      return "irc";
    case ProtocolKind::kNats:
      return "nats";
    case ProtocolKind::kRedis:
      return "redis";
  }
  return "?";
}

std::optional<TransportKind> ParseTransportKind(absl::string_view name) {
  if (name == "tcp") return TransportKind::kTcp;
  if (name == "ws") return TransportKind::kWebSocket;
  return std::nullopt;
}

std::unique_ptr<ProtocolSession> NewProtocolSession(ProtocolKind kind,
                                                    absl::string_view group,
                                                    absl::string_view name) {
  switch (kind) {
    case ProtocolKind::kChatd:
      return std::make_unique<ChatdSession>(group, name);
    case ProtocolKind::kIrc:
      return std::make_unique<IrcSession>(group, name);
    case ProtocolKind::kNats:
      return std::make_unique<NatsSession>(group, name);
    case ProtocolKind::kRedis:
      return std::make_unique<RedisSession>(group, name);
  }
  return nullptr;
}

}  // namespace chatd::loadgen
