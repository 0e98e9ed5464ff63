// RocksDbEventStore beyond the shared contract: restarts, read-only opens, group commit,
// concurrent appenders, and damage found on disk.
#include "storage/rocksdb_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "events/codec.h"
#include "storage/rocksdb_keys.h"
#include "storage/verify.h"
#include "tests/storage/test_util.h"

namespace roster::storage {
namespace {

using testing::MakeAppend;
using testing::TempDir;

std::unique_ptr<RocksDbEventStore> MustOpen(const RocksDbOptions& options) {
  auto opened = RocksDbEventStore::Open(options);
  if (!opened.ok()) {
    ADD_FAILURE() << opened.error().ToString();
    return nullptr;
  }
  return std::move(opened).value();
}

AppendResult MustAppend(EventStore& store, AppendRequest r) {
  auto result = store.Append(std::move(r));
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : AppendResult{};
}

// Opens the store's directory with plain RocksDB, to inspect or damage raw records the
// way an operator's tool or a failing disk would.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
    for (size_t i = 0; i < names.size(); ++i) cfs_[names[i]] = handles[i];
  }
  ~RawDb() {
    for (auto& [name, h] : cfs_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
  std::string Get(const std::string& cf, const std::string& key) {
    std::string value;
    EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), cfs_.at(cf), key, &value).ok()) << cf;
    return value;
  }
  void Put(const std::string& cf, const std::string& key, const std::string& value) {
    EXPECT_TRUE(db_->Put(rocksdb::WriteOptions(), cfs_.at(cf), key, value).ok());
  }
  void Delete(const std::string& cf, const std::string& key) {
    EXPECT_TRUE(db_->Delete(rocksdb::WriteOptions(), cfs_.at(cf), key).ok());
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> cfs_;
};

class RocksDbStoreTest : public ::testing::Test {
 protected:
  RocksDbOptions Options() { return RocksDbOptions{.path = dir_.Sub("log"), .clock = &clock_}; }
  void Open() {
    store_ = MustOpen(Options());
    ASSERT_NE(store_, nullptr);
  }
  void Close() { store_.reset(); }
  void Fill(const std::string& stream, int n) {
    for (int i = 0; i < n; ++i)
      MustAppend(*store_, MakeAppend(stream, ExpectedVersion::Any(), 1, i));
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<RocksDbEventStore> store_;
};

// ---- snapshots ----

// Projection snapshots are files beside the log (storage/snapshot_file.h), never in it.
TEST_F(RocksDbStoreTest, SnapshotsAreFilesAndADamagedOneReadsAsNone) {
  std::vector<std::string> logged;
  RocksDbOptions options = Options();
  options.log = [&](std::string_view line) { logged.emplace_back(line); };
  store_ = MustOpen(options);
  ASSERT_NE(store_, nullptr);
  std::string big(3 << 20, '\0');  // over the writeback step of 1 MiB
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + i / 4099);
  ASSERT_TRUE(store_->PutSnapshot("projections", 77, big).ok());
  const std::string file = dir_.Sub("log") + "/snapshots/projections.snap";
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(std::filesystem::file_size(file), big.size() + 56);
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
  uint64_t position = 0;
  EXPECT_EQ(store_->GetSnapshot("projections", &position), big);
  EXPECT_EQ(position, 77u);

  // Names become file names: nothing that could leave the directory.
  for (const char* bad : {"", "../x", "a/b", ".hidden", "a.snap"}) {
    EXPECT_EQ(store_->PutSnapshot(bad, 1, "x").code(), ErrorCode::kInvalidField) << bad;
  }
  EXPECT_EQ(store_->PutSnapshot(std::string(65, 'a'), 1, "x").code(), ErrorCode::kInvalidField);

  // One flipped byte in the middle, a cut-off tail, a foreign file: each reads as no
  // snapshot (the projector replays instead) and is reported.
  auto damage = [&](auto how) {
    ASSERT_TRUE(store_->PutSnapshot("projections", 77, big).ok());
    how();
    logged.clear();
    EXPECT_EQ(store_->GetSnapshot("projections", &position), std::nullopt);
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_NE(logged[0].find("ignoring snapshot"), std::string::npos) << logged[0];
  };
  damage([&] {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(56 + (2 << 20));
    f.put('!');
  });
  damage([&] { std::filesystem::resize_file(file, 56 + (1 << 20)); });
  damage([&] { std::filesystem::resize_file(file, 20); });
  damage([&] {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f << std::string(100, 'z');
  });
  // Overwritten whole, it reads again, also after a restart. A write a crash cut short
  // left its .tmp behind: the next writable open removes it.
  ASSERT_TRUE(store_->PutSnapshot("projections", 78, "small").ok());
  Close();
  std::ofstream(file + ".tmp") << std::string(1000, 'p');
  std::ofstream(dir_.Sub("log") + "/snapshots/other.snap.tmp") << "q";
  Open();
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("log") + "/snapshots/other.snap.tmp"));
  EXPECT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(store_->GetSnapshot("projections", &position), "small");
  EXPECT_EQ(position, 78u);
}

// Data dirs written before snapshots were files kept them in the `snapshots` column
// family: read there while no file exists, and removed once a file replaces them.
TEST_F(RocksDbStoreTest, AColumnFamilySnapshotOfAnOlderVersionIsReadThenReplaced) {
  Open();
  Fill("account-a", 3);
  Close();
  {
    RawDb raw(dir_.Sub("log"));
    std::string value(8, '\0');
    keys::PutBigEndian64(2, value.data());
    raw.Put(keys::kSnapshotsCf, "projections", value + "old-state");
  }
  Open();
  uint64_t position = 0;
  EXPECT_EQ(store_->GetSnapshot("projections", &position), "old-state");
  EXPECT_EQ(position, 2u);
  ASSERT_TRUE(store_->PutSnapshot("projections", 3, "new-state").ok());
  EXPECT_EQ(store_->GetSnapshot("projections", &position), "new-state");
  EXPECT_EQ(position, 3u);
  // Without the file, nothing is left to read: the old record went with the write.
  std::filesystem::remove(dir_.Sub("log") + "/snapshots/projections.snap");
  EXPECT_EQ(store_->GetSnapshot("projections", &position), std::nullopt);
}

