// Waiting for and stopping the child processes that integration tests run
// (chatd through ServerProcess, nats-server through NatsServerProcess): the
// one place that turns a wait status into words and a Status, and that
// escalates a stop that takes too long to SIGKILL. Stateless; the caller
// owns the child and its recorded wait status.
#ifndef CHATD_TESTS_CHILD_PROCESS_H_
#define CHATD_TESTS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chatd_test {

// "exit code 3", "killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int status);

// waitpid(pid, options), retried on EINTR. True once the child is reaped,
// with its wait status in `*status`; also true, `*status` untouched, when
// `pid` is no child of ours (nothing left to wait for). False while it
// runs (WNOHANG).
bool ReapChild(pid_t pid, int options, int* status);

// Sends `signo` to the running child `pid`. For SIGSTOP it returns only
// once the child has stopped (or exited): a stop takes effect when one of
// its threads next runs, and a test that goes on at once can still see it
// answer. The child stays waitable either way.
absl::Status SignalChild(pid_t pid, int signo);

// Sends `signo` to the running child `pid` and reaps it, SIGKILLing it
// after `timeout`. Its wait status goes to `*status`. DeadlineExceeded
// ("<what> did not exit within <timeout> of <signal>") if it was killed.
absl::Status SignalAndReap(pid_t pid, int signo, absl::Duration timeout,
                           absl::string_view what, int* status);

// The exit code in `status`, or Aborted ("<what> killed by signal ...")
// when the child did not exit by itself.
absl::StatusOr<int> ExitCodeOf(int status, absl::string_view what);

}  // namespace chatd_test

#endif  // CHATD_TESTS_CHILD_PROCESS_H_
