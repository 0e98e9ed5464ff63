// The runner: projector thread, read-your-writes, snapshots and restarts, replays,
// rebuilds, concurrent queries.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "projections/engine.h"
#include "tests/projections/ledger_builder.h"
#include "tests/storage/forwarding_store.h"

namespace roster::projections {
namespace {

using testing::LedgerBuilder;
using namespace std::chrono_literals;
namespace ev = roster::events;

// A small ledger with n members joining and changing roles.
void Populate(LedgerBuilder& b, int n, int offset = 0) {
  for (int i = offset; i < offset + n; ++i) {
    std::string u = "u" + std::to_string(i);
    b.Join("acme", "w1", u, u + "@acme.io", i % 2 ? "editor" : "viewer");
    if (i % 3 == 0) b.Append("acme", ev::RoleChanged{"w1", u, i % 2 ? "editor" : "viewer", "admin"});
    if (i % 7 == 0) b.Append("acme", ev::MemberRemoved{"w1", u, "admin"});
  }
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b_.Account("acme", "Acme", "ana", "ana@acme.io");
    b_.Workspace("acme", "w1", "Spring Catalogue");
  }
  uint64_t Head() { return b_.store().GetHead().position; }
  Digests FullRebuildDigests() {
    Engine fresh(b_.store(), {.snapshots = false});
    EXPECT_TRUE(fresh.CatchUp().ok());
    return fresh.digests();
  }
  LedgerBuilder b_;
};

// WhenApplied: answered at once for an applied position, from the projector once a later
// one is applied (and the view shows it then), false after its timeout, and every
// callback answered by Stop().
TEST_F(EngineTest, WhenAppliedAnswersWithoutAWaitingThread) {
  Populate(b_, 5);
  Engine engine(b_.store(), {.snapshots = false, .poll = 20ms});
  ASSERT_TRUE(engine.Start().ok());
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));

  std::optional<bool> now;
  engine.WhenApplied(Head(), 1s, [&](bool ok) { now = ok; });
  ASSERT_TRUE(now.has_value());
  EXPECT_TRUE(*now);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, bool>> answers;
  std::vector<bool> saw_member(20, false);
  for (int i = 0; i < 20; ++i) {
    std::string u = "late" + std::to_string(i);
    uint64_t p = b_.Join("acme", "w1", u, u + "@acme.io", "editor");
    engine.WhenApplied(p, 5s, [&, i, u](bool ok) {
      bool visible = engine.Check(u, "products.edit", "w1").allowed;
      std::lock_guard lock(mu);
      answers.emplace_back(i, ok);
      saw_member[i] = visible;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return answers.size() == 20; }));
  }
  for (auto [i, ok] : answers) {
    EXPECT_TRUE(ok) << i;
    EXPECT_TRUE(saw_member[i]) << i;
  }

  // A position nobody appends: false once its timeout passes.
  std::atomic<int> timed_out{-1};
  auto asked = std::chrono::steady_clock::now();
  engine.WhenApplied(Head() + 1, 50ms, [&](bool ok) { timed_out = ok ? 1 : 0; });
  while (timed_out.load() < 0 && std::chrono::steady_clock::now() - asked < 5s) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(timed_out.load(), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - asked, 50ms);

  // Stop answers what is still waiting; a stopped engine answers at once.
  std::atomic<int> at_stop{-1};
  engine.WhenApplied(Head() + 1, 1h, [&](bool ok) { at_stop = ok ? 1 : 0; });
  EXPECT_EQ(at_stop.load(), -1);
  engine.Stop();
  EXPECT_EQ(at_stop.load(), 0);
  std::optional<bool> stopped;
  engine.WhenApplied(Head() + 1, 1h, [&](bool ok) { stopped = ok; });
  ASSERT_TRUE(stopped.has_value());
  EXPECT_FALSE(*stopped);
}