// ---- options ----

TEST_F(RocksDbStoreTest, OpenRejectsBadOptions) {
  auto no_path = RocksDbEventStore::Open({});
  ASSERT_FALSE(no_path.ok());
  EXPECT_EQ(no_path.error().code(), ErrorCode::kInvalidField);
  RocksDbOptions zero = Options();
  zero.max_batch_events = 0;
  auto r = RocksDbEventStore::Open(zero);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidField);
}

// ---- restarts ----

TEST_F(RocksDbStoreTest, ReopenKeepsEverything) {
  Open();
  Fill("account-a", 3);
  AppendRequest keyed = MakeAppend("account-b", ExpectedVersion::NoStream(), 2, 50);
  keyed.idempotency_key = "req-1";
  keyed.idempotency_fingerprint = "fp";
  keyed.idempotency_payload = "answer";
  AppendResult original = MustAppend(*store_, keyed);
  auto subject = store_->Vault().SubjectFor(events::Bytes{"ann-key"}, "ann@example.com");
  ASSERT_TRUE(subject.ok());
  ASSERT_TRUE(store_->PutSnapshot("access", 4, "snap").ok());
  const Head head = store_->GetHead();
  const std::string secret = store_->LedgerSecret();
  Close();

  Open();
  EXPECT_EQ(store_->GetHead(), head);
  EXPECT_EQ(store_->LedgerSecret(), secret);
  EXPECT_EQ(store_->StreamVersion("account-a"), 3u);
  EXPECT_EQ(store_->StreamVersion("account-b"), 2u);
  EXPECT_EQ(store_->ReadStream("account-b", 1, 10)->size(), 2u);
  auto found = store_->FindIdempotencyKey("req-1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->first_position, original.first_position);
  EXPECT_EQ((*found)->idempotency_payload, "answer");
  auto repeat = store_->Append(keyed);
  ASSERT_TRUE(repeat.ok());
  EXPECT_TRUE(repeat->deduplicated);
  EXPECT_EQ(repeat->first_position, original.first_position);
  EXPECT_EQ(repeat->last_position, original.last_position);
  EXPECT_EQ(repeat->stream_version, original.stream_version);
  EXPECT_EQ(repeat->recorded_at, original.recorded_at);
  EXPECT_EQ(repeat->idempotency_fingerprint, "fp");
  EXPECT_EQ(repeat->idempotency_payload, "answer");
  EXPECT_EQ(store_->Vault().Lookup(*subject), "ann@example.com");
  EXPECT_EQ(*store_->Vault().SubjectFor(events::Bytes{"ann-key"}, "ann@example.com"), *subject);
  uint64_t position = 0;
  EXPECT_EQ(store_->GetSnapshot("access", &position), "snap");
  EXPECT_EQ(position, 4u);

  // The log continues where it stopped: next position, next version, linked hash.
  auto next = MustAppend(*store_, MakeAppend("account-a", ExpectedVersion::Exact(3)));
  EXPECT_EQ(next.first_position, head.position + 1);
  EXPECT_EQ(next.stream_version, 4u);
  EXPECT_EQ(store_->Read(next.first_position)->envelope.prev_hash, head.hash);
  auto report = store_->Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.checked, head.position + 1);
}

TEST_F(RocksDbStoreTest, AnErasedSubjectStaysErasedAfterReopen) {
  Open();
  auto subject = store_->Vault().SubjectFor(events::Bytes{"k"}, "gone@example.com");
  ASSERT_TRUE(subject.ok());
  EXPECT_EQ(*store_->Vault().Erase(events::Bytes{"k"}), 1u);
  Close();
  Open();
  EXPECT_EQ(store_->Vault().Lookup(*subject), std::nullopt);
  EXPECT_EQ(*store_->Vault().Erase(events::Bytes{"k"}), 0u);
}

// A new subject costs no write of its own: it rides the next chunk of appends, so a
// reader alongside sees it exactly when it sees an event that could name it.
TEST_F(RocksDbStoreTest, ANewSubjectIsWrittenWithTheNextAppend) {
  Open();
  auto subject = store_->Vault().SubjectFor(events::Bytes{"k"}, "ann@example.com");
  ASSERT_TRUE(subject.ok());
  EXPECT_EQ(store_->Vault().Lookup(*subject), "ann@example.com");  // from memory
  EXPECT_EQ(*store_->Vault().SubjectFor(events::Bytes{"k"}, "ann@example.com"), *subject);
  RocksDbOptions ro = Options();
  ro.read_only = true;
  EXPECT_EQ(MustOpen(ro)->Vault().Lookup(*subject), std::nullopt);  // not written yet

  Fill("account-a", 1);
  EXPECT_EQ(MustOpen(ro)->Vault().Lookup(*subject), "ann@example.com");
  EXPECT_EQ(store_->Vault().Lookup(*subject), "ann@example.com");  // from RocksDB
  EXPECT_EQ(*store_->Vault().SubjectFor(events::Bytes{"k"}, "ann@example.com"), *subject);
  EXPECT_EQ(*store_->Vault().Erase(events::Bytes{"k"}), 1u);
  EXPECT_EQ(store_->Vault().Lookup(*subject), std::nullopt);
  EXPECT_NE(*store_->Vault().SubjectFor(events::Bytes{"k"}, "ann@example.com"), *subject);
}

