#include "net/websocket_framer.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "net/payload.h"
#include "net/utf8.h"

namespace chatd {
namespace {

using Result = WebSocketFramer::Result;
using Verdict = WebSocketFramer::Verdict;
using websocket::Opcode;

constexpr char kKey[4] = {'\x37', '\xfa', '\x21', '\x3d'};

// A masked client frame. `length_form` forces the 16-bit (126) or 64-bit
// (127) length form; 0 picks the minimal one.
std::string ClientFrame(uint8_t first_byte, absl::string_view payload,
                        int length_form = 0) {
  std::string frame(1, static_cast<char>(first_byte));
  const uint64_t n = payload.size();
  if (length_form == 0) length_form = n < 126 ? 0 : n <= 0xFFFF ? 126 : 127;
  if (length_form == 0) {
    frame += static_cast<char>(0x80 | n);
  } else if (length_form == 126) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(n >> 8);
    frame += static_cast<char>(n);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) frame += static_cast<char>(n >> (8 * i));
  }
  frame.append(kKey, 4);
  for (size_t i = 0; i < payload.size(); ++i) frame += payload[i] ^ kKey[i % 4];
  return frame;
}

std::string Text(absl::string_view s) { return ClientFrame(0x81, s); }
std::string First(absl::string_view s) { return ClientFrame(0x01, s); }
std::string More(absl::string_view s) { return ClientFrame(0x00, s); }
std::string Last(absl::string_view s) { return ClientFrame(0x80, s); }
std::string Ping(absl::string_view s) { return ClientFrame(0x89, s); }
std::string Pong(absl::string_view s) { return ClientFrame(0x8A, s); }
std::string Close(absl::string_view s) { return ClientFrame(0x88, s); }
std::string CloseWithCode(uint16_t code, absl::string_view reason = "") {
  const char bytes[2] = {static_cast<char>(code >> 8), static_cast<char>(code)};
  return Close(absl::StrCat(absl::string_view(bytes, 2), reason));
}

class Recorder : public WebSocketFramer::Handler {
 public:
  Verdict OnText(absl::string_view message) override {
    offered.emplace_back(message);
    Verdict verdict = Verdict::kNext;
    if (!verdicts.empty()) {
      verdict = verdicts.front();
      verdicts.erase(verdicts.begin());
    }
    if (verdict == Verdict::kNext)
      events.push_back(absl::StrCat("T:", message));
    return verdict;
  }
  void OnPing(absl::string_view payload) override {
    events.push_back(absl::StrCat("I:", payload));
  }
  void OnPong(absl::string_view payload) override {
    events.push_back(absl::StrCat("O:", payload));
  }

  std::vector<Verdict> verdicts;  // Answers for OnText, then kNext.
  std::vector<std::string> offered;
  std::vector<std::string> events;
};

using Events = std::vector<std::string>;

// Feeds `input` whole; expects kClose with `code`.
void ExpectClose(absl::string_view input, uint16_t code, bool peer = false,
                 size_t max = 1000) {
  WebSocketFramer framer(max);
  Recorder handler;
  EXPECT_EQ(framer.Feed(input, &handler), Result::kClose);
  EXPECT_EQ(framer.close_code(), code);
  EXPECT_EQ(framer.peer_closed(), peer);
}

TEST(WebSocketFramerTest, SingleTextFrame) {
  WebSocketFramer framer(1000);
  Recorder handler;
  EXPECT_EQ(framer.Feed(Text("hello"), &handler), Result::kOk);
  EXPECT_EQ(handler.events, Events({"T:hello"}));
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(WebSocketFramerTest, UnmaskedFrameIsProtocolError) {
  std::string frame = Text("hi");
  frame[1] = static_cast<char>(frame[1] & 0x7F);
  ExpectClose(frame, websocket::kCloseProtocolError);
}

TEST(WebSocketFramerTest, ReservedBitsAreProtocolError) {
  for (uint8_t rsv : {0x40, 0x20, 0x10}) {
    ExpectClose(ClientFrame(0x81 | rsv, "hi"), websocket::kCloseProtocolError);
  }
}

TEST(WebSocketFramerTest, ReservedOpcodesAreProtocolError) {
  for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    SCOPED_TRACE(op);
    ExpectClose(ClientFrame(0x80 | op, ""), websocket::kCloseProtocolError);
  }
}

