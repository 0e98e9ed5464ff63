// RocksDbEventStore: the durable event log (DESIGN.md "The event log", "Durability").
//
// One RocksDB database, one column family per kind of record (docs/storage_keys.md has
// the exact bytes). Appends go through a two-thread pipeline that owns position and hash
// assignment: the sealing thread takes Appends as they arrive, checks expected versions
// and idempotency keys, seals the accepted ones in commit order into a rocksdb::WriteBatch
// and writes it unsynced, while the syncing thread runs one SyncWAL for every batch
// written so far (one fsync for all of them), publishes them and wakes the waiters
// through a wake-up tree. Sealing and syncing are roles held by one thread at a time: a
// lone Append takes them itself instead of waking the two threads (storage/README.md).
// Reads are bounded by the published head, so nothing written but not yet synced is ever
// visible.
// After a failed write or sync the store refuses every later append until it is
// reopened, and its in-memory head never includes the failed group, so what is on disk
// stays verifiable.
//
// Reads (Scan, ReadStream, Read, the vault, snapshots) go straight to RocksDB on the
// caller's thread and run concurrently with the writer; they see committed data only.
//
// No RocksDB header here: this file is included by the gateway and the CLI.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "storage/event_store.h"
#include "storage/vault_cache.h"

namespace rocksdb {
class DB;
class Env;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace roster::storage {

namespace internal {
struct RecordBatch;  // rocksdb_store.cc
}  // namespace internal

// Settings of a RocksDbEventStore, fixed at Open. Build with designated initializers:
//   RocksDbOptions{.path = dir, .read_only = true}
struct RocksDbOptions {
  // The database directory. Created (with its column families and ledger secret) on the
  // first writable open. Required; no default.
  std::string path;

  // Open with DB::OpenForReadOnly: for `roster verify/replay/export`, also while rosterd
  // runs (it takes no lock and sees the log as of the open). Appends, vault writes and
  // snapshot writes then fail with kUnavailable. Default false.
  bool read_only = false;

  // Only with read_only, for `roster verify`: when RocksDB refuses to open because the
  // write-ahead log holds a damaged record (a checksum mismatch; a crash only ever cuts the
  // log short, which the normal open tolerates), open anyway with the records before the
  // damage, and have Verify() report the first position it could not read. Default false.
  bool salvage_wal_prefix = false;

  // Sync the WAL before an append is acknowledged. false acknowledges once the group is in
  // the OS page cache: a process crash loses nothing, a power loss or kernel crash may
  // lose the last acknowledged groups. Only for bulk loads and benchmarks. Default true.
  bool sync = true;

  // Upper bound on the events one commit group carries. Larger groups amortise one fsync
  // over more appends under load but make a group's waiters wait for more sealing work;
  // one append (up to kMaxEventsPerAppend events) always fits. Default 1024.
  size_t max_batch_events = 1024;

  // Stamps recorded_at; must outlive the store. nullptr = the system clock. Default nullptr.
  const Clock* clock = nullptr;

  // The RocksDB Env every file operation goes through. Tests inject a fault-injecting
  // Env (tests/storage/fault_env.h); nullptr = rocksdb::Env::Default(). Shared because
  // RocksDB keeps using it until the DB is closed. Default nullptr.
  std::shared_ptr<rocksdb::Env> env;

  // Scan, ReadStream and Read recompute each record's hash from its bytes (SHA-256 of
  // prev_hash ‖ canonical bytes) and check prev_hash links inside a scan, returning
  // kCorruption instead of handing a damaged event to a projection. Costs one SHA-256
  // per event read (about a third of replay time). Default true.
  bool verify_reads = true;

  // Long scans (4096 events or more) read and hash on a second thread while the caller
  // decodes and visits, nearly doubling replay speed on two free cores. false keeps every
  // scan on the caller's thread (e.g. a CLI sharing a busy machine). Default true.
  bool pipelined_scan = true;

  // RocksDB block cache shared by all column families. Bigger helps point reads of old
  // events and stream indexes; replay scans bypass it. Default 64 MiB.
  size_t block_cache_bytes = 64 << 20;

  // Memtable size of the events column family. Bigger = fewer, larger L0 files and fewer
  // flushes under sustained appends; costs RAM and WAL replay time after a crash.
  // Default 64 MiB.
  size_t write_buffer_bytes = 64 << 20;