// Lookup keeps emails in memory (storage/vault_cache.h). An erasure must end every later
// Lookup's answer, also while other threads keep reading the same subject.
TEST_F(RocksDbStoreTest, AnErasureEndsCachedAnswersEvenMidRead) {
  Open();
  for (int round = 0; round < 20; ++round) {
    events::Bytes key{"k" + std::to_string(round)};
    auto subject = store_->Vault().SubjectFor(key, "reader@example.com");
    ASSERT_TRUE(subject.ok());
    Fill("account-a", 1);  // written to RocksDB: from now on Lookup reads (and caches) it
    std::atomic<bool> erased{false};
    std::atomic<int> stale{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
      readers.emplace_back([&] {
        for (int after = 0; after < 300;) {
          bool done = erased.load();  // read before the lookup: an answer after it must be none
          if (store_->Vault().Lookup(*subject) && done) ++stale;
          if (done) ++after;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_EQ(*store_->Vault().Erase(key), 1u);
    erased = true;
    for (auto& r : readers) r.join();
    EXPECT_EQ(stale.load(), 0) << "round " << round;
    EXPECT_EQ(store_->Vault().Lookup(*subject), std::nullopt);
  }
}

// With no append to carry them, new subjects are written once enough of them wait.
TEST_F(RocksDbStoreTest, ManyNewSubjectsWithoutAppendsAreWrittenAnyway) {
  Open();
  std::vector<std::string> subjects;
  for (int i = 0; i < 5000; ++i) {
    auto s = store_->Vault().SubjectFor(events::Bytes{"key-" + std::to_string(i)},
                                        "u" + std::to_string(i) + "@example.com");
    ASSERT_TRUE(s.ok());
    subjects.push_back(*s);
  }
  RocksDbOptions ro = Options();
  ro.read_only = true;
  auto reader = MustOpen(ro);
  EXPECT_EQ(reader->Vault().Lookup(subjects.front()), "u0@example.com");
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(store_->Vault().Lookup(subjects[i]), "u" + std::to_string(i) + "@example.com");
  }
}

// The point-lookup column families (vault, vault_index, idempotency) bucket their
// memtables and prefix Bloom filters by a key's first 12 bytes. Keys that share those
// bytes, or are shorter, stay apart: in the memtable (a bucket of 600 turns into a
// skiplist), in the table files a close flushes, and after erasures.
TEST_F(RocksDbStoreTest, PointKeysSharingTheirFirstBytesStayDistinct) {
  Open();
  const std::string shared = "same-first-12-bytes/";
  constexpr int kSubjects = 600, kKeyed = 300;
  auto key = [&](int i) { return events::Bytes{shared + std::to_string(i)}; };
  auto email = [](int i) { return "p" + std::to_string(i) + "@example.com"; };
  std::vector<std::string> subjects;
  for (int i = 0; i < kSubjects; ++i) {
    auto s = store_->Vault().SubjectFor(key(i), email(i));
    ASSERT_TRUE(s.ok());
    subjects.push_back(*s);
  }
  auto short_subject = store_->Vault().SubjectFor(events::Bytes{"k"}, "short@example.com");
  ASSERT_TRUE(short_subject.ok());
  std::vector<AppendRequest> keyed;
  std::vector<AppendResult> originals;
  for (int i = 0; i < kKeyed; ++i) {
    AppendRequest r = MakeAppend("account-" + std::to_string(i % 7), ExpectedVersion::Any(), 1, i);
    r.idempotency_key = shared + std::to_string(i);
    r.idempotency_fingerprint = "fp-" + std::to_string(i);
    r.idempotency_payload = "answer-" + std::to_string(i);
    originals.push_back(MustAppend(*store_, r));
    keyed.push_back(std::move(r));
  }
  auto check = [&](const char* where, int erased_every) {
    SCOPED_TRACE(where);
    for (int i = 0; i < kSubjects; ++i) {
      bool erased = erased_every > 0 && i % erased_every == 0;
      EXPECT_EQ(store_->Vault().Lookup(subjects[i]),
                erased ? std::nullopt : std::optional<std::string>(email(i)))
          << i;
      if (!erased) {
        ASSERT_EQ(*store_->Vault().SubjectFor(key(i), email(i)), subjects[i]) << i;
      }
    }
    EXPECT_EQ(store_->Vault().Lookup(*short_subject), "short@example.com");
    for (int i = 0; i < kKeyed; ++i) {
      auto repeat = store_->Append(keyed[i]);
      ASSERT_TRUE(repeat.ok()) << i;
      EXPECT_TRUE(repeat->deduplicated) << i;
      EXPECT_EQ(repeat->first_position, originals[i].first_position) << i;
      EXPECT_EQ(repeat->idempotency_payload, "answer-" + std::to_string(i));
    }
  };
  check("memtable", 0);
  Close();
  Open();  // closing flushes every column family: now read from table files
  check("table files", 0);
  for (int i = 0; i < kSubjects; i += 3) EXPECT_EQ(*store_->Vault().Erase(key(i)), 1u) << i;
  check("erased, memtable", 3);
  Close();
  Open();
  check("erased, table files", 3);
  EXPECT_EQ(store_->GetHead().position, static_cast<uint64_t>(kKeyed));
}

// Subjects made, written with appends and erased from several threads at once: after a
// reopen every email key either has no subject or one whose entry is there — never an
// index entry left pointing at an erased subject, never two subjects for one key.
TEST_F(RocksDbStoreTest, SubjectsStayConsistentUnderConcurrentAppendsAndErasures) {
  Open();
  constexpr int kKeys = 64, kThreads = 4, kRounds = 200;
  auto key = [](int i) { return events::Bytes{"key-" + std::to_string(i)}; };
  auto email = [](int i) { return "u" + std::to_string(i) + "@example.com"; };
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        int i = (t * 7919 + r * 31) % kKeys;
        auto s = store_->Vault().SubjectFor(key(i), email(i));
        if (!s.ok()) failed = true;
        if (r % 3 == 0) {
          if (!store_->Append(MakeAppend("stream-" + std::to_string(t), ExpectedVersion::Any()))
                   .ok()) {
            failed = true;
          }
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int r = 0; r < kRounds; ++r) {
      if (!store_->Vault().Erase(key((r * 13) % kKeys)).ok()) failed = true;
    }
  });
  for (auto& th : threads) th.join();
  ASSERT_FALSE(failed.load());
  std::map<int, std::string> before;
  for (int i = 0; i < kKeys; ++i) {
    auto s = store_->Vault().SubjectFor(key(i), email(i));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(store_->Vault().Lookup(*s), email(i)) << i;
    before[i] = *s;
  }
  Close();
  Open();
  for (int i = 0; i < kKeys; ++i) {
    auto s = store_->Vault().SubjectFor(key(i), email(i));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*s, before[i]) << "key " << i << " got a second subject";
    EXPECT_EQ(store_->Vault().Lookup(*s), email(i)) << i;
  }
}

TEST_F(RocksDbStoreTest, ASecondWriterCannotOpenTheSameDirectory) {
  Open();
  auto second = RocksDbEventStore::Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kIoError);
}

// ---- read-only ----