TEST_F(EngineTest, ProjectorThreadGivesReadYourWrites) {
  Populate(b_, 20);
  Engine engine(b_.store(), {.snapshots = false});
  ASSERT_TRUE(engine.Start().ok());
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  EXPECT_TRUE(engine.Ready());
  for (int i = 0; i < 50; ++i) {
    std::string u = "late" + std::to_string(i);
    uint64_t p = b_.Join("acme", "w1", u, u + "@acme.io", "editor");
    ASSERT_TRUE(engine.WaitFor(p, 5s));
    Decision d = engine.Check(u, "products.edit", "w1");
    EXPECT_TRUE(d.allowed);
    EXPECT_GE(d.position, p);
  }
  EXPECT_FALSE(engine.WaitFor(Head() + 1, 10ms));
  engine.Stop();
  engine.Stop();  // idempotent
}

TEST_F(EngineTest, SnapshotAtStopAndRestartResumesFromIt) {
  Populate(b_, 100);
  uint64_t first_head = Head();
  {
    Engine engine(b_.store());
    ASSERT_TRUE(engine.Start().ok());
    ASSERT_TRUE(engine.WaitFor(first_head, 5s));
    engine.Stop();
    EXPECT_EQ(engine.stats().snapshots_written, 1u);
    EXPECT_EQ(engine.stats().last_snapshot_position, first_head);
  }
  uint64_t snap_position = 0;
  ASSERT_TRUE(b_.store().GetSnapshot("projections", &snap_position));
  EXPECT_EQ(snap_position, first_head);

  Populate(b_, 30, 100);  // appended while the engine is down
  Engine restarted(b_.store());
  ASSERT_TRUE(restarted.Start().ok());
  EXPECT_EQ(restarted.stats().snapshot_loaded_at, first_head);
  EXPECT_EQ(restarted.stats().last_snapshot_position, first_head);
  ASSERT_TRUE(restarted.WaitFor(Head(), 5s));
  // No full replay: only the events after the checkpoint were applied.
  EXPECT_EQ(restarted.stats().events_applied, Head() - first_head);
  EXPECT_LT(restarted.stats().events_applied, Head());
  EXPECT_EQ(restarted.digests(), FullRebuildDigests());
  EXPECT_TRUE(restarted.Check("u101", "products.edit", "w1").allowed);
  // And it keeps following the live log.
  uint64_t p = b_.Join("acme", "w1", "zed", "zed@acme.io", "viewer");
  ASSERT_TRUE(restarted.WaitFor(p, 5s));
  EXPECT_TRUE(restarted.Check("zed", "content.view", "w1").allowed);
}

