// Sorts the lines one member received by the member they are about.
//
// The server promises an order only per sender: a member's join, then its
// messages as sent, then its leave. Lines from different senders may
// interleave in any way. So a receiver's lines are split into one sequence
// per subject ("bob" -> {"+joined", "hi", "bye", "+left"}), and tests compare
// those sequences against what each subject did. A duplicate, a loss, a
// reordering, a line of another group or a line torn mid-way all show up as
// a difference.

#ifndef CHATD_TESTS_TRANSCRIPT_H_
#define CHATD_TESTS_TRANSCRIPT_H_

#include <map>
#include <string>
#include <vector>

namespace chatd_test {

// Entries standing for the announcements, beside message texts.
inline constexpr char kJoined[] = "+joined";
inline constexpr char kLeft[] = "+left";
// The subject under which lines that fit no known shape are filed.
inline constexpr char kUnparsed[] = "<unparsed>";

using Transcript = std::map<std::string, std::vector<std::string>>;

// "* bob has joined" -> bob: +joined; "* bob has left" -> bob: +left;
// "bob: hi" -> bob: hi; anything else -> <unparsed>: the whole line.
Transcript BySubject(const std::vector<std::string>& lines);

// "" when equal; otherwise the first difference, readable in a test log
// even when the sequences hold thousands of lines.
std::string DescribeDifference(const Transcript& expected,
                               const Transcript& actual);

}  // namespace chatd_test

#endif  // CHATD_TESTS_TRANSCRIPT_H_
