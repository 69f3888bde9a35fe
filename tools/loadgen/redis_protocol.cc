#include "tools/loadgen/redis_protocol.h"

#include "absl/strings/str_cat.h"
#include "tools/loadgen/resp_reader.h"

namespace chatd::loadgen {
namespace {

// Redis's default proto-max-bulk-len is 512 MiB, but loadgen's own frames
// are small; this only stops a garbage stream from growing without bound.
constexpr size_t kMaxBufferedBytes = 8 << 20;

}  // namespace

void AppendRespCommand(std::initializer_list<absl::string_view> words,
                       std::string* out) {
  absl::StrAppend(out, "*", words.size(), "\r\n");
  for (absl::string_view word : words) {
    absl::StrAppend(out, "$", word.size(), "\r\n", word, "\r\n");
  }
}

RedisSession::RedisSession(absl::string_view group, absl::string_view name)
    : channel_(group) {}

void RedisSession::Start(SessionEvents* events) {
  std::string out;
  AppendRespCommand({"HELLO", "3"}, &out);
  AppendRespCommand({"SUBSCRIBE", channel_}, &out);
  events->Send(out);
}

void RedisSession::FrameMessage(absl::string_view text, std::string* out) {
  AppendRespCommand({"PUBLISH", channel_, text}, out);
}

bool RedisSession::Feed(absl::string_view bytes, SessionEvents* events) {
  const absl::string_view data = buffer_.Append(bytes);
  size_t pos = 0;
  bool ok = true;
  while (pos < data.size()) {
    const RespValue value = ReadRespValue(data.substr(pos));
    if (value.status == RespValue::Status::kIncomplete) break;
    if (value.status == RespValue::Status::kMalformed) {
      events->OnServerError("malformed RESP reply");
      ok = false;
      break;
    }
    pos += value.size;
    if (value.type == '-' || value.type == '!') {
      events->OnServerError(value.text);
    } else if (value.type == '>' && value.elements >= 3) {
      const absl::string_view kind = value.element[0];
      if (kind == "message") {
        events->OnMessage(value.element[2]);
      } else if (kind == "subscribe" && !joined_) {
        joined_ = true;
        events->OnJoined(-1);
      }
    }
    // HELLO's map and PUBLISH's integer need nothing.
  }
  buffer_.Consume(pos);
  return ok && buffer_.buffered() <= kMaxBufferedBytes;
}

}  // namespace chatd::loadgen
