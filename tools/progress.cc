#include "tools/progress.h"

#include <unistd.h>

namespace roster::tools {

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

Progress::Progress(std::string label, uint64_t total, bool force)
    : label_(std::move(label)),
      total_(total),
      enabled_(force || ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_) Finish();
}

double Progress::Rate() const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return secs > 0 ? static_cast<double>(count_) / secs : 0.0;
}

void Progress::Add(uint64_t n) {
  count_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ >= std::chrono::milliseconds(200)) {
    last_draw_ = now;
    Draw(false);
  }
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) Draw(true);
}

void Progress::Draw(bool final) {
  double rate = Rate();
  std::string line = "\r" + label_ + "  " + WithThousands(count_);
  if (total_ > 0) line += " / " + WithThousands(total_);
  line += "  " + WithThousands(static_cast<uint64_t>(rate)) + "/s";
  if (total_ > 0 && rate > 0 && count_ < total_ && !final) {
    auto eta = static_cast<uint64_t>(static_cast<double>(total_ - count_) / rate);
    char buf[32];
    std::snprintf(buf, sizeof buf, "  ETA %llu:%02llu", static_cast<unsigned long long>(eta / 60),
                  static_cast<unsigned long long>(eta % 60));
    line += buf;
  }
  line += "\x1b[K";  // clear to end of line
  if (final) line += "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace roster::tools