TEST_F(RocksDbStoreTest, ReadOnlyOpenReadsEverythingAndRefusesWrites) {
  Open();
  // A new subject is written with the next append (which is what would reference it).
  auto subject = store_->Vault().SubjectFor(events::Bytes{"k"}, "ann@example.com");
  ASSERT_TRUE(subject.ok());
  Fill("account-a", 4);
  const Head head = store_->GetHead();
  const std::string secret = store_->LedgerSecret();

  // Alongside the running writer (it takes no lock), then alone.
  for (bool writer_running : {true, false}) {
    if (!writer_running) Close();
    RocksDbOptions ro = Options();
    ro.read_only = true;
    auto reader = MustOpen(ro);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->GetHead(), head);
    EXPECT_EQ(reader->LedgerSecret(), secret);
    EXPECT_EQ(reader->StreamVersion("account-a"), 4u);
    EXPECT_EQ(reader->ReadStream("account-a", 1, 10)->size(), 4u);
    EXPECT_TRUE(reader->Verify().ok);
    EXPECT_EQ(reader->Vault().Lookup(*subject), "ann@example.com");
    auto append = reader->Append(MakeAppend("account-a", ExpectedVersion::Any()));
    ASSERT_FALSE(append.ok());
    EXPECT_EQ(append.error().code(), ErrorCode::kUnavailable);
    EXPECT_NE(append.error().message().find("read-only"), std::string::npos);
    EXPECT_EQ(reader->Vault().SubjectFor(events::Bytes{"x"}, "x@example.com").error().code(),
              ErrorCode::kUnavailable);
    EXPECT_EQ(reader->Vault().Erase(events::Bytes{"k"}).error().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(reader->PutSnapshot("s", 1, "b").code(), ErrorCode::kUnavailable);
    EXPECT_EQ(reader->WaitForHead(head.position, std::chrono::milliseconds(1)), head.position);
  }
}

TEST_F(RocksDbStoreTest, ReadOnlyOpenOfAMissingLogFails) {
  RocksDbOptions ro = Options();
  ro.read_only = true;
  auto r = RocksDbEventStore::Open(ro);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIoError);
}

// ---- group commit ----

TEST_F(RocksDbStoreTest, QueuedAppendsCommitAsOneGroupInQueueOrder) {
  Open();
  store_->PauseWriterForTest(true);
  // Queue X, Y, Z in this order: X creates the stream, Y (NoStream) then conflicts with
  // X inside the same group, Z (Exact 1) follows X.
  std::vector<std::optional<Result<AppendResult>>> results(3);
  std::vector<std::thread> threads;
  std::vector<AppendRequest> requests = {MakeAppend("account-a", ExpectedVersion::NoStream(), 1, 1),
                                         MakeAppend("account-a", ExpectedVersion::NoStream(), 1, 2),
                                         MakeAppend("account-a", ExpectedVersion::Exact(1), 2, 3)};
  for (size_t i = 0; i < requests.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = store_->Append(requests[i]); });
    while (store_->QueuedAppendsForTest() < i + 1) std::this_thread::yield();
  }
  store_->PauseWriterForTest(false);
  for (auto& t : threads) t.join();
  ASSERT_TRUE(results[0]->ok());
  EXPECT_EQ((*results[0])->first_position, 1u);
  ASSERT_FALSE(results[1]->ok());
  EXPECT_EQ(results[1]->error().code(), ErrorCode::kVersionConflict);
  ASSERT_TRUE(results[2]->ok());
  EXPECT_EQ((*results[2])->first_position, 2u);
  EXPECT_EQ((*results[2])->last_position, 3u);
  EXPECT_EQ((*results[2])->stream_version, 3u);
  WriterStats stats = store_->GetWriterStats();
  EXPECT_EQ(stats.groups, 1u);
  EXPECT_EQ(stats.appends, 2u);
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.events, 3u);
  EXPECT_TRUE(store_->Verify().ok);
}

TEST_F(RocksDbStoreTest, TheSameKeyTwiceInOneGroupAppendsOnce) {
  Open();
  store_->PauseWriterForTest(true);
  std::vector<std::optional<Result<AppendResult>>> results(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      AppendRequest r = MakeAppend(i == 0 ? "account-a" : "account-b", ExpectedVersion::Any());
      r.idempotency_key = "same";
      r.idempotency_fingerprint = "fp-" + std::to_string(i);
      r.idempotency_payload = "payload-" + std::to_string(i);
      results[i] = store_->Append(r);
    });
    while (store_->QueuedAppendsForTest() < size_t(i + 1)) std::this_thread::yield();
  }
  store_->PauseWriterForTest(false);
  for (auto& t : threads) t.join();
  ASSERT_TRUE(results[0]->ok() && results[1]->ok());
  const AppendResult& first = **results[0];
  const AppendResult& second = **results[1];
  EXPECT_FALSE(first.deduplicated);
  EXPECT_TRUE(first.idempotency_fingerprint.empty());
  EXPECT_TRUE(second.deduplicated);
  EXPECT_EQ(second.first_position, first.first_position);
  EXPECT_EQ(second.idempotency_fingerprint, "fp-0");
  EXPECT_EQ(second.idempotency_payload, "payload-0");
  EXPECT_EQ(store_->GetHead().position, 1u);
  EXPECT_EQ(store_->StreamVersion("account-b"), 0u);
  EXPECT_EQ(store_->GetWriterStats().groups, 1u);
  EXPECT_EQ(store_->GetWriterStats().deduplicated, 1u);
}

TEST_F(RocksDbStoreTest, ShutdownCommitsWhatIsAlreadyQueued) {
  Open();
  store_->PauseWriterForTest(true);
  std::optional<Result<AppendResult>> result;
  std::thread appender(
      [&] { result = store_->Append(MakeAppend("account-a", ExpectedVersion::Any())); });
  while (store_->QueuedAppendsForTest() < 1) std::this_thread::yield();
  store_->Shutdown();  // overrides the pause: drains, then stops
  appender.join();
  ASSERT_TRUE(result->ok()) << result->error().ToString();
  EXPECT_EQ(store_->GetHead().position, 1u);
}

