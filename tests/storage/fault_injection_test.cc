// Failed WAL writes and syncs (tests/storage/fault_env.h): the failing append gets an
// error, every later one kUnavailable, the head never includes the failed group, and the
// log reopened without the fault verifies and holds the acknowledged events.
#include <gtest/gtest.h>
#include <rocksdb/file_system.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "storage/rocksdb_store.h"
#include "tests/storage/fault_env.h"
#include "tests/storage/test_util.h"

namespace roster::storage {
namespace {

using testing::FaultInjectionFs;
using testing::MakeAppend;
using testing::TempDir;

class FaultInjectionTest : public ::testing::Test {
 protected:
  void OpenFaulty(RocksDbOptions options = {}) {
    fs_ = std::make_shared<FaultInjectionFs>(rocksdb::FileSystem::Default());
    options.path = dir_.Sub("log");
    options.clock = &clock_;
    options.env = testing::MakeFaultEnv(fs_);
    auto r = RocksDbEventStore::Open(options);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    store_ = std::move(r).value();
  }
  void ReopenHealthy() {
    store_.reset();
    auto r = RocksDbEventStore::Open({.path = dir_.Sub("log"), .clock = &clock_});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    store_ = std::move(r).value();
  }
  // Appends n events to `stream` (one per append), remembering each acknowledged hash.
  void AppendAcknowledged(const std::string& stream, int n) {
    for (int i = 0; i < n; ++i) {
      auto r = store_->Append(MakeAppend(stream, ExpectedVersion::Any(), 1, acked_.size()));
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      ASSERT_EQ(r->first_position, acked_.size() + 1);
      acked_.push_back(store_->Read(r->first_position)->envelope.hash);
    }
  }
  // Every acknowledged event is present with its hash, and the chain verifies.
  void ExpectAcknowledgedIntact() {
    for (size_t i = 0; i < acked_.size(); ++i) {
      auto e = store_->Read(i + 1);
      ASSERT_TRUE(e.ok()) << e.error().ToString();
      EXPECT_EQ(e->envelope.hash, acked_[i]) << "position " << i + 1;
    }
    auto report = store_->Verify();
    EXPECT_TRUE(report.ok) << report.problem;
  }
  // Waits until chunks through `position` are written to RocksDB (their sync may be held).
  bool WaitForWritten(uint64_t position) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (store_->WrittenPositionForTest() < position) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  void ExpectRefusingWrites() {
    auto later = store_->Append(MakeAppend("account-a", ExpectedVersion::Any()));
    ASSERT_FALSE(later.ok());
    EXPECT_EQ(later.error().code(), ErrorCode::kUnavailable);
    EXPECT_NE(
        later.error().message().find("the log refused writes after a failed sync at position " +
                                     std::to_string(acked_.size() + 1)),
        std::string::npos)
        << later.error().message();
    EXPECT_NE(later.error().message().find("restart rosterd"), std::string::npos);
  }

  TempDir dir_;
  ManualClock clock_;
  std::shared_ptr<FaultInjectionFs> fs_;
  std::unique_ptr<RocksDbEventStore> store_;
  std::vector<Hash256> acked_;
};

TEST_F(FaultInjectionTest, AFailedSyncThatLostTheDataLeavesExactlyTheAcknowledgedEvents) {
  OpenFaulty();
  AppendAcknowledged("account-a", 5);
  const Head head = store_->GetHead();
  fs_->FailWalSyncs(FaultInjectionFs::SyncFailure::kDropUnsynced);
  auto failed = store_->Append(MakeAppend("account-a", ExpectedVersion::Any()));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kIoError) << failed.error().ToString();
  EXPECT_GT(fs_->injected_failures(), 0u);
  EXPECT_EQ(store_->GetHead(), head);  // the failed group never became the head
  EXPECT_EQ(store_->StreamVersion("account-a"), 5u);
  ExpectRefusingWrites();
  fs_->Clear();
  ExpectRefusingWrites();  // still refused: only a restart clears it

