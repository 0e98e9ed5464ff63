// Failed WAL writes and syncs (tests/storage/fault_env.h): the failing append gets an
// error, every later one kUnavailable, the head never includes the failed group, and the
// log reopened without the fault verifies and holds the acknowledged events.
#include <gtest/gtest.h>
#include <rocksdb/file_system.h>

#include <thread>

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
  void OpenFaulty() {
    fs_ = std::make_shared<FaultInjectionFs>(rocksdb::FileSystem::Default());
    auto r = RocksDbEventStore::Open(
        {.path = dir_.Sub("log"), .clock = &clock_, .env = testing::MakeFaultEnv(fs_)});
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

TEST_F(FaultInjectionTest, AFailedVaultWriteIsAnIoError) {
  OpenFaulty();
  fs_->FailWalAppends();
  auto subject = store_->Vault().SubjectFor(events::Bytes{"k"}, "ann@example.com");
  ASSERT_FALSE(subject.ok());
  EXPECT_EQ(subject.error().code(), ErrorCode::kIoError);
  EXPECT_EQ(store_->PutSnapshot("s", 1, "b").code(), ErrorCode::kIoError);
  // RocksDB now refuses writes too; the next append finds out and the log stops.
  auto append = store_->Append(MakeAppend("account-a", ExpectedVersion::Any()));
  ASSERT_FALSE(append.ok());
  ReopenHealthy();
  EXPECT_TRUE(store_->Verify().ok);
  EXPECT_EQ(store_->GetHead().position, 0u);
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

}  // namespace
}  // namespace roster::storage