TEST(WebSocketFramerTest, FragmentsAreReassembledAroundControlFrames) {
  WebSocketFramer framer(1000);
  Recorder handler;
  EXPECT_EQ(framer.Feed(absl::StrCat(First("he"), Ping("p1"), More("ll"),
                                     Pong("p2"), More(""), Last("o")),
                        &handler),
            Result::kOk);
  EXPECT_EQ(handler.events, Events({"I:p1", "O:p2", "T:hello"}));
}

TEST(WebSocketFramerTest, ContinuationWithoutMessageIsProtocolError) {
  ExpectClose(Last("x"), websocket::kCloseProtocolError);
  ExpectClose(absl::StrCat(Text("a"), More("x")),
              websocket::kCloseProtocolError);
}

TEST(WebSocketFramerTest, NewMessageDuringFragmentedOneIsProtocolError) {
  ExpectClose(absl::StrCat(First("a"), Text("b")),
              websocket::kCloseProtocolError);
  ExpectClose(absl::StrCat(First("a"), ClientFrame(0x82, "b")),
              websocket::kCloseProtocolError);
}

TEST(WebSocketFramerTest, ControlFrameMustBeShortAndFinal) {
  WebSocketFramer framer(1000);
  Recorder handler;
  const std::string max_ping(125, 'p');
  EXPECT_EQ(framer.Feed(Ping(max_ping), &handler), Result::kOk);
  EXPECT_EQ(handler.events, Events({"I:" + max_ping}));
  ExpectClose(Ping(std::string(126, 'p')), websocket::kCloseProtocolError);
  ExpectClose(ClientFrame(0x89, "p", 126), websocket::kCloseProtocolError);
  ExpectClose(ClientFrame(0x09, "p"), websocket::kCloseProtocolError);
  ExpectClose(ClientFrame(0x08, ""), websocket::kCloseProtocolError);
}

TEST(WebSocketFramerTest, InvalidUtf8IsInvalidPayload) {
  ExpectClose(Text("\xff"), websocket::kCloseInvalidPayload);
  ExpectClose(Text("\xc0\xaf"), websocket::kCloseInvalidPayload);  // Overlong.
  ExpectClose(Text("\xed\xa0\x80"),
              websocket::kCloseInvalidPayload);  // Surrogate.
  ExpectClose(Text("\xf4\x90\x80\x80"), websocket::kCloseInvalidPayload);
  ExpectClose(Text("ok\xe2\x82"), websocket::kCloseInvalidPayload);  // Cut.
}

TEST(WebSocketFramerTest, InvalidUtf8FailsBeforeMessageEnds) {
  // The bad byte arrives in the first fragment and in the first half of a
  // frame: the framer fails at once, without waiting for the rest.
  WebSocketFramer framer(1000);
  Recorder handler;
  const std::string frame = Text("a\xff" + std::string(50, 'b'));
  EXPECT_EQ(framer.Feed(frame.substr(0, 8), &handler), Result::kClose);
  EXPECT_EQ(framer.close_code(), websocket::kCloseInvalidPayload);
  ExpectClose(First("a\xff"), websocket::kCloseInvalidPayload);
}

TEST(WebSocketFramerTest, Utf8SplitAcrossFragments) {
  WebSocketFramer framer(1000);
  Recorder handler;
  // "€" is E2 82 AC; "😀" is F0 9F 98 80.
  EXPECT_EQ(framer.Feed(absl::StrCat(First("\xe2"), More("\x82"),
                                     Last("\xac\xf0\x9f"), First("\x98")),
                        &handler),
            Result::kClose);
  EXPECT_EQ(framer.close_code(), websocket::kCloseInvalidPayload);
  EXPECT_EQ(handler.offered.size(), 0u);

  WebSocketFramer ok(1000);
  Recorder ok_handler;
  EXPECT_EQ(ok.Feed(absl::StrCat(First("\xe2"), More("\x82"), Last("\xac"),
                                 First("\xf0\x9f"), Last("\x98\x80")),
                    &ok_handler),
            Result::kOk);
  EXPECT_EQ(ok_handler.events,
            Events({"T:\xe2\x82\xac", "T:\xf0\x9f\x98\x80"}));

  // Valid so far, but the message ends inside a character.
  ExpectClose(absl::StrCat(First("\xf0\x9f"), Last("\x98")),
              websocket::kCloseInvalidPayload);
  // Invalid continuation in a later fragment fails with that fragment.
  WebSocketFramer bad(1000);
  Recorder bad_handler;
  EXPECT_EQ(bad.Feed(First("\xe2"), &bad_handler), Result::kOk);
  EXPECT_EQ(bad.Feed(More("\x41"), &bad_handler), Result::kClose);
  EXPECT_EQ(bad.close_code(), websocket::kCloseInvalidPayload);
}