TEST_F(RocksDbStoreTest, EightConcurrentAppendersLeaveNoGapsAndNoDuplicateVersions) {
  Open();
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::thread> threads;
  std::vector<std::vector<AppendResult>> acked(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread;) {
        if (t % 2 == 0) {  // own stream, two events per append
          acked[t].push_back(MustAppend(
              *store_, MakeAppend("account-own-" + std::to_string(t), ExpectedVersion::Any(), 2)));
          ++i;
        } else {  // one shared stream, exact versions with retry
          uint64_t v = store_->StreamVersion("account-shared");
          auto r = store_->Append(MakeAppend("account-shared", ExpectedVersion::Exact(v)));
          if (r.ok()) {
            acked[t].push_back(*r);
            ++i;
          } else {
            ASSERT_EQ(r.error().code(), ErrorCode::kVersionConflict);
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  std::set<uint64_t> positions;
  for (const auto& list : acked) {
    for (const auto& r : list) {
      for (uint64_t p = r.first_position; p <= r.last_position; ++p) {
        EXPECT_TRUE(positions.insert(p).second) << "position " << p << " acknowledged twice";
      }
    }
  }
  const uint64_t total = (kThreads / 2) * kPerThread * 2 + (kThreads / 2) * kPerThread;
  ASSERT_EQ(positions.size(), total);
  EXPECT_EQ(*positions.rbegin(), total);  // gapless from 1
  EXPECT_EQ(store_->GetHead().position, total);
  std::map<std::string, std::set<uint64_t>> versions;
  Status st = store_->Scan(1, 0, [&](const events::RecordedEvent& e) {
    EXPECT_TRUE(versions[e.envelope.stream].insert(e.envelope.version).second);
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(versions["account-shared"].size(), size_t{(kThreads / 2) * kPerThread});
  auto report = store_->Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  WriterStats stats = store_->GetWriterStats();
  EXPECT_EQ(stats.appends, uint64_t{kThreads * kPerThread});
  EXPECT_LE(stats.groups, stats.appends);
}

TEST_F(RocksDbStoreTest, ALoneAppenderSealsAndSyncsOnItsOwnThread) {
  Open();
  constexpr int kAppends = 20;
  for (int i = 0; i < kAppends; ++i) {
    AppendResult r = MustAppend(*store_, MakeAppend("account-a", ExpectedVersion::Exact(i)));
    EXPECT_EQ(r.first_position, uint64_t(i + 1));
    // Durable and published before Append returned, with no other thread involved.
    EXPECT_EQ(store_->GetHead().position, uint64_t(i + 1));
  }
  WriterStats stats = store_->GetWriterStats();
  EXPECT_EQ(stats.groups, uint64_t{kAppends});
  EXPECT_EQ(stats.caller_groups, uint64_t{kAppends});

  // Queued appends (the sealing thread's work) are not committed on a caller.
  store_->PauseWriterForTest(true);
  std::thread queued([&] { MustAppend(*store_, MakeAppend("account-b", ExpectedVersion::Any())); });
  while (store_->QueuedAppendsForTest() < 1) std::this_thread::yield();
  store_->PauseWriterForTest(false);
  queued.join();
  EXPECT_EQ(store_->GetWriterStats().groups, uint64_t{kAppends + 1});
  EXPECT_EQ(store_->GetWriterStats().caller_groups, uint64_t{kAppends});
  Close();
  Open();
  EXPECT_EQ(store_->GetHead().position, uint64_t{kAppends + 1});
  EXPECT_TRUE(store_->Verify().ok);
}

TEST_F(RocksDbStoreTest, LoneAndQueuedAppendersInterleavedStayGaplessAndInOrder) {
  Open();
  // Threads that append one at a time keep finding the roles free or taken: both paths
  // (on the caller, through the two threads) run interleaved.
  constexpr int kThreads = 4, kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string stream = "account-" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        AppendResult r = MustAppend(*store_, MakeAppend(stream, ExpectedVersion::Exact(i)));
        ASSERT_EQ(r.stream_version, uint64_t(i + 1));
        if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store_->GetHead().position, uint64_t{kThreads * kPerThread});
  WriterStats stats = store_->GetWriterStats();
  EXPECT_EQ(stats.appends, uint64_t{kThreads * kPerThread});
  EXPECT_GT(stats.caller_groups, 0u);
  auto report = store_->Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  Close();
  Open();
  EXPECT_EQ(store_->GetHead().position, uint64_t{kThreads * kPerThread});
}

// ---- AppendAsync ----

// Keeps `chains` appends in flight, each chain on its own stream re-issuing its next
// append from the previous one's callback, until each has made `per_chain` appends.
struct AsyncChains {
  RocksDbEventStore& store;
  int chains, per_chain;
  std::mutex mu;
  std::condition_variable all_done;
  int finished = 0;
  std::vector<std::vector<AppendResult>> acked;
  std::vector<std::string> errors;
  std::set<std::thread::id> callback_threads;

  void Run() {
    acked.resize(chains);
    for (int c = 0; c < chains; ++c) Issue(c, 0);
    std::unique_lock lock(mu);
    all_done.wait(lock, [&] { return finished == chains; });
  }
  void Issue(int chain, int i) {
    store.AppendAsync(MakeAppend("account-" + std::to_string(chain), ExpectedVersion::Exact(i)),
                      [this, chain, i](Result<AppendResult> r) {
                        bool last = false;
                        {
                          std::lock_guard lock(mu);
                          callback_threads.insert(std::this_thread::get_id());
                          if (r.ok()) {
                            acked[chain].push_back(*r);
                          } else {
                            errors.push_back(r.error().ToString());
                          }
                          last = !r.ok() || i + 1 == per_chain;
                          if (last) ++finished;
                        }
                        if (last) {
                          all_done.notify_all();
                        } else {
                          Issue(chain, i + 1);
                        }
                      });
  }
};

TEST_F(RocksDbStoreTest, SixtyFourAsyncChainsCommitGaplessInGroupsOnTheStoresThread) {
  Open();
  AsyncChains run{*store_, 64, 25};
  run.Run();
  ASSERT_TRUE(run.errors.empty()) << run.errors.front();
  std::set<uint64_t> positions;
  for (int c = 0; c < 64; ++c) {
    ASSERT_EQ(run.acked[c].size(), 25u);
    for (int i = 0; i < 25; ++i) {
      EXPECT_EQ(run.acked[c][i].stream_version, uint64_t(i + 1));
      EXPECT_TRUE(positions.insert(run.acked[c][i].first_position).second);
    }
  }
  EXPECT_EQ(positions.size(), 64u * 25u);
  EXPECT_EQ(*positions.rbegin(), 64u * 25u);
  EXPECT_EQ(run.callback_threads.size(), 1u) << "callbacks run on the committing thread";
  EXPECT_EQ(run.callback_threads.count(std::this_thread::get_id()), 0u);
  WriterStats stats = store_->GetWriterStats();
  EXPECT_EQ(stats.appends, 64u * 25u);
  EXPECT_LT(stats.groups, stats.appends) << "in-flight appends share groups";
  EXPECT_EQ(stats.caller_groups, 0u);
  EXPECT_TRUE(store_->Verify().ok);
  Close();
  Open();
  EXPECT_EQ(store_->GetHead().position, 64u * 25u);
}

TEST_F(RocksDbStoreTest, AsyncAppendsAnswerErrorsAndShareGroupsWithBlockingOnes) {
  Open();
  // An invalid request is answered on the calling thread, before AppendAsync returns.
  std::optional<Result<AppendResult>> invalid;
  AppendRequest bad = MakeAppend("account-a", ExpectedVersion::Any());
  bad.stream.clear();
  store_->AppendAsync(std::move(bad), [&](Result<AppendResult> r) { invalid = std::move(r); });
  ASSERT_TRUE(invalid.has_value());
  ASSERT_FALSE(invalid->ok());
  EXPECT_EQ(invalid->error().code(), ErrorCode::kInvalidField);

  // Queued together: an async append, a blocking one and an async one that conflicts.
  store_->PauseWriterForTest(true);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Result<AppendResult>>> async(2);
  int answered = 0;
  auto keep = [&](int k) {
    return [&, k](Result<AppendResult> r) {
      std::lock_guard lock(mu);
      async[k] = std::move(r);
      ++answered;
      cv.notify_all();
    };
  };
  store_->AppendAsync(MakeAppend("account-a", ExpectedVersion::NoStream()), keep(0));
  std::optional<Result<AppendResult>> blocking;
  std::thread appender(
      [&] { blocking = store_->Append(MakeAppend("account-b", ExpectedVersion::Any())); });
  while (store_->QueuedAppendsForTest() < 2) std::this_thread::yield();
  store_->AppendAsync(MakeAppend("account-a", ExpectedVersion::NoStream()), keep(1));
  EXPECT_EQ(store_->QueuedAppendsForTest(), 3u);
  store_->PauseWriterForTest(false);
  appender.join();
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return answered == 2; });
  }
  ASSERT_TRUE(blocking->ok()) << blocking->error().ToString();
  ASSERT_TRUE(async[0]->ok()) << async[0]->error().ToString();
  EXPECT_EQ((*async[0])->first_position, 1u);
  EXPECT_EQ((*blocking)->first_position, 2u);
  ASSERT_FALSE(async[1]->ok());
  EXPECT_EQ(async[1]->error().code(), ErrorCode::kVersionConflict);
  EXPECT_EQ(store_->GetWriterStats().groups, 1u);

  // Queued async appends are committed by Shutdown; later ones are refused at once.
  store_->PauseWriterForTest(true);
  std::optional<Result<AppendResult>> queued, late;
  store_->AppendAsync(MakeAppend("account-c", ExpectedVersion::Any()),
                      [&](Result<AppendResult> r) { queued = std::move(r); });
  store_->Shutdown();
  ASSERT_TRUE(queued.has_value());
  ASSERT_TRUE(queued->ok()) << queued->error().ToString();
  EXPECT_EQ((*queued)->first_position, 3u);
  store_->AppendAsync(MakeAppend("account-c", ExpectedVersion::Any()),
                      [&](Result<AppendResult> r) { late = std::move(r); });
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->error().code(), ErrorCode::kUnavailable);
}

