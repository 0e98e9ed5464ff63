// A progress line for long CLI work: "import  12,345 / 50,000  3,210/s  ETA 0:12".
// Drawn on stderr only when stderr is a terminal (quiet when piped or under CI), redrawn
// at most every 200 ms. Not thread-safe: one owner thread calls Add/Finish.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace roster::tools {

class Progress {
 public:
  // `total` = 0 when unknown (no ETA). `force` draws even when stderr is not a terminal.
  Progress(std::string label, uint64_t total, bool force = false);
  ~Progress();

  void Add(uint64_t n = 1);
  void SetTotal(uint64_t total) { total_ = total; }
  uint64_t count() const { return count_; }
  double Rate() const;  // per second since construction
  // Draws the final line (when drawing) and ends it with a newline.
  void Finish();

 private:
  void Draw(bool final);

  std::string label_;
  uint64_t total_;
  uint64_t count_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "12,345"
std::string WithThousands(uint64_t n);

}  // namespace roster::tools