TEST_F(EngineTest, PeriodicSnapshotsByEventCount) {
  Engine engine(b_.store(), {.snapshot_every_events = 50});
  ASSERT_TRUE(engine.Start().ok());
  Populate(b_, 120);
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  // The projector thread snapshots after each chunk once 50 events have accumulated.
  for (int i = 0; i < 100 && engine.stats().snapshots_written == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(engine.stats().snapshots_written, 1u);
  uint64_t snap_position = 0;
  EXPECT_TRUE(b_.store().GetSnapshot("projections", &snap_position));
  EXPECT_GE(snap_position, 50u);
}

// Serializing stops the projector thread, and with it every command waiting to see its own
// events, so a due snapshot waits for a pause in the log (one poll without events) —
// unless events keep coming until it is snapshot_busy_factor times overdue. The poll is
// long (3 s) so only a stall of the test thread that long could fake a pause; every wait
// below is an upper bound, never a sleep the outcome depends on.
TEST_F(EngineTest, ADueSnapshotWaitsForAPauseUnlessFarOverdue) {
  Engine engine(b_.store(), {.snapshot_every_events = 50, .snapshot_busy_factor = 4, .poll = 3s});
  ASSERT_TRUE(engine.Start().ok());
  auto wait_for_snapshots = [&](uint64_t n, std::chrono::milliseconds limit) {
    for (auto waited = 0ms; engine.stats().snapshots_written < n && waited < limit; waited += 10ms) {
      std::this_thread::sleep_for(10ms);
    }
    return engine.stats().snapshots_written;
  };
  Populate(b_, 100);  // ~150 events without a pause: due since 50, not yet 4 x 50
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  // A busy snapshot would follow the apply at once; none may come before the pause ends.
  EXPECT_EQ(wait_for_snapshots(1, 300ms), 0u) << "written while events were flowing";
  EXPECT_EQ(wait_for_snapshots(1, 10s), 1u) << "not written after a pause";
  uint64_t snap_position = 0;
  ASSERT_TRUE(b_.store().GetSnapshot("projections", &snap_position));
  EXPECT_EQ(snap_position, Head());

  Populate(b_, 200, 100);  // ~300 more without a pause: past 4 x 50, written anyway
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  // Sooner than the next pause (3 s) could bring it.
  EXPECT_EQ(wait_for_snapshots(2, 2500ms), 2u) << "not written when far overdue";
}

// The store of `inner`, except that PutSnapshot waits until Release(): a slow disk.
class HeldSnapshotStore final : public storage::testing::ForwardingEventStore {
 public:
  using ForwardingEventStore::ForwardingEventStore;
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int puts_started() {
    std::lock_guard lock(mu_);
    return puts_started_;
  }
  Status PutSnapshot(const std::string& name, uint64_t position,
                     std::string_view bytes) override {
    std::unique_lock lock(mu_);
    ++puts_started_;
    cv_.wait(lock, [&] { return released_; });
    return inner_.PutSnapshot(name, position, bytes);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int puts_started_ = 0;
};

// A due snapshot stops the projector only while the state is serialized; its bytes are
// checksummed and stored on a thread of their own, so a slow store never holds the
// projector (and every command waiting to see its events). One write at a time; Stop()
// waits for it.
TEST_F(EngineTest, ASnapshotIsStoredOffTheProjectorThread) {
  HeldSnapshotStore held(b_.store());
  Engine engine(held, {.snapshot_every_events = 50, .poll = 50ms});
  ASSERT_TRUE(engine.Start().ok());
  Populate(b_, 60);
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  for (int i = 0; i < 500 && held.puts_started() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(held.puts_started(), 1) << "no snapshot became due";
  // The write is held; the projector goes on applying, with more snapshots due meanwhile.
  Populate(b_, 120, 60);
  EXPECT_TRUE(engine.WaitFor(Head(), 5s)) << "the projector waited for the store";
  std::this_thread::sleep_for(200ms);  // pauses in the log: a second snapshot would be due
  EXPECT_EQ(held.puts_started(), 1) << "a second write started before the first ended";
  EXPECT_EQ(engine.stats().snapshots_written, 0u);
  EXPECT_GT(engine.stats().last_snapshot_seconds, 0.0);  // the serialization, timed

  held.Release();
  engine.Stop();  // waits for the held write, then writes the final snapshot
  EXPECT_EQ(engine.stats().snapshots_written, 2u);
  uint64_t position = 0;
  ASSERT_TRUE(b_.store().GetSnapshot("projections", &position));
  EXPECT_EQ(position, Head());
}

// Every snapshot's time and size are in stats() (rosterd's /metrics); one slower than
// slow_snapshot is logged with its position, so a latency spike can be matched to it.
TEST_F(EngineTest, SnapshotsAreTimedAndSlowOnesLogged) {
  Populate(b_, 20);
  std::vector<std::string> logged;
  Engine engine(b_.store(), {.slow_snapshot = 0ms,
                             .log = [&](std::string_view m) { logged.emplace_back(m); }});
  ASSERT_TRUE(engine.Start().ok());
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  ASSERT_TRUE(engine.SaveSnapshot().ok());
  EngineStats stats = engine.stats();
  EXPECT_GT(stats.last_snapshot_bytes, 0u);
  EXPECT_GT(stats.snapshot_seconds_total, 0.0);
  EXPECT_EQ(stats.snapshot_seconds_total, stats.last_snapshot_seconds);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].rfind("snapshot at position " + std::to_string(Head()) + " (0 MiB) took ", 0),
            0u)
      << logged[0];
}

TEST_F(EngineTest, UndecodableSnapshotIsLoggedAndStateRebuiltFromZero) {
  Populate(b_, 30);
  ASSERT_TRUE(b_.store().PutSnapshot("projections", 5, "definitely not a snapshot").ok());
  std::vector<std::string> logs;
  std::mutex logs_mu;
  Engine engine(b_.store(), {.log = [&](std::string_view m) {
                               std::lock_guard l(logs_mu);
                               logs.emplace_back(m);
                             }});
  ASSERT_TRUE(engine.Start().ok());
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  EXPECT_EQ(engine.stats().snapshot_loaded_at, 0u);
  EXPECT_EQ(engine.stats().events_applied, Head());
  {
    std::lock_guard l(logs_mu);
    ASSERT_FALSE(logs.empty());
    EXPECT_NE(logs[0].find("rebuilding from zero"), std::string::npos);
  }
  EXPECT_EQ(engine.digests(), FullRebuildDigests());

  // A flipped byte anywhere fails the checksum.
  engine.Stop();
  uint64_t pos = 0;
  std::string bytes = *b_.store().GetSnapshot("projections", &pos);
  bytes[bytes.size() / 2] ^= 0x40;
  EXPECT_FALSE(State::Deserialize(bytes).ok());
  EXPECT_FALSE(State::Deserialize(bytes.substr(0, 10)).ok());
}

TEST_F(EngineTest, SnapshotBeyondTheHeadIsIgnored) {
  Populate(b_, 10);
  {
    Engine engine(b_.store());
    ASSERT_TRUE(engine.CatchUp().ok());
    ASSERT_TRUE(engine.SaveSnapshot().ok());
  }
  uint64_t pos = 0;
  std::string bytes = *b_.store().GetSnapshot("projections", &pos);
  ASSERT_TRUE(b_.store().PutSnapshot("projections", Head() + 100, bytes).ok());
  std::atomic<int> logged{0};
  Engine engine(b_.store(), {.log = [&](std::string_view) { ++logged; }});
  ASSERT_TRUE(engine.Start().ok());
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  EXPECT_EQ(engine.stats().snapshot_loaded_at, 0u);
  EXPECT_EQ(engine.stats().events_applied, Head());
  EXPECT_GE(logged.load(), 1);
}

TEST_F(EngineTest, ReplayUntilEqualsTheLiveStateAtThatPosition) {
  Engine live(b_.store(), {.snapshots = false});
  std::vector<std::pair<uint64_t, Digests>> seen;
  for (int round = 0; round < 5; ++round) {
    Populate(b_, 7, round * 7);
    ASSERT_TRUE(live.CatchUp().ok());
    seen.emplace_back(live.position(), live.digests());
  }
  for (const auto& [p, digests] : seen) {
    auto replay = Engine::ReplayUntil(b_.store(), p);
    ASSERT_TRUE(replay.ok());
    EXPECT_EQ((*replay)->position(), p);
    EXPECT_EQ((*replay)->digests(), digests) << "at " << p;
    Micros t = testing::kStart + static_cast<Micros>(p) * kMicrosPerSecond;
    auto by_time = Engine::ReplayUntilTime(b_.store(), t + 500'000);
    ASSERT_TRUE(by_time.ok());
    EXPECT_EQ((*by_time)->position(), p);
    EXPECT_EQ((*by_time)->digests(), digests);
  }
  // Clamped to the head; an empty replay before the first event.
  EXPECT_EQ((*Engine::ReplayUntil(b_.store(), Head() + 50))->position(), Head());
  EXPECT_EQ((*Engine::ReplayUntilTime(b_.store(), testing::kStart))->position(), 0u);
  // A replay is read-only: it writes no snapshots.
  EXPECT_FALSE((*Engine::ReplayUntil(b_.store(), 3))->SaveSnapshot().ok());
  // Its audit stops at its position.
  auto replay = std::move(Engine::ReplayUntil(b_.store(), 4)).value();
  auto page = replay->Audit({});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->entries.size(), 4u);
}

TEST_F(EngineTest, RebuildFromZeroWhileRunningGivesTheSameDigests) {
  Populate(b_, 60);
  Engine engine(b_.store(), {.snapshots = false});
  ASSERT_TRUE(engine.Start().ok());
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  Digests before = engine.digests();
  Decision kept = engine.Check("u1", "products.edit", "w1");
  ASSERT_TRUE(kept.allowed);
  ASSERT_TRUE(engine.RebuildFromZero().ok());
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));
  EXPECT_EQ(engine.digests(), before);
  EXPECT_EQ(engine.stats().rebuilds, 1u);
  // Views handed out before the rebuild are still valid (the old state is retired).
  EXPECT_EQ(kept.reason->role, "editor");
  engine.Stop();
  ASSERT_TRUE(engine.RebuildFromZero().ok());  // not running: rebuilds synchronously
  EXPECT_EQ(engine.digests(), before);
}