// ---- scans ----

TEST_F(RocksDbStoreTest, ALongScanAcrossFlushedFilesSeesEveryEventInOrder) {
  RocksDbOptions options = Options();
  options.write_buffer_bytes = 64 << 10;  // many small SST files
  options.sync = false;
  store_ = MustOpen(options);
  constexpr int kAppends = 20;
  for (int i = 0; i < kAppends; ++i) {
    MustAppend(*store_, MakeAppend("account-" + std::to_string(i % 3), ExpectedVersion::Any(),
                                   kMaxEventsPerAppend, i * 1000));
  }
  Close();
  store_ = MustOpen(options);
  uint64_t expected = 1;
  Hash256 prev{};
  Status st = store_->Scan(1, 0, [&](const events::RecordedEvent& e) {
    EXPECT_EQ(e.envelope.position, expected++);
    EXPECT_EQ(e.envelope.prev_hash, prev);
    prev = e.envelope.hash;
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(expected - 1, uint64_t{kAppends * kMaxEventsPerAppend});
  EXPECT_EQ(store_->ReadStream("account-1", 1, 100000)->size(), size_t{7 * kMaxEventsPerAppend});
  EXPECT_TRUE(store_->Verify().ok);
}

// Scans of 4096 events or more read on a second thread (pipelined_scan); they must behave
// exactly like the single-threaded ones.
class LongScanTest : public RocksDbStoreTest, public ::testing::WithParamInterface<bool> {
 protected:
  static constexpr uint64_t kEvents = 24 * kMaxEventsPerAppend;  // 6144
  void SetUp() override {
    RocksDbOptions options = Options();
    options.sync = false;
    options.pipelined_scan = GetParam();
    store_ = MustOpen(options);
    for (uint64_t i = 0; i < kEvents / kMaxEventsPerAppend; ++i) {
      MustAppend(*store_, MakeAppend("account-" + std::to_string(i % 2), ExpectedVersion::Any(),
                                     kMaxEventsPerAppend, i * 1000));
    }
  }
  // Positions visited by Scan(from, to) until the visitor says stop after `stop_after`.
  std::pair<Status, std::vector<uint64_t>> Visit(uint64_t from, uint64_t to,
                                                 uint64_t stop_after = UINT64_MAX) {
    std::vector<uint64_t> seen;
    Status st = store_->Scan(from, to, [&](const events::RecordedEvent& e) {
      seen.push_back(e.envelope.position);
      return seen.size() < stop_after;
    });
    return {st, seen};
  }
};

TEST_P(LongScanTest, VisitsEveryEventOnceInOrderFromAnyStart) {
  for (uint64_t from : {uint64_t{1}, uint64_t{2}, uint64_t{1000}}) {
    auto [st, seen] = Visit(from, 0);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(seen.size(), kEvents - from + 1);
    for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], from + i);
  }
  auto [st, seen] = Visit(10, 5000);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(seen.size(), 4991u);
  EXPECT_EQ(seen.back(), 5000u);
}