TEST(WebSocketFramerTest, TooBigIsDetectedFromTheHeader) {
  ExpectClose(Text(std::string(11, 'x')), websocket::kCloseTooBig, false, 10);
  // Only the header: the payload has not arrived yet.
  WebSocketFramer framer(10);
  Recorder handler;
  const std::string frame = Text(std::string(11, 'x'));
  EXPECT_EQ(framer.Feed(frame.substr(0, 6), &handler), Result::kClose);
  EXPECT_EQ(framer.close_code(), websocket::kCloseTooBig);
  // The sum of fragments counts, also from a fragment's header alone.
  WebSocketFramer fragmented(10);
  const std::string frames = absl::StrCat(First("12345"), More("123456"));
  EXPECT_EQ(fragmented.Feed(frames.substr(0, 11 + 6), &handler),
            Result::kClose);
  EXPECT_EQ(fragmented.close_code(), websocket::kCloseTooBig);
  // A 64-bit length far past the limit.
  std::string huge("\x81\xff\x00\x00\x01\x00\x00\x00\x00\x00", 10);
  huge.append(kKey, 4);
  ExpectClose(huge, websocket::kCloseTooBig);
  // Exactly the limit is fine.
  WebSocketFramer exact(10);
  EXPECT_EQ(exact.Feed(absl::StrCat(First("12345"), Last("67890")), &handler),
            Result::kOk);
  EXPECT_EQ(handler.events.back(), "T:1234567890");
}

TEST(WebSocketFramerTest, BinaryIsUnsupported) {
  ExpectClose(ClientFrame(0x82, "\x01\x02"), websocket::kCloseUnsupportedData);
  ExpectClose(ClientFrame(0x02, "\x01"), websocket::kCloseUnsupportedData);
}

TEST(WebSocketFramerTest, PingAndPong) {
  WebSocketFramer framer(1000);
  Recorder handler;
  EXPECT_EQ(
      framer.Feed(absl::StrCat(Ping("are you there"), Ping(""), Pong("yes")),
                  &handler),
      Result::kOk);
  EXPECT_EQ(handler.events, Events({"I:are you there", "I:", "O:yes"}));
}

TEST(WebSocketFramerTest, CloseWithoutPayload) {
  WebSocketFramer framer(1000);
  Recorder handler;
  EXPECT_EQ(
      framer.Feed(absl::StrCat(Text("a"), Close(""), Text("b")), &handler),
      Result::kClose);
  EXPECT_TRUE(framer.peer_closed());
  EXPECT_EQ(framer.close_code(), websocket::kCloseNormal);
  EXPECT_EQ(handler.events, Events({"T:a"}));  // Nothing after the close.
  // Not to be fed again; if it is, nothing happens.
  EXPECT_EQ(framer.Feed(Text("c"), &handler), Result::kClose);
  EXPECT_EQ(handler.events, Events({"T:a"}));
}

TEST(WebSocketFramerTest, CloseWithOneByteIsProtocolError) {
  ExpectClose(Close("\x03"), websocket::kCloseProtocolError);
}

TEST(WebSocketFramerTest, ValidCloseCodesAreEchoed) {
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                        1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
    SCOPED_TRACE(code);
    ExpectClose(CloseWithCode(code, "bye"), code, /*peer=*/true);
  }
}

