// Futex-backed wait primitives of the append path.
//
// Why not std::binary_semaphore or a condition variable: libstdc++'s atomic wait spins
// and then calls sched_yield() four times before it sleeps. With 64 appenders on two
// cores every yield is a context switch, and in a paravirtualised guest a switch costs
// several microseconds, which made switching, not the fsync, the ceiling of group commit
// (storage_bench measured 5.2 context switches per append). These sleep at once and are
// woken by exactly one futex call.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace roster::storage::internal {

inline void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
  // Returns on a wake, on EAGAIN (the word already differs) or on EINTR; callers re-check.
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr,
            nullptr, 0);
}

inline void FutexWake(std::atomic<uint32_t>* word, int waiters) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, waiters, nullptr,
            nullptr, 0);
}

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// A one-shot event: one thread Waits until another Sets it, once.
//
// The waiter may destroy the object as soon as Wait returns, even while Set is still in
// its FutexWake: the wake only names the address, and a wake that reaches a later object
// at the same address is a spurious wake, which Wait absorbs by re-checking its word.
class OneShot {
 public:
  void Wait() {
    while (state_.load(std::memory_order_acquire) == 0) FutexWait(&state_, 0);
  }
  bool IsSet() const { return state_.load(std::memory_order_acquire) != 0; }

  // Publishes everything written before it to the waiter and wakes it.
  void Set() {
    state_.store(1, std::memory_order_release);
    FutexWake(&state_, 1);
  }

 private:
  std::atomic<uint32_t> state_{0};
};

}  // namespace roster::storage::internal
