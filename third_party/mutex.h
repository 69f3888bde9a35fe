// Mutex is absl::Mutex made visible to ThreadSanitizer. Debian's Abseil is a
// prebuilt library compiled without TSan, so TSan cannot see absl::Mutex
// acquire and release and reports every access it guards as a race. This
// wrapper tells TSan about each lock and unlock (and compiles to a plain
// absl::Mutex otherwise). It carries Abseil's thread-safety annotations, so
// ABSL_GUARDED_BY(mu_) on a chatd::Mutex is checked by clang's
// -Wthread-safety like one on an absl::Mutex.
//
// Use it for every mutex in chatd; it is the one mutex type of the project.
#ifndef CHATD_THIRD_PARTY_MUTEX_H_
#define CHATD_THIRD_PARTY_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHATD_MUTEX_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif
#endif

namespace chatd {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() {
#ifdef CHATD_MUTEX_TSAN
    __tsan_mutex_create(this, 0);
#endif
  }
  ~Mutex() {
#ifdef CHATD_MUTEX_TSAN
    __tsan_mutex_destroy(this, 0);
#endif
  }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
#ifdef CHATD_MUTEX_TSAN
    __tsan_mutex_pre_lock(this, 0);
#endif
    mu_.Lock();
#ifdef CHATD_MUTEX_TSAN
    __tsan_mutex_post_lock(this, 0, 0);
#endif
  }

  void Unlock() ABSL_UNLOCK_FUNCTION() {
#ifdef CHATD_MUTEX_TSAN
    __tsan_mutex_pre_unlock(this, 0);
#endif
    mu_.Unlock();
#ifdef CHATD_MUTEX_TSAN
    __tsan_mutex_post_unlock(this, 0);
#endif
  }

 private:
  absl::Mutex mu_;
};

// Holds a Mutex for the scope, like absl::MutexLock.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace chatd

#endif  // CHATD_THIRD_PARTY_MUTEX_H_