  // A WAL sync slower than this is reported through `log` (with its group's size and
  // positions): every append of the group waited for it. Default 100 ms.
  std::chrono::milliseconds slow_sync = std::chrono::milliseconds(100);
  // Emails the vault keeps in memory for Lookup (storage/vault_cache.h): a page of 100
  // invitations or members reads 100. Never kept past an Erase. 0 turns it off.
  // Default 65536 (~13 MiB).
  size_t vault_cache_entries = 65536;
  // Where the store reports what an operator should see (slow syncs). Called on the
  // syncing thread; keep it quick. nullptr: not reported. Default nullptr.
  std::function<void(std::string_view)> log;
};

// Counters of the writer thread, for metrics and benchmarks. A consistent snapshot.
struct WriterStats {
  uint64_t groups = 0;        // successful synced commit groups
  uint64_t appends = 0;       // appends committed (not counting deduplicated ones)
  uint64_t events = 0;        // events committed
  uint64_t deduplicated = 0;  // appends answered from an idempotency record
  uint64_t rejected = 0;      // appends rejected (version conflict)
  uint64_t max_group_appends = 0;
  // Of `groups`, those a lone appender sealed, synced and published on its own thread.
  uint64_t caller_groups = 0;
  // WAL syncs: total and longest time spent in them, and how many took longer than
  // RocksDbOptions::slow_sync.
  uint64_t sync_nanos = 0;
  uint64_t max_sync_nanos = 0;
  uint64_t slow_syncs = 0;
};

class RocksDbEventStore final : public EventStore, private PiiVault {
 public:
  // Opens (or, when writable, creates) the log at options.path, recovers the head and
  // starts the writer thread. Errors: kInvalidField (bad options), kIoError (RocksDB
  // could not open, e.g. the directory is locked by another writer), kCorruption (an
  // unknown format version, a missing ledger secret, an unreadable head record).
  static Result<std::unique_ptr<RocksDbEventStore>> Open(const RocksDbOptions& options);

  // Shuts down (draining pending appends), flushes every memtable to SST files (unless a
  // write or sync failed: then the log stays exactly as it was) and closes the database.
  ~RocksDbEventStore() override;

  RocksDbEventStore(const RocksDbEventStore&) = delete;
  RocksDbEventStore& operator=(const RocksDbEventStore&) = delete;

  // EventStore. Thread-safe. Append blocks its caller until its group is synced.
  Result<AppendResult> Append(AppendRequest request) override;
  // Queued for the sealing thread (never sealed or synced on the caller); `done` runs on
  // the committing thread, after the blocking waiters of its group are woken.
  void AppendAsync(AppendRequest request, AppendCallback done) override;
  Status Scan(uint64_t from_position, uint64_t to_position,
              const EventVisitor& visit) const override;
  Status ScanOwned(uint64_t from_position, uint64_t to_position,
                   const OwnedEventVisitor& visit) const override;
  Result<std::vector<events::RecordedEvent>> ReadStream(const std::string& stream,
                                                        uint64_t from_version,
                                                        size_t max) const override;
  Result<events::RecordedEvent> Read(uint64_t position) const override;
  Result<std::optional<AppendResult>> FindIdempotencyKey(std::string_view key) const override;
  uint64_t StreamVersion(const std::string& stream) const override;
  Head GetHead() const override;
  // Walks every event with ChainVerifier, then checks the stream index and stream heads
  // against the log. Reads one consistent RocksDB snapshot.
  VerifyReport Verify() const override;
  uint64_t WaitForHead(uint64_t after_position, std::chrono::milliseconds timeout) const override;
  // Refuses new appends, lets the writer commit everything already queued, stops it and
  // wakes every WaitForHead. Reads keep working until destruction. Idempotent.
  void Shutdown() override;
  PiiVault& Vault() override { return *this; }
  const std::string& LedgerSecret() const override { return secret_; }
  Status PutSnapshot(const std::string& name, uint64_t position, std::string_view bytes) override;
  std::optional<std::string> GetSnapshot(const std::string& name,
                                         uint64_t* position) const override;

  WriterStats GetWriterStats() const;

  // The raw visitor of replay tools: each record's position, canonical envelope bytes and
  // stored hash, in position order, without decoding or checking anything. The views are
  // valid during the call only. Return false to stop.
  using RawVisitor =
      std::function<bool(uint64_t position, std::string_view canonical, const Hash256& hash)>;
  Status ScanRaw(uint64_t from_position, uint64_t to_position, const RawVisitor& visit) const;

  // ---- test hooks ----
  // Flips one byte of the stored canonical bytes at `position` with a raw RocksDB write
  // (bypassing the writer), as MemoryEventStore::CorruptForTest does.
  Status CorruptForTest(uint64_t position, size_t byte_offset);
  // While paused the writer takes no new group, so tests can queue several appends and
  // have them committed as one group.
  void PauseWriterForTest(bool paused);
  // Appends queued and not yet taken by the writer.
  size_t QueuedAppendsForTest() const;
  // The last position of the chunks written to RocksDB so far, synced or not.
  uint64_t WrittenPositionForTest() const;

