// Latch<T>: one value handed from one thread to another that waits for it — the blocking
// wrapper over a callback API (CommandHandler::Execute over ExecuteAsync, the
// Dispatcher's blocking Handle over a deferred answer).
//
//   Latch<Result<X>> answered;
//   StartAsync([&answered](Result<X> r) { answered.Set(std::move(r)); });
//   Result<X> r = answered.Wait();
//
// Set() notifies under the lock, so the waiter may return and destroy the Latch as soon
// as Wait() sees the value. Set exactly once.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

namespace roster {

template <class T>
class Latch {
 public:
  // Takes an rvalue: a by-value parameter made GCC 12 -O3 warn (maybe-uninitialized) when
  // T is a Result moved out of a std::function argument.
  void Set(T&& value) {
    std::lock_guard lock(mu_);
    value_.emplace(std::move(value));
    cv_.notify_one();
  }
  T Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return value_.has_value(); });
    return std::move(*value_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

}  // namespace roster
