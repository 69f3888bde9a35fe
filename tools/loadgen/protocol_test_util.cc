#include "tools/loadgen/protocol_test_util.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace chatd::loadgen {

void RecordingEvents::OnJoined(int online) {
  events.push_back(absl::StrCat("joined ", online));
}
void RecordingEvents::OnMemberJoined() { events.push_back("member-joined"); }
void RecordingEvents::OnMessage(absl::string_view text) {
  events.push_back(absl::StrCat("message ", text));
}
void RecordingEvents::OnServerError(absl::string_view line) {
  events.push_back(absl::StrCat("error ", line));
}
void RecordingEvents::Send(absl::string_view bytes) {
  events.push_back(absl::StrCat("send ", bytes));
}

std::vector<std::string> FeedPieces(
    const SessionFactory& factory,
    const std::vector<absl::string_view>& pieces) {
  std::unique_ptr<ProtocolSession> session = factory();
  RecordingEvents events;
  for (absl::string_view piece : pieces) {
    // Copy each piece so a parser that kept a view into an earlier chunk
    // reads garbage and fails the comparison (views must not outlive Feed).
    std::string copy(piece);
    if (!session->Feed(copy, &events)) {
      events.events.push_back("feed failed");
      break;
    }
    copy.assign(copy.size(), '#');
  }
  return events.events;
}

std::vector<std::string> FeedWhole(const SessionFactory& factory,
                                   absl::string_view stream) {
  return FeedPieces(factory, {stream});
}

std::vector<std::string> ExpectSameEventsAtEverySplit(
    const SessionFactory& factory, absl::string_view stream) {
  const std::vector<std::string> whole = FeedWhole(factory, stream);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    EXPECT_EQ(FeedPieces(factory, {stream.substr(0, cut), stream.substr(cut)}),
              whole)
        << "split at " << cut;
  }
  std::vector<absl::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i)
    bytes.push_back(stream.substr(i, 1));
  EXPECT_EQ(FeedPieces(factory, bytes), whole) << "byte by byte";
  return whole;
}

}  // namespace chatd::loadgen
