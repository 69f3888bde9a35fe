#include "net/output_queue.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace chatd {
namespace {

class OutputQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0);
  }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  std::string ReadAll() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = read(fds_[1], buf, sizeof(buf))) > 0) out.append(buf, n);
    return out;
  }
  int fds_[2];
};

TEST_F(OutputQueueTest, WritesEverythingInOrder) {
  OutputQueue q;
  EXPECT_TRUE(q.empty());
  PayloadRef shared = Payload::Copy("b\n");
  q.Push(Payload::Copy("a\n"));
  q.Push(shared);
  q.Push(Payload::Copy("c\n"));
  EXPECT_EQ(q.pending_bytes(), 6u);
  EXPECT_EQ(shared->ref_count_for_testing(), 2);
  ASSERT_TRUE(q.WriteTo(fds_[0]).ok());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(ReadAll(), "a\nb\nc\n");
  // Written payloads are released at once.
  EXPECT_EQ(shared->ref_count_for_testing(), 1);
}

TEST_F(OutputQueueTest, WebSocketWireSendsTheFramedForm) {
  OutputQueue q;
  q.set_wire(Wire::kWebSocket);
  PayloadRef line = Payload::Line({"bob: yo"});
  q.Push(Payload::Copy("raw"));  // Not a line: the same on any wire.
  q.Push(line);
  EXPECT_EQ(q.pending_bytes(), 3u + 2u + 7u);
  ASSERT_TRUE(q.WriteTo(fds_[0]).ok());
  EXPECT_EQ(ReadAll(), std::string("raw\x81\x07"
                                   "bob: yo"));
}

// The TLS path copies the front into one record and consumes what went.
TEST_F(OutputQueueTest, CopyFrontThenConsumeWalksTheQueue) {
  OutputQueue q;
  PayloadRef shared = Payload::Copy("bbbb\n");
  q.Push(Payload::Copy("aa\n"));
  q.Push(shared);
  q.Push(Payload::Copy("c\n"));
  char record[5];
  ASSERT_EQ(q.CopyFront(record, sizeof(record)), 5u);
  EXPECT_EQ(std::string(record, 5), "aa\nbb");
  // Copying consumes nothing.
  EXPECT_EQ(q.pending_bytes(), 10u);
  q.Consume(5);
  EXPECT_EQ(q.pending_bytes(), 5u);
  EXPECT_EQ(shared->ref_count_for_testing(), 2);  // Half written.
  char rest[64];
  ASSERT_EQ(q.CopyFront(rest, sizeof(rest)), 5u);
  EXPECT_EQ(std::string(rest, 5), "bb\nc\n");
  q.Consume(3);
  EXPECT_EQ(shared->ref_count_for_testing(), 1);  // Released once written.
  q.Consume(2);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.CopyFront(rest, sizeof(rest)), 0u);
}

TEST_F(OutputQueueTest, PartialWritesResumeMidPayload) {
  int small = 4096;
  ASSERT_EQ(setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
            0);
  OutputQueue q;
  std::string expected;
  for (int i = 0; i < 3000; ++i) {  // More lines than one sendmsg takes.
    std::string line = std::to_string(i) + std::string(50, 'x') + "\n";
    expected += line;
    q.Push(Payload::Copy(line));
  }
  std::string got;
  for (int rounds = 0; !q.empty() && rounds < 100000; ++rounds) {
    ASSERT_TRUE(q.WriteTo(fds_[0]).ok());
    got += ReadAll();
  }
  got += ReadAll();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(got, expected);
}

TEST_F(OutputQueueTest, PendingBytesTrackWhatTheKernelRefused) {
  int small = 4096;
  ASSERT_EQ(setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
            0);
  OutputQueue q;
  const std::string big(1 << 20, 'z');
  q.Push(Payload::Copy(big));
  ASSERT_TRUE(q.WriteTo(fds_[0]).ok());  // Would block: not an error.
  EXPECT_FALSE(q.empty());
  EXPECT_LT(q.pending_bytes(), big.size());
  const size_t written = big.size() - q.pending_bytes();
  EXPECT_EQ(ReadAll().size(), written);
}

TEST_F(OutputQueueTest, DeadPeerIsAnError) {
  signal(SIGPIPE, SIG_IGN);  // As the server does: EPIPE, not a signal.
  close(fds_[1]);
  fds_[1] = socket(AF_UNIX, SOCK_STREAM, 0);  // Keeps TearDown simple.
  OutputQueue q;
  q.Push(Payload::Copy("x\n"));
  const absl::Status status = q.WriteTo(fds_[0]);
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(q.empty());
}

TEST_F(OutputQueueTest, ClearDropsEverything) {
  OutputQueue q;
  PayloadRef line = Payload::Copy("x\n");
  q.Push(line);
  q.Push(Payload::Copy(""));  // Empty payloads are not queued.
  EXPECT_EQ(q.pending_bytes(), 2u);
  q.Clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(line->ref_count_for_testing(), 1);
}

}  // namespace
}  // namespace chatd