  ReopenHealthy();
  EXPECT_EQ(store_->GetHead(), head);
  ExpectAcknowledgedIntact();
  AppendAcknowledged("account-a", 1);  // and it goes on from there
  ExpectAcknowledgedIntact();
}

TEST_F(FaultInjectionTest, AFailedWalWriteLeavesExactlyTheAcknowledgedEvents) {
  OpenFaulty();
  AppendAcknowledged("account-a", 3);
  AppendAcknowledged("account-b", 2);
  const Head head = store_->GetHead();
  fs_->FailWalAppends();
  auto failed = store_->Append(MakeAppend("account-b", ExpectedVersion::Exact(2)));
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.error().code() == ErrorCode::kIoError ||
              failed.error().code() == ErrorCode::kUnavailable);
  EXPECT_EQ(store_->GetHead(), head);
  ExpectRefusingWrites();
  // Reads keep working on what was committed.
  EXPECT_EQ(store_->ReadStream("account-b", 1, 10)->size(), 2u);

  ReopenHealthy();
  EXPECT_EQ(store_->GetHead(), head);
  EXPECT_EQ(store_->StreamVersion("account-b"), 2u);
  ExpectAcknowledgedIntact();
}

TEST_F(FaultInjectionTest, AFailedSyncThatKeptTheDataMayOnlyAddTheFailedGroup) {
  // The kernel kept the written pages although fsync failed: after a restart the failed
  // group may be there too. That is why a failed append reports "outcome unknown" and the
  // caller retries with its idempotency key. Nothing else may appear, and the chain holds.
  OpenFaulty();
  AppendAcknowledged("account-a", 4);
  const Head head = store_->GetHead();
  fs_->FailWalSyncs(FaultInjectionFs::SyncFailure::kKeepData);
  AppendRequest unknown = MakeAppend("account-z", ExpectedVersion::NoStream(), 2, 777);
  unknown.idempotency_key = "retry-me";
  auto failed = store_->Append(unknown);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("outcome of this append is unknown"), std::string::npos);
  EXPECT_EQ(store_->GetHead(), head);
  ExpectRefusingWrites();

  ReopenHealthy();
  ExpectAcknowledgedIntact();
  const uint64_t after = store_->GetHead().position;
  EXPECT_TRUE(after == head.position || after == head.position + 2) << after;
  // The caller's retry settles it either way: exactly one copy of the append.
  auto retry = store_->Append(unknown);
  ASSERT_TRUE(retry.ok()) << retry.error().ToString();
  EXPECT_EQ(retry->deduplicated, after == head.position + 2);
  EXPECT_EQ(retry->first_position, head.position + 1);
  EXPECT_EQ(store_->StreamVersion("account-z"), 2u);
  EXPECT_TRUE(store_->Verify().ok);
}

TEST_F(FaultInjectionTest, EveryAppendOfTheFailedGroupHearsOfTheFailure) {
  OpenFaulty();
  AppendAcknowledged("account-a", 2);
  store_->PauseWriterForTest(true);
  std::vector<std::optional<Result<AppendResult>>> results(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          store_->Append(MakeAppend("account-" + std::to_string(i), ExpectedVersion::Any()));
    });
  }
  while (store_->QueuedAppendsForTest() < 3) std::this_thread::yield();
  fs_->FailWalSyncs(FaultInjectionFs::SyncFailure::kDropUnsynced);
  store_->PauseWriterForTest(false);
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->error().code(), ErrorCode::kIoError);
    EXPECT_NE(r->error().message().find("positions 3..5"), std::string::npos)
        << r->error().message();
  }
  EXPECT_EQ(store_->GetHead().position, 2u);
  EXPECT_EQ(store_->GetWriterStats().groups, 2u);  // the two acknowledged ones only
  ReopenHealthy();
  EXPECT_EQ(store_->GetHead().position, 2u);
  ExpectAcknowledgedIntact();
}

