// QueuedTransport is a ChatShard::Transport for tests and fuzzers: it keeps
// every post, in order, until the caller takes them and delivers them
// (to the shards it chooses, when it chooses), standing in for the workers'
// mailboxes.
#ifndef CHATD_CORE_QUEUED_TRANSPORT_H_
#define CHATD_CORE_QUEUED_TRANSPORT_H_

#include <utility>
#include <vector>

#include "core/chat_shard.h"

namespace chatd {

class QueuedTransport final : public ChatShard::Transport {
 public:
  struct Post {
    int worker;
    ShardPost post;
  };
  void Post(int worker, ShardPost post) override {
    posts_.push_back({worker, std::move(post)});
  }
  // The posts made since the last Take(), oldest first.
  std::vector<struct Post> Take() { return std::move(posts_); }
  bool empty() const { return posts_.empty(); }

 private:
  std::vector<struct Post> posts_;
};

}  // namespace chatd

#endif  // CHATD_CORE_QUEUED_TRANSPORT_H_