// The pipelined catch-up (reader thread, chunks moved across, several events per lock
// hold, spent chunks recycled) must apply exactly what event-by-event applying does, for
// chunk sizes that do and do not divide the range, and with a reader far ahead.
TEST_F(EngineTest, PipelinedCatchUpEqualsEventByEvent) {
  Populate(b_, 120);
  Digests expected = FullRebuildDigests();  // below pipeline_min_events: not pipelined
  struct Shape {
    size_t read_batch, depth;
  };
  for (Shape shape : {Shape{1, 1}, Shape{7, 2}, Shape{16, 1}, Shape{33, 8}, Shape{1000, 4}}) {
    SCOPED_TRACE("read_batch " + std::to_string(shape.read_batch));
    Engine engine(b_.store(), {.snapshots = false,
                               .read_batch = shape.read_batch,
                               .pipeline_min_events = 1,
                               .pipeline_depth = shape.depth});
    ASSERT_TRUE(engine.CatchUp().ok());
    EXPECT_EQ(engine.position(), Head());
    EXPECT_EQ(engine.stats().events_applied, Head());
    EXPECT_EQ(engine.digests(), expected);
    ASSERT_TRUE(engine.RebuildFromZero().ok());
    EXPECT_EQ(engine.digests(), expected);
  }
}

