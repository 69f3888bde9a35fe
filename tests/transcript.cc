#include "tests/transcript.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace chatd_test {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool IsName(absl::string_view s) {
  return !s.empty() && s.size() <= 32 &&
         std::all_of(s.begin(), s.end(), IsNameChar);
}

std::string Show(const std::vector<std::string>& entries, size_t i) {
  if (i >= entries.size()) return "<nothing>";
  return absl::StrCat("\"", absl::CHexEscape(entries[i]), "\"");
}

}  // namespace

Transcript BySubject(const std::vector<std::string>& lines) {
  Transcript transcript;
  for (const std::string& line : lines) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "* ")) {
      absl::string_view name = rest;
      if (absl::ConsumeSuffix(&name, " has joined") && IsName(name)) {
        transcript[std::string(name)].push_back(kJoined);
        continue;
      }
      name = rest;
      if (absl::ConsumeSuffix(&name, " has left") && IsName(name)) {
        transcript[std::string(name)].push_back(kLeft);
        continue;
      }
    } else {
      size_t colon = line.find(": ");
      if (colon != std::string::npos && IsName(line.substr(0, colon))) {
        transcript[line.substr(0, colon)].push_back(line.substr(colon + 2));
        continue;
      }
    }
    transcript[kUnparsed].push_back(line);
  }
  return transcript;
}

std::string DescribeDifference(const Transcript& expected,
                               const Transcript& actual) {
  static const std::vector<std::string> kNone;
  std::vector<std::string> subjects;
  for (const auto& [subject, entries] : expected) subjects.push_back(subject);
  for (const auto& [subject, entries] : actual) {
    if (expected.count(subject) == 0) subjects.push_back(subject);
  }
  std::string diff;
  for (const std::string& subject : subjects) {
    auto e = expected.find(subject);
    auto a = actual.find(subject);
    const std::vector<std::string>& want =
        e == expected.end() ? kNone : e->second;
    const std::vector<std::string>& got = a == actual.end() ? kNone : a->second;
    if (want == got) continue;
    size_t i = 0;
    while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
    absl::StrAppend(&diff, "from ", subject, ": expected ", want.size(),
                    " entries, got ", got.size(), "; first difference at #", i,
                    ": expected ", Show(want, i), ", got ", Show(got, i), "\n");
  }
  return diff;
}

}  // namespace chatd_test
