// OutputQueue holds what a connection still has to write: a FIFO of shared
// Payloads, the first possibly part-written. Owned by one connection and
// touched only on its worker's thread.
//
// Queuing a line costs a reference, not a copy; flushing gathers up to
// kMaxIov payloads into one sendmsg (writev's socket twin), so many lines
// queued during one loop pass leave in one syscall. An empty queue holds no
// heap memory.
#ifndef CHATD_NET_OUTPUT_QUEUE_H_
#define CHATD_NET_OUTPUT_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "net/payload.h"

namespace chatd {

class OutputQueue {
 public:
  // Linux's IOV_MAX.
  static constexpr size_t kMaxIov = 1024;

  OutputQueue() = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  // Queues `line` in its form for wire().
  void Push(PayloadRef line);

  // How this connection carries lines; kStream until set. Changed only
  // while no line payload is queued (at a WebSocket upgrade).
  Wire wire() const { return wire_; }
  void set_wire(Wire wire) { wire_ = wire; }

  bool empty() const { return pending_bytes_ == 0; }
  // Queued bytes not yet accepted by the kernel.
  size_t pending_bytes() const { return pending_bytes_; }

  // Writes to the non-blocking `fd` until the queue is empty or the socket
  // would block. Returns OK in both cases (check empty()); any other error
  // (EPIPE, ECONNRESET...) means the connection is dead.
  absl::Status WriteTo(int fd);

  // Copies up to `size` bytes from the front into `buffer`, without
  // consuming them; returns how many. For a transport that cannot gather
  // (TLS encrypted in user space), which then Consume()s what it sent.
  size_t CopyFront(char* buffer, size_t size) const;
  // Drops `n` bytes from the front: they were sent.
  void Consume(size_t n);

  // Drops everything queued.
  void Clear();

  // Drops every line not yet started, keeping a part-written first line so
  // the client never sees half a line.
  void DropUnstarted();

 private:
  std::vector<PayloadRef> lines_;
  // 32 bits each, so that wire_ fits beside pending_bytes_ without growing
  // every connection: a payload is at most 4 GiB, a queue far shorter.
  uint32_t head_ = 0;         // First line not fully written.
  uint32_t head_offset_ = 0;  // Bytes of lines_[head_] already written.
  size_t pending_bytes_ = 0;
  Wire wire_ = Wire::kStream;
};

}  // namespace chatd

#endif  // CHATD_NET_OUTPUT_QUEUE_H_
