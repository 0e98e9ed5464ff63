#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "gateway/stream_queue.h"
#include "gateway/worker_pool.h"

namespace roster::gateway {
namespace {

using namespace std::chrono_literals;

TEST(WorkerPool, RunsTasksAndRefusesBeyondCapacity) {
  WorkerPool pool("test", 2, 1);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> ran{0};
  auto task = [&] {
    gate.wait();
    ran.fetch_add(1);
  };
  EXPECT_TRUE(pool.TrySubmit(task));
  EXPECT_TRUE(pool.TrySubmit(task));
  EXPECT_TRUE(pool.TrySubmit(task));   // queued
  EXPECT_FALSE(pool.TrySubmit(task));  // 2 running + 1 queued: full
  EXPECT_EQ(pool.Load(), 3u);
  release.set_value();
  pool.Shutdown();
  pool.Join();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(pool.TrySubmit(task));  // shut down
}

TEST(WorkerPool, ZeroQueueAcceptsOnlyWhenAThreadIsIdle) {
  WorkerPool pool("test", 1, 0);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  EXPECT_TRUE(pool.TrySubmit([gate] { gate.wait(); }));
  EXPECT_FALSE(pool.TrySubmit([] {}));
  release.set_value();
  for (int i = 0; i < 200 && pool.Load() != 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(pool.TrySubmit([] {}));
}

TEST(StreamQueue, HandsChunksOverInOrderAndFinishes) {
  StreamQueue q;
  EXPECT_TRUE(q.Write("a"));
  EXPECT_TRUE(q.Write(""));  // ignored
  EXPECT_TRUE(q.Write("b"));
  std::string out;
  EXPECT_EQ(q.Pop(&out, nullptr), StreamQueue::PopResult::kData);
  EXPECT_EQ(out, "ab");
  bool woken = false;
  EXPECT_EQ(q.Pop(&out, [&] { woken = true; }), StreamQueue::PopResult::kEmpty);
  q.Finish();
  EXPECT_TRUE(woken);
  EXPECT_EQ(q.Pop(&out, nullptr), StreamQueue::PopResult::kFinished);
}

TEST(StreamQueue, ASlowConsumerIsDroppedAfterTheStallTimeoutWithBoundedMemory) {
  StreamQueue q({.max_chunks = 4, .max_bytes = 1 << 20, .stall_timeout = 100ms});
  int written = 0;
  auto start = std::chrono::steady_clock::now();
  while (q.Write(std::string(1000, 'x'))) ++written;
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(written, 4);  // never more than the bound
  EXPECT_GE(waited, 100ms);
  EXPECT_TRUE(q.stalled());
  EXPECT_TRUE(q.ShouldStop());
  std::string out;
  EXPECT_EQ(q.Pop(&out, nullptr), StreamQueue::PopResult::kFailed);
}

TEST(StreamQueue, ByteBoundBlocksButOneLargeChunkFits) {
  StreamQueue q({.max_chunks = 100, .max_bytes = 10, .stall_timeout = 50ms});
  EXPECT_TRUE(q.Write(std::string(50, 'x')));  // alone in the queue: accepted
  EXPECT_FALSE(q.Write("y"));                  // over the byte bound until drained
}

TEST(StreamQueue, ConsumerDrainingUnblocksTheProducer) {
  StreamQueue q({.max_chunks = 1, .max_bytes = 1 << 20, .stall_timeout = 5s});
  std::atomic<int> written{0};
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) {
      if (!q.Write(std::to_string(i) + ",")) return;
      written.fetch_add(1);
    }
    q.Finish();
  });
  std::string all, out;
  while (true) {
    auto r = q.Pop(&out, nullptr);
    if (r == StreamQueue::PopResult::kData) {
      all += out;
    } else if (r == StreamQueue::PopResult::kFinished) {
      break;
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  producer.join();
  EXPECT_EQ(written.load(), 100);
  EXPECT_EQ(all.substr(0, 8), "0,1,2,3,");
  EXPECT_EQ(all.substr(all.size() - 3), "99,");
}

TEST(StreamQueue, CancelWakesABlockedProducer) {
  StreamQueue q({.max_chunks = 1, .max_bytes = 1 << 20, .stall_timeout = 10s});
  ASSERT_TRUE(q.Write("a"));
  std::promise<bool> result;
  std::thread producer([&] { result.set_value(q.Write("b")); });
  std::this_thread::sleep_for(20ms);
  q.Cancel();
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_FALSE(f.get());
  producer.join();
  EXPECT_TRUE(q.ShouldStop());
}

TEST(StreamQueue, RequestStopIsVisibleButWritesStillWork) {
  StreamQueue q;
  q.RequestStop();
  EXPECT_TRUE(q.ShouldStop());
  EXPECT_TRUE(q.Write("still"));
}

}  // namespace
}  // namespace roster::gateway