 private:
  struct Pending;
  struct Columns;
  struct Prepared;

  RocksDbEventStore(const RocksDbOptions& options);

  Status OpenDb();
  rocksdb::Env* FileEnv() const;     // options_.env, else RocksDB's default
  std::string SnapshotDir() const;   // <path>/snapshots
  Status LoadOrCreateMeta();
  Status RecoverHead();
  // Reads positions from..to (to = 0: the head) in batches, on a second thread for long
  // scans when options_.pipelined_scan. Sets *initial_prev to the stored hash before
  // `from` (zeros for 1) before the first visit; `visit` returns false to stop.
  // `assist`, when set, runs on the reading thread for a batch while the consumer lags.
  using BatchVisitor = std::function<bool(internal::RecordBatch&)>;
  using BatchAssist = std::function<void(internal::RecordBatch&)>;
  Status ReadLog(uint64_t from, uint64_t to, bool verify, Hash256* initial_prev,
                 const BatchVisitor& visit, const BatchAssist& assist = nullptr) const;
  // Scan and ScanOwned: decodes each record into a slot and hands it to `visit`, which may
  // move from it.
  Status ScanDecoded(uint64_t from, uint64_t to,
                     const std::function<bool(events::RecordedEvent&)>& visit) const;
  // Two threads: WriterLoop takes the waiting appends, seals them into a chunk (positions,
  // hashes, the WriteBatch) and writes it to RocksDB unsynced (WriteChunk), while
  // CommitLoop syncs the WAL once for every chunk written before the sync began and then
  // publishes and answers them (CommitGroup). Memtable inserts and WAL writes of the next
  // chunks thus run during the fsync instead of after it.
  // Either step may also run on an Append caller instead (SealOnCaller), while the role
  // is free: sealing_ and syncing_ make sure one thread at a time seals and one syncs.
  void WriterLoop();
  void CommitLoop();
  void SealOnCaller(Pending& pending);
  // Why an append is refused before it is queued: a read-only open; after a failed write
  // or sync, or once Shutdown began (RefusalLocked: caller holds queue_mu_; Ok otherwise).
  Status ReadOnlyRefusal() const;
  Status RefusalLocked() const;
  // Resolve + SealInto + WriteChunk for a batch of arrivals (the sealing role held).
  std::unique_ptr<Prepared> SealChunk(const std::vector<Pending*>& arrivals);
  void WriteChunk(Prepared& chunk);
  // Records the first write or sync failure: from then on every append is refused.
  void Fail(uint64_t first_position, uint64_t last_position, const std::string& why);
  // The sealing thread's two steps for a batch of arrivals. Resolve does the RocksDB
  // reads (idempotency records, versions of streams not seen yet); answers[i] is set for
  // an arrival answered without sealing (a repeat of a committed key, a failed read).
  // SealInto seals the rest into a chunk: positions, hashes and the WriteBatch, no I/O.
  void Resolve(const std::vector<Pending*>& arrivals,
               std::vector<std::optional<Result<AppendResult>>>* answers,
               std::vector<std::pair<std::string, uint64_t>>* loaded);
  void SealInto(Prepared& group, const std::vector<Pending*>& arrivals,
                std::vector<std::optional<Result<AppendResult>>>& answers,
                const std::vector<std::pair<std::string, uint64_t>>& loaded);
  // Syncs the WAL for chunks already written, publishes them and answers every waiter
  // (AnswerGroup); after a failure, answers them with the error instead.
  void CommitGroup(std::vector<std::unique_ptr<Prepared>>& chunks, bool on_caller = false);
  // Hands each waiter of a committed group its result and starts the wake-up tree, then
  // runs the callbacks of the group's AppendAsync waiters; PassWakeOn is each woken
  // waiter's part of the tree.
  static void AnswerGroup(std::unique_ptr<Prepared> prepared);
  // Adds a WAL sync's duration to the stats; reports it through options_.log when slow.
  void NoteSync(std::chrono::steady_clock::duration took,
                const std::vector<std::unique_ptr<Prepared>>& chunks);
  static void PassWakeOn(Pending& pending);
  // The committed version of a stream, from RocksDB (0 for an unknown stream).
  Result<uint64_t> LoadStreamVersion(const std::string& stream) const;

  // PiiVault
  Result<std::string> SubjectFor(const events::Bytes& email_key, std::string_view email) override;
  std::optional<std::string> Lookup(std::string_view subject) const override;
  Result<uint32_t> Erase(const events::Bytes& email_key) override;

