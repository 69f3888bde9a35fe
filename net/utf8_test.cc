#include "net/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace chatd {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Test, ValidTextPassesThrough) {
  for (const std::string& text :
       {std::string(""), std::string("plain ascii, long enough for words"),
        std::string("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
        std::string("\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf")}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
    EXPECT_EQ(ToValidUtf8(text), text);
  }
}

TEST(Utf8Test, InvalidSequencesBecomeOneReplacementEach) {
  EXPECT_FALSE(IsValidUtf8("ok \xff"));
  EXPECT_EQ(ToValidUtf8("a\xff"
                        "b"),
            "a" + kFffd + "b");
  // An overlong form, a surrogate, a code point past U+10FFFF.
  EXPECT_EQ(ToValidUtf8("\xc0\xaf"), kFffd + kFffd);
  EXPECT_EQ(ToValidUtf8("\xed\xa0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(ToValidUtf8("\xf4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  // A truncated sequence is one maximal subpart: one replacement.
  EXPECT_EQ(ToValidUtf8("x\xe2\x82"), "x" + kFffd);
  EXPECT_EQ(ToValidUtf8("\xe2\x82y"), kFffd + "y");
  for (const std::string& bad :
       {std::string("\xff\xfe"), std::string("abcdefgh\x80"),
        std::string("\xe2\x82"), std::string("12345678\xed\xa0\x80")}) {
    EXPECT_FALSE(IsValidUtf8(bad));
    EXPECT_TRUE(IsValidUtf8(ToValidUtf8(bad)));
  }
}

TEST(Utf8Test, FastPathStillChecksTheTail) {
  EXPECT_TRUE(IsValidUtf8("01234567890123456789"));
  EXPECT_FALSE(IsValidUtf8("0123456789012345\xc3"));
  EXPECT_TRUE(IsValidUtf8("0123456789012345\xc3\xa9"));
}

}  // namespace
}  // namespace chatd