TEST_P(LongScanTest, StopsWhenTheVisitorSaysSo) {
  auto [st, seen] = Visit(1, 0, 4500);
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(seen.size(), 4500u);
  auto [st2, one] = Visit(1, 0, 1);
  EXPECT_TRUE(st2.ok());
  EXPECT_EQ(one.size(), 1u);
}

TEST_P(LongScanTest, DeliversEverythingBeforeADamagedRecordThenTheProblem) {
  ASSERT_TRUE(store_->CorruptForTest(4700, 60).ok());
  auto [st, seen] = Visit(1, 0);
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_NE(st.message().find("position 4700"), std::string::npos) << st.message();
  EXPECT_EQ(seen.size(), 4699u);
  // A scan starting after it links to the damaged record's stored hash and passes.
  auto [after, rest] = Visit(4701, 0);
  EXPECT_TRUE(after.ok()) << after.ToString();
  EXPECT_EQ(rest.size(), kEvents - 4700);
}

TEST_P(LongScanTest, ASlowVisitorGetsTheSameEventsAndProblems) {
  // A slow visitor lets the reading thread run ahead and decode part of each batch itself
  // (pipelined); the damaged record lies in the second half of its 512-record batch.
  ASSERT_TRUE(store_->CorruptForTest(4900, 60).ok());
  std::vector<events::RecordedEvent> seen;
  Status st = store_->Scan(1, 0, [&](const events::RecordedEvent& e) {
    if (e.envelope.position % 256 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    seen.push_back(e);
    return true;
  });
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_NE(st.message().find("position 4900"), std::string::npos) << st.message();
  ASSERT_EQ(seen.size(), 4899u);
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i].envelope.position, i + 1);
    if (i > 0) {
      ASSERT_EQ(seen[i].envelope.prev_hash, seen[i - 1].envelope.hash);
    }
  }
  auto [after, rest] = Visit(4901, 0);
  EXPECT_TRUE(after.ok()) << after.ToString();
  EXPECT_EQ(rest.size(), kEvents - 4900);
}

TEST_P(LongScanTest, FindsDamageWhereverTheDigestIsCheckedInABatch) {
  // Batches hold 512 records (positions 1-512, 513-1024, ...). The pipelined reader checks
  // the digests of a batch's first records and the consumer the rest; while the consumer
  // keeps up, the reader's share shrinks by 32 a batch (192 records of the tenth batch,
  // 4609-5120). A damaged record must be found, and everything before it visited, on
  // either side, at a batch's first record and around the boundaries.
  for (uint64_t damaged : {uint64_t{4609}, uint64_t{4864}, uint64_t{4865}, uint64_t{5120},
                           uint64_t{5121}}) {
    SCOPED_TRACE(damaged);
    store_.reset();  // a fresh, undamaged log each time
    std::filesystem::remove_all(Options().path);
    SetUp();
    // A byte of the correlation id: the record still decodes and links, so only its
    // digest tells.
    size_t offset = std::string::npos;
    ASSERT_TRUE(store_->ScanRaw(damaged, damaged, [&](uint64_t, std::string_view bytes,
                                                      const Hash256&) {
      offset = bytes.find("corr-");
      return false;
    }).ok());
    ASSERT_NE(offset, std::string::npos);
    ASSERT_TRUE(store_->CorruptForTest(damaged, offset + 5).ok());
    auto [st, seen] = Visit(1, 0);
    EXPECT_EQ(st.code(), ErrorCode::kCorruption);
    EXPECT_NE(st.message().find("position " + std::to_string(damaged)), std::string::npos)
        << st.message();
    ASSERT_EQ(seen.size(), damaged - 1);
    EXPECT_EQ(seen.back(), damaged - 1);
    // A visitor that stops before the damage sees no problem.
    auto [early, part] = Visit(1, 0, damaged - 1);
    EXPECT_TRUE(early.ok()) << early.ToString();
    EXPECT_EQ(part.size(), damaged - 1);
    // Nor does a scan that ends before it, or one that starts after it.
    EXPECT_TRUE(Visit(1, damaged - 1).first.ok());
    EXPECT_TRUE(Visit(damaged + 1, 0).first.ok());
  }
}