  const RocksDbOptions options_;
  SystemClock system_clock_;
  const Clock* clock_;
  std::string secret_;

  // Declaration order matters for destruction: column family handles go before the DB.
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<Columns> cf_;

  // ---- queue: Append callers → writer ----
  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;  // the writer waits here for work
  std::deque<Pending*> queue_;        // borrowed: each Pending lives on its caller's stack
  bool stopping_ = false;             // Shutdown called: refuse new appends
  bool paused_for_test_ = false;
  bool sealing_ = false;  // the sealing role is taken (the sealing thread or an appender)
  std::thread writer_;     // seals groups
  std::thread committer_;  // writes, syncs and publishes them, in order
  std::mutex join_mu_;     // one Shutdown joins both, the others wait

  // ---- sealing thread → committing thread: chunks written unsynced, in order ----
  std::mutex pipe_mu_;
  std::condition_variable pipe_cv_;
  std::vector<std::unique_ptr<Prepared>> written_;
  bool sealing_done_ = false;
  bool syncing_ = false;  // the syncing role is taken (the syncing thread or an appender)

  // ---- the sealing thread's own view: the log once every sealed group is durable ----
  Head sealed_head_;
  std::unordered_map<std::string, uint64_t> sealed_versions_;
  // Idempotency keys of groups sealed and not yet committed (RocksDB does not show them
  // until their sync is done), with the result a repeat gets.
  std::mutex in_flight_mu_;
  std::unordered_map<std::string, AppendResult> in_flight_keys_;

  // ---- published state: written by the writer after a commit, read by anyone ----
  mutable std::mutex state_mu_;
  mutable std::condition_variable head_cv_;
  Head head_;              // last committed position and hash
  bool shutdown_ = false;  // wakes WaitForHead
  // Stream versions of committed groups. Readers fall back to RocksDB on a miss. Written
  // under state_mu_ by the holder of the syncing role (published versions) and of the
  // sealing role (a written chunk's committed versions, WriteChunk); the sealing role
  // keeps sealed_versions_. TODO(perf): bound it (LRU) if a ledger grows past millions of
  // streams.
  std::unordered_map<std::string, uint64_t> versions_;
  WriterStats stats_;

  // Set by the writer when a group's write or sync failed; never cleared.
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> written_position_{0};  // WrittenPositionForTest
  std::string failure_;       // the message later appends get (under queue_mu_)
  std::string failure_what_;  // what failed and why, for the appends it left unknown

  // Set when a salvage_wal_prefix open found the WAL damaged: RocksDB's complaint.
  bool salvaging_ = false;
  std::string wal_damage_;

  // ---- vault ----
  // Subjects SubjectFor made and no chunk has written yet, by email key. They ride the
  // next chunk WriteChunk writes (so the sync that makes any later append durable covers
  // them) instead of costing a RocksDB write of their own. Over kMaxFreshSubjects (no
  // append for a while), SubjectFor writes them itself.
  struct FreshSubject {
    std::string subject;
    std::string email;
  };
  // Guards fresh_ and serialises SubjectFor/Erase, so two callers with one email key get
  // one subject. Held briefly; never across a RocksDB write.
  mutable std::mutex vault_mu_;
  mutable VaultCache vault_cache_;  // subject → email of written subjects
  std::unordered_map<std::string, FreshSubject> fresh_;
  std::unordered_map<std::string, std::string> fresh_by_subject_;  // subject → email key
  std::atomic<size_t> fresh_count_{0};  // fresh_.size(), read without the lock
  // Bumped (under vault_mu_) whenever a subject leaves fresh_ or RocksDB: SubjectFor reads
  // RocksDB without the lock and trusts a miss only if no such change happened meanwhile.
  uint64_t vault_epoch_ = 0;
  // Held by whoever writes fresh subjects (WriteChunk, or SubjectFor past the cap) from
  // taking them out of fresh_ until RocksDB has them, and by Erase: an erasure never runs
  // between the two, so it always finds a subject in fresh_ or in RocksDB. Taken before
  // vault_mu_.
  std::mutex vault_write_mu_;
  // Takes every fresh subject into `batch`; returns their email keys. Caller holds
  // vault_write_mu_.
  std::vector<std::string> TakeFreshSubjects(rocksdb::WriteBatch& batch);
  // After `batch` was written: RocksDB answers for them now.
  void ForgetFreshSubjects(const std::vector<std::string>& keys);
  // Writes every fresh subject in a batch of its own.
  Status WriteFreshSubjects(bool sync);
};

}  // namespace roster::storage
