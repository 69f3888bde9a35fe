#include "tests/child_process.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace chatd_test {
namespace {

std::string SignalName(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev != nullptr ? absl::StrCat("SIG", abbrev)
                           : absl::StrCat("signal ", signo);
}

}  // namespace

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status), " (",
                        strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("wait status ", status);
}

bool ReapChild(pid_t pid, int options, int* status) {
  while (true) {
    int got_status = 0;
    const pid_t got = waitpid(pid, &got_status, options);
    if (got == pid) {
      *status = got_status;
      return true;
    }
    if (got < 0 && errno == EINTR) continue;
    return got < 0;  // ECHILD: not ours any more.
  }
}

absl::Status SignalChild(pid_t pid, int signo) {
  if (kill(pid, signo) != 0) {
    return absl::InternalError(absl::StrCat("kill: ", strerror(errno)));
  }
  if (signo != SIGSTOP) return absl::OkStatus();
  siginfo_t info;
  while (waitid(P_PID, pid, &info, WSTOPPED | WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitid: ", strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::Status SignalAndReap(pid_t pid, int signo, absl::Duration timeout,
                           absl::string_view what, int* status) {
  kill(pid, signo);
  const absl::Time deadline = absl::Now() + timeout;
  while (!ReapChild(pid, WNOHANG, status)) {
    if (absl::Now() >= deadline) {
      kill(pid, SIGKILL);
      ReapChild(pid, 0, status);
      return absl::DeadlineExceededError(absl::StrCat(
          what, " did not exit within ", absl::FormatDuration(timeout), " of ",
          SignalName(signo)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ExitCodeOf(int status, absl::string_view what) {
  if (!WIFEXITED(status)) {
    return absl::AbortedError(
        absl::StrCat(what, " ", DescribeWaitStatus(status)));
  }
  return WEXITSTATUS(status);
}

}  // namespace chatd_test
