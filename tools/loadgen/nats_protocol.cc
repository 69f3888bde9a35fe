#include "tools/loadgen/nats_protocol.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chatd::loadgen {
namespace {

// nats-server's default max_payload is 1 MiB.
constexpr size_t kMaxBufferedBytes = 8 << 20;

}  // namespace

NatsSession::NatsSession(absl::string_view group, absl::string_view name)
    : subject_(group), name_(name) {}

void NatsSession::Start(SessionEvents* events) {
  events->Send(absl::StrCat(
      "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false,"
      "\"name\":\"",
      name_, "\"}\r\nSUB ", subject_, " 1\r\nPING\r\n"));
}

void NatsSession::FrameMessage(absl::string_view text, std::string* out) {
  absl::StrAppend(out, "PUB ", subject_, " ", text.size(), "\r\n", text,
                  "\r\n");
}

bool NatsSession::Feed(absl::string_view bytes, SessionEvents* events) {
  const absl::string_view data = buffer_.Append(bytes);
  size_t pos = 0;
  bool ok = true;
  while (ok && pos < data.size()) {
    if (payload_len_ >= 0) {
      const size_t need = static_cast<size_t>(payload_len_) + 2;
      if (data.size() - pos < need) break;
      if (data.substr(pos + payload_len_, 2) != "\r\n") {
        ok = false;
        break;
      }
      events->OnMessage(data.substr(pos, static_cast<size_t>(payload_len_)));
      pos += need;
      payload_len_ = -1;
      continue;
    }
    // One control line at a time: a MSG header switches to payload mode.
    const size_t used =
        SplitLines(data.substr(pos), [&](absl::string_view line) {
          ok = OnLine(line, events);
          return false;
        });
    if (used == 0) break;
    pos += used;
  }
  buffer_.Consume(pos);
  return ok && buffer_.buffered() <= kMaxBufferedBytes;
}

bool NatsSession::OnLine(absl::string_view line, SessionEvents* events) {
  if (absl::StartsWith(line, "MSG ")) {
    // "MSG <subject> <sid> [reply-to] <#bytes>"
    const std::vector<absl::string_view> words =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    long len = -1;
    if (words.size() < 4 || words.size() > 5 ||
        !absl::SimpleAtoi(words.back(), &len) || len < 0) {
      events->OnServerError(absl::StrCat("bad MSG header: ", line));
      return false;
    }
    payload_len_ = len;
  } else if (line == "PING") {
    events->Send("PONG\r\n");
  } else if (line == "PONG") {
    if (!joined_) {
      joined_ = true;
      events->OnJoined(-1);
    }
  } else if (absl::StartsWith(line, "-ERR")) {
    events->OnServerError(line);
  }
  // INFO and +OK need nothing.
  return true;
}

}  // namespace chatd::loadgen
