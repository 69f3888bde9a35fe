// The chat page (server/web/index.html), compiled into the binary by the
// :chat_page_cc genrule, so that chatd needs no files at run time and the
// page needs no network.
#ifndef CHATD_SERVER_CHAT_PAGE_H_
#define CHATD_SERVER_CHAT_PAGE_H_

#include "absl/strings/string_view.h"

namespace chatd {

absl::string_view ChatPageHtml();

}  // namespace chatd

#endif  // CHATD_SERVER_CHAT_PAGE_H_
