// The bounded hand-off between a stream producer (on the stream pool) and the connection
// that writes its chunks (on an I/O thread). The producer blocks while the queue is full;
// if the connection does not drain it within the stall timeout, the stream fails and the
// connection is dropped: a slow client never makes the server buffer without bound.
// Thread-safe: one producer, one consumer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "gateway/http.h"

namespace roster::gateway {

struct StreamQueueOptions {
  size_t max_chunks = 64;          // queued chunks before Write blocks
  size_t max_bytes = 1 << 20;      // queued bytes before Write blocks (one bigger chunk fits)
  std::chrono::milliseconds stall_timeout{30'000};  // Write blocked this long → drop client
};

class StreamQueue final : public StreamSink {
 public:
  explicit StreamQueue(StreamQueueOptions options = {});

  // Producer side (StreamSink).
  bool Write(std::string chunk) override;
  bool ShouldStop() const override;
  // The producer returned: the consumer sees kFinished once the queue is empty.
  void Finish();

  // Consumer side.
  enum class PopResult {
    kData,      // *out holds every queued chunk, concatenated
    kEmpty,     // nothing yet; `on_ready` will be called once something changes
    kFinished,  // producer done and queue drained
    kFailed,    // stalled (slow client) or cancelled: close the connection
  };
  // `on_ready` is called at most once, from the producer's thread (or the caller of
  // Cancel/RequestStop), without the lock held; it should only post work elsewhere.
  PopResult Pop(std::string* out, std::function<void()> on_ready);
  // The client is gone: Write fails from now on and a blocked Write wakes.
  void Cancel();
  // The server is draining: ShouldStop() turns true (writes are still accepted).
  void RequestStop();

  bool stalled() const;

 private:
  void NotifyLocked(std::unique_lock<std::mutex>& lock);

  const StreamQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable space_cv_;
  std::deque<std::string> chunks_;
  size_t bytes_ = 0;
  bool finished_ = false;
  bool cancelled_ = false;
  bool stalled_ = false;
  bool stop_requested_ = false;
  std::function<void()> on_ready_;
};

}  // namespace roster::gateway