TEST_P(LongScanTest, ScanOwnedMovesOutTheEventsScanShows) {
  // A slow consumer, so that the pipelined reader also predecodes (events moved out of
  // the handed-over batch, not only out of the consumer's own decoding).
  std::vector<events::RecordedEvent> owned;
  Status st = store_->ScanOwned(2, 0, [&](events::RecordedEvent&& e) {
    if (e.envelope.position % 256 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    owned.push_back(std::move(e));
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(owned.size(), kEvents - 1);
  for (size_t i = 0; i < owned.size(); ++i) {
    ASSERT_EQ(owned[i].envelope.position, i + 2);
    if (i > 0) {
      ASSERT_EQ(owned[i].envelope.prev_hash, owned[i - 1].envelope.hash);
    }
  }
  EXPECT_EQ(owned[100].envelope.hash, store_->Read(102)->envelope.hash);
  EXPECT_EQ(owned[100].envelope.payload, store_->Read(102)->envelope.payload);
}

INSTANTIATE_TEST_SUITE_P(Pipelined, LongScanTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Pipelined" : "OneThread"; });

TEST_F(RocksDbStoreTest, ScanRawHandsOutTheStoredBytesForChainVerifier) {
  Open();
  Fill("account-a", 5);
  ChainVerifier verifier;
  Status st = store_->ScanRaw(1, 0, [&](uint64_t p, std::string_view canonical, const Hash256& h) {
    return verifier.Check(p, canonical, h);
  });
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(verifier.Report().ok);
  EXPECT_EQ(verifier.Report().head, store_->GetHead());
}

// ---- damage on disk ----

TEST_F(RocksDbStoreTest, ReadsAndScansRefuseACorruptedRecord) {
  Open();
  Fill("account-a", 5);
  ASSERT_TRUE(store_->CorruptForTest(3, 40).ok());
  Status st = store_->Scan(1, 0, [](const events::RecordedEvent&) { return true; });
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_NE(st.message().find("position 3"), std::string::npos) << st.message();
  auto read = store_->Read(3);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), ErrorCode::kCorruption);
  EXPECT_EQ(store_->ReadStream("account-a", 1, 10).status().code(), ErrorCode::kCorruption);
  EXPECT_TRUE(store_->Read(2).ok());
  EXPECT_TRUE(store_->ReadStream("account-a", 4, 10).ok());
}

TEST_F(RocksDbStoreTest, VerifyFindsABitFlipWrittenByAnotherProcess) {
  Open();
  Fill("account-a", 6);
  Close();
  {
    RawDb raw(Options().path);
    std::string value = raw.Get(keys::kEventsCf, keys::EventKey(4));
    value[keys::kHashBytes + 50] ^= 0x01;
    raw.Put(keys::kEventsCf, keys::EventKey(4), value);
  }
  Open();
  auto report = store_->Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 4u);
  EXPECT_EQ(report.checked, 3u);
}

// A byte flipped in whichever file of a cleanly closed ledger holds an event (its SST:
// the close flushed the memtables), as a disk or an editor would: Verify names exactly that
// event, although RocksDB's block checksum fails for the whole block around it.
TEST_F(RocksDbStoreTest, VerifyNamesTheEventOfAByteFlippedInTheFilesOfAClosedLedger) {
  Open();
  Fill("account-a", 40);
  AppendRequest marked = MakeAppend("account-b", ExpectedVersion::Any(), 1, 7);
  events::RoleChanged e;
  e.workspace_id = "Marker-Workspace-QZX";
  e.user_id = "usr_1";
  e.from_role = "viewer";
  e.to_role = "editor";
  marked.events[0] = NewEvent{events::RoleChanged::kType, events::EncodeEvent(events::Event(e))};
  const uint64_t position = MustAppend(*store_, marked).first_position;
  Fill("account-a", 40);
  Close();

  int flipped = 0;
  for (const auto& entry : std::filesystem::directory_iterator(Options().path)) {
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::stringstream bytes;
    bytes << f.rdbuf();
    size_t at = bytes.str().find("Marker-Workspace-QZX");
    if (at == std::string::npos) continue;
    EXPECT_NE(entry.path().extension(), ".log") << "a cleanly closed ledger keeps events in SSTs";
    f.seekp(static_cast<std::streamoff>(at + 7));
    f.put('m');
    ++flipped;
  }
  ASSERT_EQ(flipped, 1) << "the event is stored verbatim (uncompressed) in exactly one file";

  auto read_only = MustOpen({.path = Options().path, .read_only = true});
  ASSERT_NE(read_only, nullptr);
  VerifyReport report = read_only->Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, position) << report.problem;
  EXPECT_EQ(report.checked, position - 1);
  EXPECT_NE(report.problem.find("hash mismatch"), std::string::npos) << report.problem;
  // Reads of the damaged block fail loudly instead of handing out the bytes.
  EXPECT_EQ(read_only->Read(position).status().code(), ErrorCode::kCorruption);
}

TEST_F(RocksDbStoreTest, SalvageIsOnlyForReadOnlyOpens) {
  auto r = RocksDbEventStore::Open({.path = Options().path, .salvage_wal_prefix = true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidField);
}

TEST_F(RocksDbStoreTest, VerifyAndScanFindAMissingPosition) {
  Open();
  Fill("account-a", 6);
  Close();
  {
    RawDb raw(Options().path);
    raw.Delete(keys::kEventsCf, keys::EventKey(3));
  }
  Open();
  auto report = store_->Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 3u);
  EXPECT_NE(report.problem.find("gap"), std::string::npos) << report.problem;
  Status st = store_->Scan(1, 0, [](const events::RecordedEvent&) { return true; });
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_NE(st.message().find("position 3"), std::string::npos) << st.message();
}

TEST_F(RocksDbStoreTest, VerifyFindsAStreamIndexThatDisagreesWithTheLog) {
  Open();
  Fill("account-a", 2);
  Fill("account-b", 2);  // positions 3, 4
  Close();
  {
    RawDb raw(Options().path);
    raw.Put(keys::kStreamsCf, keys::StreamIndexKey("account-b", 2), keys::EventKey(1));
  }
  Open();
  auto report = store_->Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 4u);
  EXPECT_NE(report.problem.find("stream index"), std::string::npos) << report.problem;
  EXPECT_EQ(store_->ReadStream("account-b", 1, 10).status().code(), ErrorCode::kCorruption);
}

TEST_F(RocksDbStoreTest, VerifyFindsAMissingStreamIndexEntryAndAWrongStreamHead) {
  Open();
  Fill("account-a", 3);
  Close();
  {
    RawDb raw(Options().path);
    raw.Delete(keys::kStreamsCf, keys::StreamIndexKey("account-a", 2));
  }
  Open();
  auto report = store_->Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 2u);
  Close();
  {
    RawDb raw(Options().path);
    raw.Put(keys::kStreamsCf, keys::StreamIndexKey("account-a", 2), keys::EventKey(2));
    raw.Put(keys::kStreamHeadsCf, "account-a", keys::BigEndian64(7));
  }
  Open();
  report = store_->Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 3u);
  EXPECT_NE(report.problem.find("stream head"), std::string::npos) << report.problem;
}

TEST_F(RocksDbStoreTest, AnUnknownFormatVersionRefusesToOpen) {
  Open();
  Close();
  {
    RawDb raw(Options().path);
    raw.Put(keys::kMetaCf, keys::kMetaFormatVersion, keys::BigEndian32(99));
  }
  auto r = RocksDbEventStore::Open(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(r.error().message().find("format version 99"), std::string::npos);
}

}  // namespace
}  // namespace roster::storage