TEST_F(EngineTest, QueriesRunConcurrentlyWithApplying) {
  Engine engine(b_.store(), {.snapshots = false, .apply_batch = 8});
  ASSERT_TRUE(engine.Start().ok());
  ASSERT_TRUE(engine.WaitFor(Head(), 5s));  // w1 exists before the readers ask about it
  std::atomic<bool> done{false};
  std::atomic<uint64_t> queries{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        Decision d = engine.Check("u1", "products.edit", "w1");
        (void)d;
        auto m = engine.Members("w1");
        EXPECT_TRUE(m.ok());
        auto a = engine.Audit({.workspace = "w1"}, {.limit = 10});
        EXPECT_TRUE(a.ok());
        ++queries;
      }
    });
  }
  Populate(b_, 200);
  ASSERT_TRUE(engine.WaitFor(Head(), 10s));
  // Both readers may not have been scheduled yet on a loaded machine: wait for a query.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (queries.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(queries.load(), 0u);
  EXPECT_EQ(engine.digests(), FullRebuildDigests());
}

TEST_F(EngineTest, StopsPromptlyWhenTheStoreIsShutDown) {
  Engine engine(b_.store(), {.snapshots = false});
  ASSERT_TRUE(engine.Start().ok());
  b_.store().Shutdown();
  std::this_thread::sleep_for(50ms);  // the thread must not spin meanwhile
  auto start = std::chrono::steady_clock::now();
  engine.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace roster::projections
