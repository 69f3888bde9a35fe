#include "core/member.h"

#include <glog/logging.h>

#include <algorithm>

#include "core/chat_event.h"

namespace chatd {

absl::string_view Member::host() const { return irc() ? kIrcHost : kLineHost; }

size_t Member::group_count() const {
  return (first_.group != nullptr ? 1 : 0) + (more_ ? more_->size() : 0);
}

Membership* Member::Find(const Group* group) {
  if (first_.group == group && group != nullptr) return &first_;
  if (more_ == nullptr) return nullptr;
  for (const std::unique_ptr<Membership>& m : *more_) {
    if (m->group == group) return m.get();
  }
  return nullptr;
}

Membership* Member::AddMembership(Group* group) {
  DCHECK(Find(group) == nullptr);
  Membership* m = &first_;
  if (first_.group != nullptr) {
    if (more_ == nullptr) {
      more_ = std::make_unique<std::vector<std::unique_ptr<Membership>>>();
    }
    more_->push_back(std::make_unique<Membership>());
    m = more_->back().get();
  }
  m->member = this;
  m->group = group;
  return m;
}

void Member::RemoveMembership(Membership* membership) {
  if (membership == &first_) {
    first_ = Membership();
    return;
  }
  CHECK(more_ != nullptr) << "unknown membership";
  auto it = std::find_if(more_->begin(), more_->end(),
                         [membership](const std::unique_ptr<Membership>& m) {
                           return m.get() == membership;
                         });
  CHECK(it != more_->end()) << "unknown membership";
  more_->erase(it);
  if (more_->empty()) more_.reset();
}

}  // namespace chatd
