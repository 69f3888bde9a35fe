#include "tests/numbered_message.h"

#include "absl/strings/str_cat.h"

namespace chatd_test {

std::string NumberedMessage(const std::string& sender, int seq) {
  size_t length = (static_cast<size_t>(seq) * 61 + sender.size() * 17) % 700;
  std::string payload;
  while (payload.size() < length) {
    absl::StrAppend(&payload, sender, ".", seq, ";");
  }
  payload.resize(length);
  return absl::StrCat("seq ", seq, " ", payload);
}

}  // namespace chatd_test