TEST_F(FaultInjectionTest, AsyncAppendsOfAFailedGroupHearOfTheFailureAndLaterOnesAreRefused) {
  OpenFaulty();
  AppendAcknowledged("account-a", 2);
  store_->PauseWriterForTest(true);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Result<AppendResult>>> results(3);
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    store_->AppendAsync(MakeAppend("account-" + std::to_string(i), ExpectedVersion::Any()),
                        [&, i](Result<AppendResult> r) {
                          std::lock_guard lock(mu);
                          results[i] = std::move(r);
                          ++answered;
                          cv.notify_all();
                        });
  }
  EXPECT_EQ(store_->QueuedAppendsForTest(), 3u);
  fs_->FailWalSyncs(FaultInjectionFs::SyncFailure::kDropUnsynced);
  store_->PauseWriterForTest(false);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return answered == 3; });
  }
  for (const auto& r : results) {
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->error().code(), ErrorCode::kIoError);
    EXPECT_NE(r->error().message().find("positions 3..5"), std::string::npos)
        << r->error().message();
  }
  // Refused on the calling thread from now on.
  std::optional<Result<AppendResult>> later;
  store_->AppendAsync(MakeAppend("account-a", ExpectedVersion::Any()),
                      [&](Result<AppendResult> r) { later = std::move(r); });
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(store_->GetHead().position, 2u);
  ReopenHealthy();
  EXPECT_EQ(store_->GetHead().position, 2u);
  ExpectAcknowledgedIntact();
}

// While a group's sync is in flight the next group is sealed on top of it, but nothing of
// the syncing group is visible to readers, and answers come in commit order.
TEST_F(FaultInjectionTest, WhileAGroupSyncsTheNextIsSealedOnTopOfItAndReadersSeeNeither) {
  OpenFaulty();
  AppendAcknowledged("account-a", 2);
  fs_->HoldWalSyncs();
  AppendRequest first = MakeAppend("account-a", ExpectedVersion::Exact(2), 1, 50);
  first.idempotency_key = "key-1";
  first.idempotency_fingerprint = "fp-1";
  std::optional<Result<AppendResult>> first_result, repeat_result, next_result;
  std::thread t1([&] { first_result = store_->Append(first); });
  ASSERT_TRUE(fs_->WaitForHeldSyncs(1));  // the first group is in its sync
  std::thread t2([&] { repeat_result = store_->Append(first); });
  std::thread t3([&] {
    next_result = store_->Append(MakeAppend("account-a", ExpectedVersion::Exact(3), 1, 60));
  });
  const bool sealed_on_top = WaitForWritten(4);  // t3's event, written while t1's syncs
  // Nothing of the syncing group is visible yet.
  EXPECT_EQ(store_->GetHead().position, 2u);
  EXPECT_EQ(store_->Read(3).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ReadStream("account-a", 1, 10)->size(), 2u);
  EXPECT_EQ(store_->StreamVersion("account-a"), 2u);
  EXPECT_FALSE(first_result.has_value());
  fs_->ReleaseWalSyncs();
  t1.join();
  t2.join();
  t3.join();
  ASSERT_TRUE(sealed_on_top);
  ASSERT_TRUE(first_result->ok()) << first_result->error().ToString();
  EXPECT_EQ((*first_result)->first_position, 3u);
  EXPECT_FALSE((*first_result)->deduplicated);
  // The repeat was sealed while its original synced: deduplicated against it.
  ASSERT_TRUE(repeat_result->ok()) << repeat_result->error().ToString();
  EXPECT_TRUE((*repeat_result)->deduplicated);
  EXPECT_EQ((*repeat_result)->first_position, 3u);
  EXPECT_EQ((*repeat_result)->idempotency_fingerprint, "fp-1");
  // Expecting the version the syncing group makes: accepted on top of it.
  ASSERT_TRUE(next_result->ok()) << next_result->error().ToString();
  EXPECT_EQ((*next_result)->first_position, 4u);
  EXPECT_EQ((*next_result)->stream_version, 4u);
  EXPECT_EQ(store_->GetHead().position, 4u);
  EXPECT_TRUE(store_->Verify().ok);
}

