// Numbered test messages whose payload is a pure function of sender and
// sequence number, with varying lengths (0 to 699 bytes), so a torn or
// spliced line cannot match by accident.

#ifndef CHATD_TESTS_NUMBERED_MESSAGE_H_
#define CHATD_TESTS_NUMBERED_MESSAGE_H_

#include <string>

namespace chatd_test {

// "seq <seq> <payload>".
std::string NumberedMessage(const std::string& sender, int seq);

}  // namespace chatd_test

#endif  // CHATD_TESTS_NUMBERED_MESSAGE_H_
