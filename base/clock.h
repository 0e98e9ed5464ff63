// Time: microseconds since the Unix epoch (UTC), an injectable clock, RFC 3339 text.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roster {

using Micros = int64_t;  // microseconds since 1970-01-01T00:00:00Z

// The clock every component asks for "now". Injected so tests control time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros Now() const = 0;
};

// Wall clock (CLOCK_REALTIME).
class SystemClock final : public Clock {
 public:
  Micros Now() const override;
};

// A clock tests set and advance by hand. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Micros start = 1'790'000'000'000'000) : now_(start) {}
  Micros Now() const override { return now_.load(); }
  void Set(Micros t) { now_.store(t); }
  void Advance(Micros d) { now_.fetch_add(d); }

 private:
  std::atomic<Micros> now_;
};

// "2026-11-22T10:00:00.123456Z": always UTC, always six fractional digits (API.md).
std::string FormatRfc3339(Micros t);

// Parses RFC 3339 ("2026-11-22T10:00:00Z", fractional seconds up to 9 digits, "Z" or
// "+hh:mm"/"-hh:mm" offsets; 't' and 'z' accepted). nullopt on anything else.
std::optional<Micros> ParseRfc3339(std::string_view text);

constexpr Micros kMicrosPerSecond = 1'000'000;

}  // namespace roster
