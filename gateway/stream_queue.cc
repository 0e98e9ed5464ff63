#include "gateway/stream_queue.h"

namespace roster::gateway {

StreamQueue::StreamQueue(StreamQueueOptions options) : options_(options) {}

void StreamQueue::NotifyLocked(std::unique_lock<std::mutex>& lock) {
  std::function<void()> cb = std::move(on_ready_);
  on_ready_ = nullptr;
  lock.unlock();
  if (cb) cb();
}

bool StreamQueue::Write(std::string chunk) {
  std::unique_lock lock(mu_);
  if (cancelled_ || stalled_) return false;
  if (chunk.empty()) return true;
  auto has_space = [&] {
    return cancelled_ || chunks_.empty() ||
           (chunks_.size() < options_.max_chunks && bytes_ + chunk.size() <= options_.max_bytes);
  };
  if (!space_cv_.wait_for(lock, options_.stall_timeout, has_space)) {
    stalled_ = true;  // the client did not read for a whole stall timeout
    NotifyLocked(lock);
    return false;
  }
  if (cancelled_) return false;
  bytes_ += chunk.size();
  chunks_.push_back(std::move(chunk));
  NotifyLocked(lock);
  return true;
}

bool StreamQueue::ShouldStop() const {
  std::lock_guard lock(mu_);
  return cancelled_ || stalled_ || stop_requested_;
}

void StreamQueue::Finish() {
  std::unique_lock lock(mu_);
  finished_ = true;
  NotifyLocked(lock);
}

StreamQueue::PopResult StreamQueue::Pop(std::string* out, std::function<void()> on_ready) {
  std::unique_lock lock(mu_);
  if (cancelled_ || stalled_) return PopResult::kFailed;
  if (!chunks_.empty()) {
    out->clear();
    out->reserve(bytes_);
    for (std::string& c : chunks_) out->append(c);
    chunks_.clear();
    bytes_ = 0;
    lock.unlock();
    space_cv_.notify_all();
    return PopResult::kData;
  }
  if (finished_) return PopResult::kFinished;
  on_ready_ = std::move(on_ready);
  return PopResult::kEmpty;
}

void StreamQueue::Cancel() {
  std::unique_lock lock(mu_);
  cancelled_ = true;
  chunks_.clear();
  bytes_ = 0;
  on_ready_ = nullptr;  // the consumer is gone
  lock.unlock();
  space_cv_.notify_all();
}

void StreamQueue::RequestStop() {
  std::lock_guard lock(mu_);
  stop_requested_ = true;
}

bool StreamQueue::stalled() const {
  std::lock_guard lock(mu_);
  return stalled_;
}

}  // namespace roster::gateway
