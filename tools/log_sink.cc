#include "tools/log_sink.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>

namespace roster::tools {

BatchedFdSink::BatchedFdSink(Options options) : options_(options) {
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "roster-log");
    WriterLoop();
  });
}

BatchedFdSink::~BatchedFdSink() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_cv_.notify_one();
  writer_.join();
  WriteOut();
}

void BatchedFdSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  if (pending_.size() + line.size() > options_.max_pending_bytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pending_.append(line.data(), line.size());
  if (!wake_ && pending_.size() >= options_.wake_bytes) {
    wake_ = true;
    wake_cv_.notify_one();
  }
}

void BatchedFdSink::flush_() {
  if (wake_) return;
  wake_ = true;
  wake_cv_.notify_one();
}

void BatchedFdSink::Drain() { WriteOut(); }

void BatchedFdSink::WriterLoop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_cv_.wait_for(lock, options_.interval, [&] { return wake_ || stop_; });
      if (stop_) return;  // the destructor writes the rest
      wake_ = false;
      if (pending_.empty()) continue;
    }
    WriteOut();
  }
}

void BatchedFdSink::WriteOut() {
  std::lock_guard write_lock(write_mu_);
  {
    std::lock_guard lock(mutex_);
    writing_.swap(pending_);  // pending_ keeps the capacity of the last batch
  }
  const char* p = writing_.data();
  size_t left = writing_.size();
  while (left > 0) {
    ssize_t n = ::write(options_.fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A non-blocking fd (inherited that way): wait for room, but not forever.
      pollfd pfd{options_.fd, POLLOUT, 0};
      if (::poll(&pfd, 1, 1000) > 0) continue;
    }
    if (n <= 0) break;  // nowhere to write (a closed pipe, a full disk): the batch is lost
    p += n;
    left -= static_cast<size_t>(n);
  }
  writing_.clear();
}

}  // namespace roster::tools
