// OffsetClock: the system clock plus an offset that only grows. rosterd stamps events and
// decides expiry with it; the offset stays 0 unless the hidden test route POST /_test/clock
// (rosterd --enable-test-routes) moves it, so end-to-end tests can let an invitation
// expire without waiting for its TTL. Never moves backwards: recorded_at stays monotonic.
#pragma once

#include <atomic>

#include "base/clock.h"

namespace roster::api {

class OffsetClock final : public Clock {
 public:
  Micros Now() const override { return system_.Now() + offset_.load(std::memory_order_relaxed); }
  // Moves the clock forward by `d` (ignored when d <= 0). Thread-safe.
  void Advance(Micros d) {
    if (d > 0) offset_.fetch_add(d, std::memory_order_relaxed);
  }
  Micros offset() const { return offset_.load(std::memory_order_relaxed); }

 private:
  SystemClock system_;
  std::atomic<Micros> offset_{0};
};

}  // namespace roster::api
