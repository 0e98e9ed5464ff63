// BatchedFdSink (tools/log_sink.h): every line arrives, in order, without a wake-up per
// line; error lines are written at once; a stalled reader costs dropped lines, never a
// blocked logging thread.
#include "tools/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace roster::tools {
namespace {

using namespace std::chrono_literals;

// A pipe whose read end the test drains on demand.
class Pipe {
 public:
  Pipe() { EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0); }
  ~Pipe() {
    ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  int write_fd() const { return fds_[1]; }
  // Reads what is there now, waiting up to `wait` for something to arrive.
  std::string ReadAvailable(std::chrono::milliseconds wait) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + wait;
    ::fcntl(fds_[0], F_SETFL, O_NONBLOCK);
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fds_[0], buf, sizeof(buf));
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (!out.empty() || std::chrono::steady_clock::now() > deadline) return out;
      std::this_thread::sleep_for(5ms);
    }
  }

 private:
  int fds_[2] = {-1, -1};
};

std::shared_ptr<spdlog::logger> Logger(const std::string& name,
                                       const std::shared_ptr<BatchedFdSink>& sink) {
  auto l = std::make_shared<spdlog::logger>(name, sink);
  l->set_pattern("[%n] %v");
  l->flush_on(spdlog::level::err);
  return l;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(BatchedFdSinkTest, EveryLineOfEveryThreadArrivesInItsOrder) {
  Pipe pipe;
  constexpr int kThreads = 4, kLines = 5000;
  std::string text;
  {
    auto sink = std::make_shared<BatchedFdSink>(
        BatchedFdSink::Options{.fd = pipe.write_fd(), .wake_bytes = 4096});
    auto app = Logger("app", sink), access = Logger("access", sink);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kLines; ++i) (i % 2 ? app : access)->info("t{} n{}", t, i);
      });
    }
    std::thread reader([&] {
      // Drains the pipe while the threads log (it holds 64 KiB; they write ~400 KiB).
      for (int idle = 0; idle < 100;) {
        std::string got = pipe.ReadAvailable(20ms);
        idle = got.empty() ? idle + 1 : 0;
        text += got;
      }
    });
    for (auto& th : threads) th.join();
    sink->Drain();
    reader.join();
    EXPECT_EQ(sink->dropped(), 0u);
  }
  std::vector<int> next(kThreads, 0);
  int count = 0;
  for (const std::string& line : Lines(text)) {
    int t = -1, n = -1;
    char name[16] = {};
    ASSERT_EQ(std::sscanf(line.c_str(), "[%15[a-z]] t%d n%d", name, &t, &n), 3) << line;
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    EXPECT_EQ(n, next[t]) << "thread " << t << " out of order or lost";
    EXPECT_EQ(std::string(name), n % 2 ? "app" : "access") << line;
    next[t] = n + 1;
    ++count;
  }
  EXPECT_EQ(count, kThreads * kLines);
}

// Lines wait for the interval; an error line (flush_on(err)) and a full wake_bytes do not.
TEST(BatchedFdSinkTest, ErrorsAndFullBatchesAreWrittenWithoutWaitingForTheInterval) {
  Pipe pipe;
  auto sink = std::make_shared<BatchedFdSink>(BatchedFdSink::Options{
      .fd = pipe.write_fd(), .wake_bytes = 1000, .interval = std::chrono::hours(1)});
  auto log = Logger("app", sink);
  log->info("quiet");
  log->error("alarm");
  std::string got;
  for (int i = 0; i < 100 && got.find("alarm") == std::string::npos; ++i) {
    got += pipe.ReadAvailable(50ms);
  }
  EXPECT_EQ(got, "[app] quiet\n[app] alarm\n");

  for (int i = 0; i < 200; ++i) log->info("line {:04}", i);  // ~3 KiB, past wake_bytes
  got.clear();
  for (int i = 0; i < 100 && got.size() < 1000; ++i) got += pipe.ReadAvailable(50ms);
  EXPECT_GE(got.size(), 1000u);
  EXPECT_EQ(got.rfind("[app] line 0000\n", 0), 0u);
}

// Nothing is lost at the end: destroying the sink writes what is pending.
TEST(BatchedFdSinkTest, DestructionWritesWhatIsPending) {
  Pipe pipe;
  {
    auto sink = std::make_shared<BatchedFdSink>(
        BatchedFdSink::Options{.fd = pipe.write_fd(), .interval = std::chrono::hours(1)});
    auto log = Logger("app", sink);
    for (int i = 0; i < 100; ++i) log->info("bye {}", i);
  }
  std::vector<std::string> lines = Lines(pipe.ReadAvailable(1s));
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines.back(), "[app] bye 99");
}

// A reader that stops reading fills the pipe and then the buffer: later lines are
// dropped and counted while logging goes on at full speed; what was kept arrives once the
// reader reads again, and kept + dropped = logged.
TEST(BatchedFdSinkTest, AStalledReaderCostsDroppedLinesNotABlockedLogger) {
  Pipe pipe;
  constexpr int kLines = 40000;  // ~0.8 MiB: 64 KiB of pipe + 32 KiB of buffer hold less
  auto sink = std::make_shared<BatchedFdSink>(BatchedFdSink::Options{
      .fd = pipe.write_fd(), .max_pending_bytes = 32 << 10, .wake_bytes = 4096});
  auto log = Logger("app", sink);
  // If a full buffer blocked the caller, this loop would never end (the test times out).
  for (int i = 0; i < kLines; ++i) log->info("line {:05}", i);
  EXPECT_GT(sink->dropped(), 0u);

  std::string text;
  std::thread reader([&] {
    for (int idle = 0; idle < 40;) {
      std::string got = pipe.ReadAvailable(20ms);
      idle = got.empty() ? idle + 1 : 0;
      text += got;
    }
  });
  sink->Drain();
  reader.join();
  std::vector<std::string> lines = Lines(text);
  EXPECT_EQ(lines.size() + sink->dropped(), static_cast<size_t>(kLines));
  EXPECT_EQ(lines.front(), "[app] line 00000");
  for (size_t i = 1; i < lines.size(); ++i) ASSERT_LT(lines[i - 1], lines[i]) << "out of order";
}

}  // namespace
}  // namespace roster::tools