TEST(WebSocketFramerTest, InvalidCloseCodesAreProtocolError) {
  for (uint16_t code :
       {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    SCOPED_TRACE(code);
    ExpectClose(CloseWithCode(code), websocket::kCloseProtocolError);
  }
}

TEST(WebSocketFramerTest, CloseReasonMustBeUtf8) {
  ExpectClose(CloseWithCode(1000, "ok \xe2\x82\xac"), 1000, /*peer=*/true);
  ExpectClose(CloseWithCode(1000, "bad \xe2\x82"),
              websocket::kCloseInvalidPayload);
}

TEST(WebSocketFramerTest, LengthForms) {
  // 7-bit, 16-bit and 64-bit forms, also non-minimal ones (accepted).
  WebSocketFramer framer(1000);
  Recorder handler;
  EXPECT_EQ(framer.Feed(absl::StrCat(ClientFrame(0x81, "a"),
                                     ClientFrame(0x81, "bb", 126),
                                     ClientFrame(0x81, "ccc", 127)),
                        &handler),
            Result::kOk);
  EXPECT_EQ(handler.events, Events({"T:a", "T:bb", "T:ccc"}));
}

TEST(WebSocketFramerTest, SixtyFourBitLengthWithTopBitIsProtocolError) {
  std::string frame = ClientFrame(0x81, "x", 127);
  frame[2] = static_cast<char>(0x80);
  ExpectClose(frame, websocket::kCloseProtocolError);
}

TEST(WebSocketFramerTest, MessageSizes) {
  for (size_t size : {0, 125, 126, 65535, 65536, 70000}) {
    SCOPED_TRACE(size);
    std::string text(size, 'x');
    for (size_t i = 0; i < size; ++i) text[i] = 'a' + i % 26;
    WebSocketFramer framer(70000);
    Recorder handler;
    EXPECT_EQ(framer.Feed(Text(text), &handler), Result::kOk);
    ASSERT_EQ(handler.offered.size(), 1u);
    EXPECT_EQ(handler.offered[0], text);
    EXPECT_EQ(framer.buffered_bytes(), 0u);
  }
  ExpectClose(Text(std::string(70001, 'x')), websocket::kCloseTooBig, false,
              70000);
}

TEST(WebSocketFramerTest, SplitAtEveryByte) {
  const std::string input =
      absl::StrCat(Text("hello"), First("fr\xe2\x82"), Ping("p"),
                   Last("\xac" + std::string(300, 'z')), Pong(""),
                   ClientFrame(0x81, "long", 127), CloseWithCode(1001, "away"));
  for (size_t step = 1; step <= 20; ++step) {
    SCOPED_TRACE(step);
    WebSocketFramer framer(1000);
    Recorder handler;
    Result result = Result::kOk;
    for (size_t pos = 0; pos < input.size(); pos += step) {
      ASSERT_NE(result, Result::kClose);
      result =
          framer.Feed(absl::string_view(input).substr(pos, step), &handler);
    }
    EXPECT_EQ(result, Result::kClose);
    EXPECT_EQ(framer.close_code(), 1001);
    EXPECT_TRUE(framer.peer_closed());
    EXPECT_EQ(
        handler.events,
        Events({"T:hello", "I:p", "T:fr\xe2\x82\xac" + std::string(300, 'z'),
                "O:", "T:long"}));
  }
}

TEST(WebSocketFramerTest, HoldKeepsMessageAndRestForResume) {
  WebSocketFramer framer(1000);
  Recorder handler;
  handler.verdicts = {Verdict::kNext, Verdict::kHold, Verdict::kHold};
  EXPECT_EQ(
      framer.Feed(absl::StrCat(Text("a"), Text("b"), Ping("p"), Text("c")),
                  &handler),
      Result::kHeld);
  EXPECT_TRUE(framer.holding());
  EXPECT_EQ(handler.events, Events({"T:a"}));
  EXPECT_GT(framer.buffered_bytes(), 0u);
  // Held again on the first Resume; bytes fed meanwhile queue behind.
  EXPECT_EQ(framer.Resume(&handler), Result::kHeld);
  EXPECT_EQ(framer.Feed(absl::StrCat(Text("d"), Close("")), &handler),
            Result::kClose);
  EXPECT_FALSE(framer.holding());
  EXPECT_EQ(handler.offered, Events({"a", "b", "b", "b", "c", "d"}));
  EXPECT_EQ(handler.events, Events({"T:a", "T:b", "I:p", "T:c", "T:d"}));
  EXPECT_TRUE(framer.peer_closed());
}

TEST(WebSocketFramerTest, HoldMidFrameKeepsPartialInput) {
  WebSocketFramer framer(1000);
  Recorder handler;
  handler.verdicts = {Verdict::kHold};
  const std::string second = Text("second");
  EXPECT_EQ(
      framer.Feed(absl::StrCat(Text("first"), second.substr(0, 4)), &handler),
      Result::kHeld);
  EXPECT_EQ(framer.Feed(second.substr(4), &handler), Result::kOk);
  EXPECT_EQ(handler.events, Events({"T:first", "T:second"}));
  EXPECT_FALSE(framer.holding());
  EXPECT_EQ(framer.Resume(&handler), Result::kOk);  // Nothing held.
}

TEST(WebSocketFramerTest, StopDropsTheRest) {
  WebSocketFramer framer(1000);
  Recorder handler;
  handler.verdicts = {Verdict::kStop};
  EXPECT_EQ(framer.Feed(absl::StrCat(Text("a"), Ping("p")), &handler),
            Result::kStopped);
  EXPECT_EQ(handler.events, Events({}));

  WebSocketFramer held(1000);
  Recorder held_handler;
  held_handler.verdicts = {Verdict::kHold, Verdict::kStop};
  EXPECT_EQ(held.Feed(absl::StrCat(Text("a"), Ping("p")), &held_handler),
            Result::kHeld);
  EXPECT_EQ(held.Resume(&held_handler), Result::kStopped);
  EXPECT_EQ(held.buffered_bytes(), 0u);
  EXPECT_EQ(held_handler.events, Events({}));
}

TEST(WebSocketFramerTest, IdleFramerReleasesLargeBuffers) {
  WebSocketFramer framer(70000);
  Recorder handler;
  handler.verdicts = {Verdict::kHold};
  const std::string big = Text(std::string(65536, 'x'));
  EXPECT_EQ(framer.Feed(absl::StrCat(big, big), &handler), Result::kHeld);
  EXPECT_GT(framer.buffer_capacity_for_testing(), 65536u);
  EXPECT_EQ(framer.Resume(&handler), Result::kOk);
  EXPECT_EQ(handler.events.size(), 2u);
  EXPECT_EQ(framer.buffered_bytes(), 0u);
  EXPECT_LE(framer.buffer_capacity_for_testing(), 512u);
}

TEST(WebSocketEncodeTest, HeaderForLengths) {
  char out[websocket::kMaxHeaderBytes];
  auto header = [&](uint64_t n) {
    return std::string(out, websocket::EncodeHeader(Opcode::kText, n, out));
  };
  EXPECT_EQ(header(0), std::string("\x81\x00", 2));
  EXPECT_EQ(header(125), "\x81\x7d");
  EXPECT_EQ(header(126), std::string("\x81\x7e\x00\x7e", 4));
  EXPECT_EQ(header(65535), "\x81\x7e\xff\xff");
  EXPECT_EQ(header(65536),
            std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(websocket::EncodeHeader(Opcode::kPong, 3, out), 2u);
  EXPECT_EQ(out[0], '\x8a');
}

TEST(WebSocketEncodeTest, Frame) {
  const PayloadRef frame = websocket::EncodeFrame(Opcode::kPong, "abc");
  EXPECT_EQ(frame->view(),
            "\x8a\x03"
            "abc");
}

TEST(WebSocketEncodeTest, CloseTruncatesAtUtf8Boundary) {
  const PayloadRef plain = websocket::EncodeClose(1000, "bye");
  EXPECT_EQ(plain->view(), std::string("\x88\x05\x03\xe8"
                                       "bye",
                                       7));
  // 122 ASCII bytes then "€" (3 bytes): 125 would cut the "€" in half, so
  // the reason keeps 122 bytes.
  const std::string reason = std::string(122, 'r') + "\xe2\x82\xac";
  const PayloadRef cut = websocket::EncodeClose(1009, reason);
  ASSERT_EQ(cut->size(), 2u + 2 + 122);
  EXPECT_EQ(static_cast<uint8_t>(cut->data()[1]), 124);
  EXPECT_EQ(cut->view().substr(4), std::string(122, 'r'));
  // A reason that fits exactly is kept whole.
  const std::string fits = std::string(120, 'r') + "\xe2\x82\xac";
  EXPECT_EQ(websocket::EncodeClose(1000, fits)->view().substr(4), fits);
}

TEST(Utf8Test, Truncation) {
  EXPECT_EQ(Utf8TruncationPoint("abc", 5), 3u);
  EXPECT_EQ(Utf8TruncationPoint("ab\xe2\x82\xac", 4), 2u);
  EXPECT_EQ(Utf8TruncationPoint("ab\xe2\x82\xac", 5), 5u);
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe0\x9f\xbf"));
}

}  // namespace
}  // namespace chatd