// RocksDB holds a chunk as soon as it is written, before its sync; no read may see it
// until the sync is done and it is published: not by position, stream, version, scan or
// idempotency key, also for a stream and a key this store has never seen before.
TEST_F(FaultInjectionTest, AWrittenChunkIsInvisibleUntilItsSyncIsDone) {
  OpenFaulty();
  fs_->HoldWalSyncs();
  AppendRequest req = MakeAppend("account-new", ExpectedVersion::NoStream(), 2, 50);
  req.idempotency_key = "key-new";
  req.idempotency_fingerprint = "fp";
  std::optional<Result<AppendResult>> result;
  std::thread t([&] { result = store_->Append(req); });
  ASSERT_TRUE(fs_->WaitForHeldSyncs(1));  // written, syncing
  EXPECT_EQ(store_->WrittenPositionForTest(), 2u);
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(store_->GetHead().position, 0u);
  EXPECT_EQ(store_->StreamVersion("account-new"), 0u);
  EXPECT_EQ(store_->Read(1).status().code(), ErrorCode::kNotFound);
  auto stream = store_->ReadStream("account-new", 1, 10);
  ASSERT_TRUE(stream.ok());
  EXPECT_TRUE(stream->empty());
  auto key = store_->FindIdempotencyKey("key-new");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
  size_t scanned = 0;
  ASSERT_TRUE(store_->Scan(1, 0, [&](const events::RecordedEvent&) { return ++scanned, true; }).ok());
  EXPECT_EQ(scanned, 0u);
  fs_->ReleaseWalSyncs();
  t.join();
  ASSERT_TRUE(result->ok()) << result->error().ToString();
  EXPECT_EQ(store_->GetHead().position, 2u);
  EXPECT_EQ(store_->StreamVersion("account-new"), 2u);
  EXPECT_EQ(store_->ReadStream("account-new", 1, 10)->size(), 2u);
  key = store_->FindIdempotencyKey("key-new");
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_EQ((*key)->last_position, 2u);
}

