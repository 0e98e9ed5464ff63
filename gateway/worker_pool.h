// A fixed set of threads with a bounded task queue. The server runs handlers on one (so a
// handler blocked on an fsync never stalls an I/O thread) and stream producers on another.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace roster::gateway {

class WorkerPool {
 public:
  // `threads` >= 1. `max_queued`: tasks that may wait for a free thread (0: a task is
  // accepted only when a thread is idle).
  WorkerPool(std::string name, size_t threads, size_t max_queued);
  // Shutdown(), then joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (and `task` is dropped) when the pool is at capacity or shut down.
  bool TrySubmit(std::function<void()> task);

  // Refuses new tasks; queued tasks still run. Join() waits for them.
  void Shutdown();
  void Join();

  size_t threads() const { return threads_.size(); }
  // Tasks running or queued.
  size_t Load() const;

 private:
  void Loop();

  std::string name_;
  size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t busy_ = 0;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace roster::gateway
