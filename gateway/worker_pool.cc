#include "gateway/worker_pool.h"

#include <pthread.h>

#include <cassert>

namespace roster::gateway {

WorkerPool::WorkerPool(std::string name, size_t threads, size_t max_queued)
    : name_(std::move(name)), max_queued_(max_queued) {
  assert(threads >= 1);
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Loop(); });
    // Thread names show in top/gdb; at most 15 characters.
    std::string thread_name = name_.substr(0, 12) + std::to_string(i % 100);
    pthread_setname_np(threads_.back().native_handle(), thread_name.substr(0, 15).c_str());
  }
}

WorkerPool::~WorkerPool() {
  Shutdown();
  Join();
}

bool WorkerPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return false;
    // busy_ counts tasks from submission to completion: running plus queued.
    if (busy_ >= threads_.size() + max_queued_) return false;
    queue_.push_back(std::move(task));
    ++busy_;
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

void WorkerPool::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

size_t WorkerPool::Load() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void WorkerPool::Loop() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return shutdown_ || !queue_.empty(); });
      if (queue_.empty()) return;  // shut down and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
    task = nullptr;  // release captures before the next wait
    std::lock_guard lock(mu_);
    --busy_;
  }
}

}  // namespace roster::gateway