// Appends that arrive one by one while a group syncs all join the next group: it keeps
// growing until the committing thread takes it, instead of being cut at the first
// arrival (which split them into a group of one and a group of the rest).
TEST_F(FaultInjectionTest, AppendsArrivingDuringASyncAllJoinTheNextGroup) {
  OpenFaulty();
  AppendAcknowledged("account-a", 1);
  const WriterStats before = store_->GetWriterStats();
  fs_->HoldWalSyncs();
  std::vector<std::thread> threads;
  std::vector<std::optional<Result<AppendResult>>> results(9);
  threads.emplace_back([&] {
    results[0] = store_->Append(MakeAppend("account-a", ExpectedVersion::Any(), 1, 50));
  });
  ASSERT_TRUE(fs_->WaitForHeldSyncs(1));  // the first group syncs
  for (int i = 1; i <= 8; ++i) {
    threads.emplace_back([&, i] {
      results[i] = store_->Append(
          MakeAppend("account-" + std::to_string(i), ExpectedVersion::NoStream(), 1, 50 + i));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const bool all_written = WaitForWritten(10);  // every arrival sealed and written
  fs_->ReleaseWalSyncs();
  for (auto& t : threads) t.join();
  ASSERT_TRUE(all_written);
  for (auto& r : results) ASSERT_TRUE(r->ok()) << r->error().ToString();
  const WriterStats after = store_->GetWriterStats();
  EXPECT_EQ(after.groups - before.groups, 2u);
  EXPECT_EQ(after.appends - before.appends, 9u);
  EXPECT_EQ(after.max_group_appends, 8u);
  EXPECT_EQ(store_->GetHead().position, 10u);
  EXPECT_TRUE(store_->Verify().ok);
}

// A failed sync fails the group sealed on top of it too, and nothing of either survives
// when the device dropped the unsynced writes.
TEST_F(FaultInjectionTest, TheGroupSealedOnTopOfAFailedSyncFailsToo) {
  OpenFaulty();
  AppendAcknowledged("account-a", 2);
  fs_->HoldWalSyncs();
  fs_->FailWalSyncs(FaultInjectionFs::SyncFailure::kDropUnsynced);
  std::optional<Result<AppendResult>> first_result, next_result;
  std::thread t1([&] {
    first_result = store_->Append(MakeAppend("account-a", ExpectedVersion::Exact(2), 1, 50));
  });
  ASSERT_TRUE(fs_->WaitForHeldSyncs(1));  // the first group syncs
  std::thread t2([&] {
    next_result = store_->Append(MakeAppend("account-a", ExpectedVersion::Exact(3), 1, 60));
  });
  const bool sealed_on_top = WaitForWritten(4);
  fs_->ReleaseWalSyncs();
  t1.join();
  t2.join();
  ASSERT_TRUE(sealed_on_top);
  ASSERT_FALSE(first_result->ok());
  EXPECT_EQ(first_result->error().code(), ErrorCode::kIoError);
  ASSERT_FALSE(next_result->ok());
  EXPECT_TRUE(next_result->error().code() == ErrorCode::kUnavailable ||
              next_result->error().code() == ErrorCode::kIoError)
      << next_result->error().ToString();
  EXPECT_EQ(store_->GetHead().position, 2u);
  ReopenHealthy();
  EXPECT_EQ(store_->GetHead().position, 2u);
  ExpectAcknowledgedIntact();
}

TEST_F(FaultInjectionTest, AFailedWriteOfTheChunkCarryingANewSubjectStopsTheLog) {
  OpenFaulty();
  fs_->FailWalAppends();
  // A new subject has no write of its own: it waits for the next chunk of appends.
  auto subject = store_->Vault().SubjectFor(events::Bytes{"k"}, "ann@example.com");
  ASSERT_TRUE(subject.ok()) << subject.error().ToString();
  // Snapshots are files of their own (storage/snapshot_file.h): the failing WAL does not
  // touch them.
  EXPECT_TRUE(store_->PutSnapshot("s", 1, "b").ok());
  // The append that carries it fails, the log stops, and no subject is handed out after.
  auto append = store_->Append(MakeAppend("account-a", ExpectedVersion::Any()));
  ASSERT_FALSE(append.ok());
  auto later = store_->Vault().SubjectFor(events::Bytes{"k2"}, "bo@example.com");
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code(), ErrorCode::kUnavailable);
  ReopenHealthy();
  EXPECT_TRUE(store_->Verify().ok);
  EXPECT_EQ(store_->GetHead().position, 0u);
  EXPECT_FALSE(store_->Vault().Lookup(*subject).has_value());
}

TEST_F(FaultInjectionTest, AVaultSubjectIsNotSyncedByItselfButByTheAppendThatFollows) {
  OpenFaulty();
  AppendAcknowledged("account-a", 1);
  // The vault write does not sync (it succeeds while syncs fail) ...
  fs_->FailWalSyncs(FaultInjectionFs::SyncFailure::kDropUnsynced);
  auto subject = store_->Vault().SubjectFor(events::Bytes{"k"}, "ann@example.com");
  ASSERT_TRUE(subject.ok()) << subject.error().ToString();
  // ... the append that would reference it does, fails, and stops the log, so no
  // acknowledged event names the lost subject, and no new subject is handed out.
  ASSERT_FALSE(store_->Append(MakeAppend("account-a", ExpectedVersion::Any())).ok());
  auto later = store_->Vault().SubjectFor(events::Bytes{"k2"}, "bo@example.com");
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code(), ErrorCode::kUnavailable);
  ReopenHealthy();
  EXPECT_FALSE(store_->Vault().Lookup(*subject).has_value()) << "dropped with the unsynced WAL";
  ExpectAcknowledgedIntact();
}

// A slow WAL sync is counted and reported (every append of its group waited for it);
// syncs under the threshold are only counted.
TEST_F(FaultInjectionTest, ASlowSyncIsCountedAndReported) {
  std::mutex mu;
  std::vector<std::string> lines;
  RocksDbOptions options;
  // Far above any real sync, even on a loaded CI disk, so only the injected delay counts.
  options.slow_sync = std::chrono::milliseconds(600);
  options.log = [&](std::string_view line) {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
  };
  OpenFaulty(options);
  AppendAcknowledged("account-a", 3);
  WriterStats fast = store_->GetWriterStats();
  EXPECT_GT(fast.sync_nanos, 0u);
  EXPECT_EQ(fast.slow_syncs, 0u);
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(lines.empty());
  }

  fs_->DelayWalSyncs(std::chrono::milliseconds(700));
  auto slow = store_->Append(MakeAppend("account-a", ExpectedVersion::Exact(3)));
  ASSERT_TRUE(slow.ok()) << slow.error().ToString();
  fs_->DelayWalSyncs(std::chrono::milliseconds(0));
  WriterStats after = store_->GetWriterStats();
  EXPECT_EQ(after.slow_syncs, 1u);
  EXPECT_GE(after.max_sync_nanos, 700'000'000u);
  std::lock_guard lock(mu);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("WAL sync took"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("1 appends at positions 4..4"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace roster::storage
