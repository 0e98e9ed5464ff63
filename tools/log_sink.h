// BatchedFdSink: rosterd's one log sink, shared by the application log and the access log.
//
// A request thread formats its line and appends it to a pending buffer under the sink's
// mutex: no I/O and no thread wake-up per line. One writer thread ("roster-log") takes the
// whole buffer and write(2)s it: every `interval`, at once when the buffer passes
// `wake_bytes`, and when flushed (rosterd flushes on error and critical lines). Lines keep
// the order in which they were logged across both loggers.
//
// When the pending buffer is full — the fd's reader stalled (a blocked pipe, a slow
// collector) — new lines are dropped and counted (`dropped()`), so a request thread never
// waits for the log's reader.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace roster::tools {

class BatchedFdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct Options {
    int fd = 2;                             // not owned; stays open
    size_t max_pending_bytes = 8 << 20;     // ~23k access-log lines
    size_t wake_bytes = 256 << 10;          // write at once past this much
    std::chrono::milliseconds interval{100};  // at the latest this long after a line
  };

  // Starts the writer thread, which inherits the caller's signal mask.
  explicit BatchedFdSink(Options options);
  BatchedFdSink() : BatchedFdSink(Options{}) {}
  // Writes what is pending, then stops the writer.
  ~BatchedFdSink() override;
  BatchedFdSink(const BatchedFdSink&) = delete;
  BatchedFdSink& operator=(const BatchedFdSink&) = delete;

  // Writes every line logged before the call and returns when it is written (or failed).
  // For shutdown and tests; request threads only ever flush (which does not wait).
  void Drain();

  // Lines dropped because the pending buffer was full, since construction.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;  // wakes the writer; does not wait for it

 private:
  void WriterLoop();
  void WriteOut();  // takes the pending buffer and writes it (write_mu_ keeps batches in order)

  const Options options_;
  // Guarded by base_sink's mutex_.
  std::string pending_;
  bool wake_ = false;
  bool stop_ = false;
  std::condition_variable wake_cv_;

  std::mutex write_mu_;
  std::string writing_;  // guarded by write_mu_; keeps its capacity between batches
  std::atomic<uint64_t> dropped_{0};
  std::thread writer_;
};

}  // namespace roster::tools
