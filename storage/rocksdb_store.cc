#include "storage/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "events/codec.h"
#include "storage/chain.h"
#include "storage/futex.h"
#include "storage/rocksdb_keys.h"
#include "storage/snapshot_file.h"
#include "storage/verify.h"

namespace roster::storage {

namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  ErrorCode code = s.IsCorruption() ? ErrorCode::kCorruption : ErrorCode::kIoError;
  return Error(code, std::string(what) + ": rocksdb: " + s.ToString());
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

Hash256 HashFrom(const char* p) {
  Hash256 h;
  std::memcpy(h.data(), p, h.size());
  return h;
}

// The streams column family is read per stream: its prefix (everything but the trailing
// 8-byte version, i.e. "stream ‖ 0x00") feeds a prefix Bloom filter, so ReadStream's Seek
// skips every SST file that holds nothing of the stream. Name() is recorded in SST files:
// never change it.
class StreamIndexPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "roster.StreamIndexPrefix.v1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > 8; }
};

// Bucket key of the hash memtables of the point-lookup column families (vault,
// vault_index, idempotency) and of their prefix Bloom filters: the first 12 bytes (`sub_`
// and 32 random bits of a subject; 96 bits of an email key's HMAC; the start of a
// caller's idempotency key), or the whole key if shorter. Keys sharing a prefix share a
// bucket, which turns into a skiplist past 256 entries. Its name is recorded in SST
// files: never change it.
class PointKeyPrefix final : public rocksdb::SliceTransform {
 public:
  static constexpr size_t kBytes = 12;
  const char* Name() const override { return "roster.PointKeyPrefix.v1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), std::min(key.size(), kBytes));
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

// Buffer for canonical bytes that Cap'n Proto can read in place: RocksDB hands out
// values at arbitrary alignment and the decoder would otherwise copy each one into a
// fresh heap array (BUILD_NOTES pitfall 6). Reused across records of one scan.
class AlignedBuffer {
 public:
  std::string_view Copy(const char* data, size_t n) {
    size_t words = (n + 7) / 8;
    if (words > words_.size()) words_.resize(std::max(words, words_.size() * 2));
    std::memcpy(words_.data(), data, n);
    return std::string_view(reinterpret_cast<const char*>(words_.data()), n);
  }

 private:
  std::vector<uint64_t> words_;
};

Status CorruptAt(uint64_t position, const std::string& problem) {
  return Error(ErrorCode::kCorruption, "position " + std::to_string(position) + ": " + problem);
}

// Decodes one stored events value (hash ‖ canonical) found under `position`. With
// `verify`, recomputes the record's own hash from its prev_hash and bytes.
Result<events::RecordedEvent> DecodeStored(uint64_t position, std::string_view value, bool verify,
                                           AlignedBuffer* buffer) {
  if (value.size() <= keys::kHashBytes) return CorruptAt(position, "record shorter than its hash");
  Hash256 stored = HashFrom(value.data());
  std::string_view canonical =
      buffer->Copy(value.data() + keys::kHashBytes, value.size() - keys::kHashBytes);
  auto rec = events::DecodeRecorded(canonical, stored);
  if (!rec.ok()) return CorruptAt(position, rec.error().message());
  if (rec->envelope.position != position) {
    return CorruptAt(position, "envelope says position " + std::to_string(rec->envelope.position));
  }
  if (verify && events::ChainHash(rec->envelope.prev_hash, canonical) != stored) {
    return CorruptAt(position, "hash mismatch: the stored bytes do not hash to the stored hash");
  }
  return rec;
}

// 64-bit mixer (splitmix64 finaliser) for Verify's per-stream index fingerprints.
uint64_t Mix(uint64_t version, uint64_t position) {
  uint64_t z = version * 0x9E3779B97F4A7C15ull ^ (position + 0xD1B54A32D192ED03ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

// Column family handles, owned by the DB (destroyed before it closes).
struct RocksDbEventStore::Columns {
  std::vector<rocksdb::ColumnFamilyHandle*> all;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* streams = nullptr;
  rocksdb::ColumnFamilyHandle* stream_heads = nullptr;
  rocksdb::ColumnFamilyHandle* idempotency = nullptr;
  rocksdb::ColumnFamilyHandle* vault = nullptr;
  rocksdb::ColumnFamilyHandle* vault_index = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
};

// One queued Append. Lives on the caller's stack; the writer fills `result` and releases
// `done`, after which it never touches the Pending again. An AppendAsync's Pending is on
// the heap instead, carries `callback`, and is freed by AnswerGroup after the callback.
struct RocksDbEventStore::Pending {
  explicit Pending(AppendRequest r) : request(std::move(r)) {}
  AppendRequest request;
  AppendCallback callback;  // set for AppendAsync
  std::optional<Result<AppendResult>> result;
  // Set by the committing thread before `done`: the answered group and this append's
  // index in it, so that the waiter can pass the wake-up on (see AnswerGroup).
  Prepared* answered = nullptr;
  size_t index = 0;
  internal::OneShot done;
};

// A sealed group on its way from the sealing thread to the committing thread: the
// batch to write and everything to publish and answer once it is durable.
struct RocksDbEventStore::Prepared {
  std::vector<Pending*> group;
  std::vector<std::optional<Result<AppendResult>>> results;
  rocksdb::WriteBatch batch;
  uint64_t first_position = 0;
  uint64_t next_position = 0;  // first_position + events in the batch
  Hash256 prev{};              // the hash of position next_position - 1
  std::unordered_map<std::string, uint64_t> touched;  // stream → version after this group
  std::unordered_map<std::string, uint64_t> loaded;   // committed versions read from RocksDB
  std::vector<std::pair<std::string, size_t>> keyed;  // idempotency key → index in group
  size_t events = 0;  // sealed into the batch: next_position - first_position
  // Whether the sealing thread wrote the batch (unsynced): a written batch whose sync
  // fails has an unknown outcome; one never written was refused.
  enum class Written { kNo, kYes, kFailed } written = Written::kNo;
  uint64_t committed_appends = 0, deduplicated = 0, rejected = 0;
  // Waiters still to pass the wake-up on; the last one frees the group.
  std::atomic<size_t> unanswered{0};
};

RocksDbEventStore::RocksDbEventStore(const RocksDbOptions& options)
    : options_(options),
      clock_(options.clock ? options.clock : &system_clock_),
      cf_(std::make_unique<Columns>()),
      vault_cache_(options.vault_cache_entries) {}

Result<std::unique_ptr<RocksDbEventStore>> RocksDbEventStore::Open(const RocksDbOptions& options) {
  if (options.path.empty()) return Error(ErrorCode::kInvalidField, "path: required");
  if (options.max_batch_events == 0) {
    return Error(ErrorCode::kInvalidField, "max_batch_events: must be at least 1");
  }
  if (options.salvage_wal_prefix && !options.read_only) {
    return Error(ErrorCode::kInvalidField, "salvage_wal_prefix: only with read_only");
  }
  std::unique_ptr<RocksDbEventStore> store(new RocksDbEventStore(options));
  Status opened = store->OpenDb();
  if (!opened.ok() && opened.code() == ErrorCode::kCorruption && options.salvage_wal_prefix) {
    // Damage RocksDB found while replaying the WAL: open again with the records before it.
    store.reset(new RocksDbEventStore(options));
    store->salvaging_ = true;
    store->wal_damage_ = opened.message();
    opened = store->OpenDb();
  }
  ROSTER_RETURN_IF_ERROR(opened);
  ROSTER_RETURN_IF_ERROR(store->LoadOrCreateMeta());
  ROSTER_RETURN_IF_ERROR(store->RecoverHead());
  if (!options.read_only) {
    store->sealed_head_ = store->head_;
    store->writer_ = std::thread(&RocksDbEventStore::WriterLoop, store.get());
    store->committer_ = std::thread(&RocksDbEventStore::CommitLoop, store.get());
    // Named for top -H, perf and gdb.
    pthread_setname_np(store->writer_.native_handle(), "roster-seal");
    pthread_setname_np(store->committer_.native_handle(), "roster-commit");
  }
  return store;
}

RocksDbEventStore::~RocksDbEventStore() {
  Shutdown();
  if (db_ && !options_.read_only && !failed_.load()) {
    // A cleanly closed ledger keeps its events in SST files, where every block carries a
    // checksum and Verify names a damaged record, rather than in the WAL, where the open
    // itself has to judge damage. Not after a failed sync: the log stays as it was.
    rocksdb::FlushOptions fo;
    fo.wait = true;
    std::vector<rocksdb::ColumnFamilyHandle*> all(cf_->all.begin(), cf_->all.end());
    db_->Flush(fo, all).PermitUncheckedError();  // on failure the WAL still holds it all
  }
  if (db_) {
    for (auto* h : cf_->all) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    cf_->all.clear();
    // A failed Close (e.g. after a failed sync) leaves the WAL to be replayed on the next
    // open; nothing more can be done here.
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

// ---- opening ----

Status RocksDbEventStore::OpenDb() {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !options_.read_only;
  db_options.create_missing_column_families = !options_.read_only;
  if (options_.env) db_options.env = options_.env.get();
  // Two cores is the deployment target: one flush and one compaction at a time.
  db_options.max_background_jobs = 2;
  // All column families share the WAL; a rarely written one (vault, snapshots, meta)
  // would pin old WAL files forever. Past this size RocksDB flushes it so they can go.
  db_options.max_total_wal_size = 256 << 20;
  // Smooth SST writeback instead of one large fsync per file.
  db_options.bytes_per_sync = 1 << 20;
  // Every synced group is a whole WAL record, so a crash can only cut the log short inside
  // the unsynced tail (a record cut off at the end of the file), which no caller was told
  // about; kTolerateCorruptedTailRecords drops exactly that. A record that is all there but
  // fails its checksum is damage, not a crash: the open fails with kCorruption instead of
  // silently replaying a shorter log (kPointInTimeRecovery would stop there and drop
  // every later acknowledged group). `roster verify` then opens with salvage_wal_prefix
  // to name the first position it cannot read. storage/README.md "Tamper detection".
  db_options.wal_recovery_mode =
      salvaging_ ? rocksdb::WALRecoveryMode::kPointInTimeRecovery
                 : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.keep_log_file_num = 4;
  // RocksDB opens table files with up to 16 threads per column family (144 threads for
  // our nine, each started and joined on every open). On two cores that only slows the
  // open down; one thread loads them all.
  db_options.max_file_opening_threads = 1;
  db_options.paranoid_checks = true;
  // Writers queued behind RocksDB's write-group leader (the sealing thread's chunks, vault
  // writes from request threads) block at once instead of spinning on sched_yield() for
  // up to 100 us: with dozens of request threads on two cores every yield is a context
  // switch taken from the threads doing the work.
  db_options.enable_write_thread_adaptive_yield = false;
  // The hash memtables of the point-lookup column families (below) cannot take
  // concurrent inserts. One thread, the sealing thread, writes nearly every batch anyway.
  db_options.allow_concurrent_memtable_write = false;

  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options_.block_cache_bytes);

  // Prefer LZ4: capnp envelopes are full of zero padding and LZ4 decompresses at GB/s, so
  // replay stays CPU-cheap. Fall back to whatever the library offers.
  rocksdb::CompressionType compression = rocksdb::kNoCompression;
  for (auto c : rocksdb::GetSupportedCompressions()) {
    if (c == rocksdb::kLZ4Compression) compression = c;
    if (c == rocksdb::kSnappyCompression && compression == rocksdb::kNoCompression) compression = c;
  }

  auto table = [&](size_t block_size, bool bloom, bool whole_key) {
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    t.block_size = block_size;
    t.checksum = rocksdb::kXXH3;
    t.format_version = 5;
    if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.whole_key_filtering = whole_key;
    return std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(t));
  };
  auto cf_options = [&](size_t write_buffer) {
    rocksdb::ColumnFamilyOptions o;
    o.write_buffer_size = write_buffer;
    o.compression = compression;
    o.level_compaction_dynamic_level_bytes = true;
    return o;
  };

  // events: keys only ever grow, so each flush produces an SST whose key range follows
  // the previous one and leveled compaction mostly trivially moves files down instead of
  // rewriting them. Large blocks suit the sequential replay scan; no Bloom filter (every
  // lookup is by an existing position, or a range).
  rocksdb::ColumnFamilyOptions events = cf_options(options_.write_buffer_bytes);
  events.table_factory = table(32 << 10, false, false);
  // Uncompressed: a damaged byte of a block then damages exactly one stored record, which
  // Verify's chain check names (with compression it garbles the rest of the block, or the
  // whole block fails to decompress). Replay also skips decompression.
  events.compression = rocksdb::kNoCompression;
  events.target_file_size_base = 64 << 20;
  // Memtable inserts run on the commit path, after the fsync and before the group is
  // answered. Positions only grow, so with one insert hint for all keys (an empty prefix)
  // each insert starts from the previous one instead of searching the skiplist.
  events.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));

  // streams: read by prefix (one stream's versions), see StreamIndexPrefix.
  rocksdb::ColumnFamilyOptions streams = cf_options(16 << 20);
  streams.prefix_extractor = std::make_shared<StreamIndexPrefix>();
  streams.memtable_prefix_bloom_size_ratio = 0.05;
  streams.table_factory = table(4 << 10, true, false);
  // One stream's versions arrive in order: one insert hint per stream.
  streams.memtable_insert_with_hint_prefix_extractor = streams.prefix_extractor;

  // Point lookups, mostly misses (new streams, new idempotency keys): whole-key Bloom
  // filters answer a miss without reading a data block.
  rocksdb::ColumnFamilyOptions point = cf_options(8 << 20);
  point.table_factory = table(4 << 10, true, true);
  point.memtable_whole_key_filtering = true;
  point.memtable_prefix_bloom_size_ratio = 0.05;

  // A stream's head is overwritten by every append to it: its previous entry is the hint.
  rocksdb::ColumnFamilyOptions heads = point;
  heads.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewNoopTransform());

  rocksdb::ColumnFamilyOptions small = cf_options(4 << 20);
  small.table_factory = table(4 << 10, true, true);

  // Vault and idempotency keys are random and unhinted, so a skiplist memtable pays a
  // cache miss per level on every insert: the two vault inserts of a new address were a
  // third of the chunk write's CPU in the gateway's invitation bench (docs/BENCHMARKS.md).
  // Hash buckets make inserts and point lookups O(1); nothing iterates these column
  // families except flushes, which sort once, on their own thread. Hash memtables cannot
  // take concurrent inserts, hence allow_concurrent_memtable_write = false above.
  auto hashed = [](rocksdb::ColumnFamilyOptions o, size_t buckets) {
    o.prefix_extractor = std::make_shared<PointKeyPrefix>();
    o.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(buckets));
    return o;
  };
  rocksdb::ColumnFamilyOptions vault = hashed(small, 1 << 15);        // 256 KiB of buckets
  rocksdb::ColumnFamilyOptions vault_index = hashed(point, 1 << 16);  // 512 KiB
  rocksdb::ColumnFamilyOptions idempotency = hashed(point, 1 << 16);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, small},  // unused; RocksDB requires it
      {keys::kEventsCf, events},
      {keys::kStreamsCf, streams},
      {keys::kStreamHeadsCf, heads},
      {keys::kIdempotencyCf, idempotency},
      {keys::kVaultCf, vault},
      {keys::kVaultIndexCf, vault_index},  // a new address is a miss: Bloom filters answer it
      {keys::kSnapshotsCf, small},
      {keys::kMetaCf, small},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options_.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, options_.path, descriptors, &handles, &raw)
          : rocksdb::DB::Open(db_options, options_.path, descriptors, &handles, &raw);
  db_.reset(raw);  // owned at once (BUILD_NOTES pitfall 9)
  if (!s.ok()) return FromRocks(s, "opening the event log at " + options_.path);
  cf_->all = handles;
  cf_->events = handles[1];
  cf_->streams = handles[2];
  cf_->stream_heads = handles[3];
  cf_->idempotency = handles[4];
  cf_->vault = handles[5];
  cf_->vault_index = handles[6];
  cf_->snapshots = handles[7];
  cf_->meta = handles[8];
  if (!options_.read_only) {
    // Projection snapshots are files beside RocksDB's own (which ignores the directory).
    s = FileEnv()->CreateDirIfMissing(SnapshotDir());
    if (!s.ok()) return FromRocks(s, "creating " + SnapshotDir());
    // A crash in the middle of a snapshot write leaves its .tmp (as big as a snapshot).
    RemoveUnfinishedSnapshotFiles(FileEnv(), SnapshotDir());
  }
  return Status::Ok();
}

Status RocksDbEventStore::LoadOrCreateMeta() {
  std::string version, secret;
  rocksdb::Status sv =
      db_->Get(rocksdb::ReadOptions(), cf_->meta, keys::kMetaFormatVersion, &version);
  if (!sv.ok() && !sv.IsNotFound()) return FromRocks(sv, "reading the format version");
  rocksdb::Status ss =
      db_->Get(rocksdb::ReadOptions(), cf_->meta, keys::kMetaLedgerSecret, &secret);
  if (!ss.ok() && !ss.IsNotFound()) return FromRocks(ss, "reading the ledger secret");
  if (sv.IsNotFound() && ss.IsNotFound()) {
    if (options_.read_only) {
      return Error(ErrorCode::kCorruption,
                   options_.path + " is not a Roster event log (no format version, no secret)");
    }
    // First open: both in one synced batch, so a crash leaves either both or neither.
    secret_ = RandomBytes(keys::kLedgerSecretBytes);
    rocksdb::WriteBatch batch;
    batch.Put(cf_->meta, keys::kMetaFormatVersion, keys::BigEndian32(keys::kFormatVersion));
    batch.Put(cf_->meta, keys::kMetaLedgerSecret, secret_);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) return FromRocks(s, "writing the ledger secret");
    return Status::Ok();
  }
  if (sv.IsNotFound() || ss.IsNotFound()) {
    return Error(ErrorCode::kCorruption,
                 std::string("meta: ") + (sv.IsNotFound() ? "format_version" : "ledger_secret") +
                     " is missing");
  }
  auto v = keys::ParseBigEndian32(version);
  if (!v || *v != keys::kFormatVersion) {
    return Error(ErrorCode::kCorruption,
                 "meta: unsupported format version " + (v ? std::to_string(*v) : ToHex(version)) +
                     " (this build reads " + std::to_string(keys::kFormatVersion) + ")");
  }
  if (secret.size() != keys::kLedgerSecretBytes) {
    return Error(ErrorCode::kCorruption, "meta: the ledger secret is not 32 bytes");
  }
  secret_ = std::move(secret);
  return Status::Ok();
}

Status RocksDbEventStore::RecoverHead() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->events));
  it->SeekToLast();
  if (it->status().IsCorruption() && options_.read_only) {
    // The last block fails its checksum. A writer must not chain onto it, but a read-only
    // open (roster verify) goes on, so that Verify can name the damaged record: the head
    // it reads unchecked here is only the end of its walk.
    rocksdb::ReadOptions unchecked;
    unchecked.verify_checksums = false;
    it.reset(db_->NewIterator(unchecked, cf_->events));
    it->SeekToLast();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the log head");
  if (!it->Valid()) return Status::Ok();  // empty log
  auto position = keys::ParseEventKey(View(it->key()));
  if (!position) return Error(ErrorCode::kCorruption, "the last events key is not 8 bytes");
  if (it->value().size() <= keys::kHashBytes) {
    return CorruptAt(*position, "the head record is shorter than its hash");
  }
  head_ = Head{*position, HashFrom(it->value().data())};
  return Status::Ok();
}

// ---- appending ----

Result<AppendResult> RocksDbEventStore::Append(AppendRequest request) {
  ROSTER_RETURN_IF_ERROR(ValidateAppend(request));
  if (options_.read_only) return ReadOnlyRefusal();
  Pending pending(std::move(request));
  bool seal_here = false;
  {
    std::lock_guard lock(queue_mu_);
    if (Status refused = RefusalLocked(); !refused.ok()) return refused;
    // Nobody sealing and nobody waiting: seal our own append rather than wake the sealing
    // thread (a wake-up from idle costs tens of microseconds on this VM).
    seal_here = !sealing_ && queue_.empty() && !paused_for_test_;
    if (seal_here) {
      sealing_ = true;
    } else {
      queue_.push_back(&pending);
    }
  }
  if (seal_here) {
    SealOnCaller(pending);
  } else {
    queue_cv_.notify_one();
  }
  pending.done.Wait();
  Result<AppendResult> result = std::move(*pending.result);
  PassWakeOn(pending);  // `pending` is not touched again by anyone after this
  return result;
}

void RocksDbEventStore::AppendAsync(AppendRequest request, AppendCallback done) {
  if (!done) done = [](Result<AppendResult>) {};  // fire and forget
  if (Status valid = ValidateAppend(request); !valid.ok()) return done(std::move(valid));
  if (options_.read_only) return done(ReadOnlyRefusal());
  auto pending = std::make_unique<Pending>(std::move(request));
  Status refused;
  {
    std::lock_guard lock(queue_mu_);
    refused = RefusalLocked();
    if (refused.ok()) {
      pending->callback = std::move(done);
      queue_.push_back(pending.release());  // freed by AnswerGroup
    }
  }
  if (!refused.ok()) return done(std::move(refused));
  queue_cv_.notify_one();
}

Status RocksDbEventStore::ReadOnlyRefusal() const {
  return Error(ErrorCode::kUnavailable,
               "the event log at " + options_.path + " is open read-only; appends are refused");
}

Status RocksDbEventStore::RefusalLocked() const {
  if (failed_.load()) return Error(ErrorCode::kUnavailable, failure_);
  if (stopping_) return Error(ErrorCode::kUnavailable, "the event store is shut down");
  return Status::Ok();
}

std::unique_ptr<RocksDbEventStore::Prepared> RocksDbEventStore::SealChunk(
    const std::vector<Pending*>& arrivals) {
  std::vector<std::optional<Result<AppendResult>>> answers;
  std::vector<std::pair<std::string, uint64_t>> loaded;
  Resolve(arrivals, &answers, &loaded);
  auto chunk = std::make_unique<Prepared>();
  chunk->first_position = chunk->next_position = sealed_head_.position + 1;
  chunk->prev = sealed_head_.hash;
  SealInto(*chunk, arrivals, answers, loaded);
  WriteChunk(*chunk);
  return chunk;
}

// The caller holds the sealing role (sealing_). It seals and writes its own append, then
// either hands the chunk to the syncing thread (a sync is running or chunks are waiting:
// they go first) or, when the syncing side is idle, takes the syncing role too and commits
// the chunk on this thread: a lone appender then costs no thread hand-off at all. The
// sealing role is released before the sync, so later arrivals are sealed meanwhile.
void RocksDbEventStore::SealOnCaller(Pending& pending) {
  std::unique_ptr<Prepared> chunk = SealChunk({&pending});
  bool sync_here = false;
  {
    std::lock_guard lock(pipe_mu_);
    sync_here = !syncing_ && written_.empty();
    if (sync_here) {
      syncing_ = true;
    } else {
      written_.push_back(std::move(chunk));
      pipe_cv_.notify_all();
    }
  }
  {
    // Notified under the lock: once sealing_ is false, Shutdown may finish and free us.
    std::lock_guard lock(queue_mu_);
    sealing_ = false;
    if (!queue_.empty() || stopping_) queue_cv_.notify_all();
  }
  if (!sync_here) return;
  std::vector<std::unique_ptr<Prepared>> chunks;
  chunks.push_back(std::move(chunk));
  CommitGroup(chunks, /*on_caller=*/true);  // answers `pending`, the group's only waiter
  std::lock_guard lock(pipe_mu_);
  syncing_ = false;
  // Chunks sealed during our sync, or a Shutdown waiting: the syncing thread goes on.
  if (!written_.empty() || sealing_done_) pipe_cv_.notify_all();
}

void RocksDbEventStore::WriterLoop() {
  std::vector<Pending*> arrivals;
  for (;;) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] {
        if (sealing_) return false;  // an appender is sealing its own append
        return (!queue_.empty() && (!paused_for_test_ || stopping_)) ||
               (stopping_ && queue_.empty());
      });
      if (queue_.empty()) break;  // stopping, everything drained
      sealing_ = true;
      // Take everything waiting, up to the bound; one append always fits.
      size_t events = 0;
      while (!queue_.empty()) {
        size_t n = queue_.front()->request.events.size();
        if (!arrivals.empty() && events + n > options_.max_batch_events) break;
        events += n;
        arrivals.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    std::unique_ptr<Prepared> chunk = SealChunk(arrivals);
    {
      std::lock_guard lock(pipe_mu_);
      written_.push_back(std::move(chunk));
    }
    pipe_cv_.notify_all();
    {
      std::lock_guard lock(queue_mu_);
      sealing_ = false;
    }
    arrivals.clear();
  }
  {
    std::lock_guard lock(pipe_mu_);
    sealing_done_ = true;
  }
  pipe_cv_.notify_all();
}

void RocksDbEventStore::WriteChunk(Prepared& chunk) {
  if (chunk.events == 0 || failed_.load()) return;
  // From this Write on, RocksDB's stream_heads may hold this chunk's unsynced versions;
  // StreamVersion answers these streams from versions_ instead (committed versions).
  {
    std::lock_guard lock(state_mu_);
    for (const auto& [stream, version] : chunk.loaded) versions_.try_emplace(stream, version);
  }
  // Vault subjects made since the last chunk ride this one (see SubjectFor).
  std::unique_lock<std::mutex> vault_lock;
  std::vector<std::string> subjects;
  if (fresh_count_.load(std::memory_order_acquire) > 0) {
    vault_lock = std::unique_lock(vault_write_mu_);
    subjects = TakeFreshSubjects(chunk.batch);
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;  // the syncing thread's SyncWAL makes it durable, with every chunk before
  rocksdb::Status s = db_->Write(wo, &chunk.batch);
  if (s.ok()) {
    if (!subjects.empty()) ForgetFreshSubjects(subjects);
    chunk.written = Prepared::Written::kYes;
    written_position_.store(chunk.next_position - 1, std::memory_order_relaxed);
    return;
  }
  chunk.written = Prepared::Written::kFailed;
  Fail(chunk.first_position, chunk.next_position - 1, s.ToString());
}

void RocksDbEventStore::Fail(uint64_t first, uint64_t last, const std::string& why) {
  std::lock_guard lock(queue_mu_);
  if (failed_.load()) return;  // the first failure is the one to report
  failure_ = "the log refused writes after a failed sync at position " + std::to_string(first) +
             " (" + why + "); restart rosterd";
  failure_what_ = "write/sync of positions " + std::to_string(first) + ".." +
                  std::to_string(last) + " failed (" + why + ")";
  failed_.store(true);
}

void RocksDbEventStore::CommitLoop() {
  std::vector<std::unique_ptr<Prepared>> chunks;
  for (;;) {
    {
      std::unique_lock lock(pipe_mu_);
      // Not while an appender commits its own chunk (SealOnCaller): one sync at a time,
      // groups published in order.
      pipe_cv_.wait(lock, [&] { return !syncing_ && (!written_.empty() || sealing_done_); });
      if (written_.empty()) return;  // sealing is over and everything is committed
      chunks.swap(written_);  // every chunk written so far: one sync covers them all
      syncing_ = true;
    }
    CommitGroup(chunks);
    chunks.clear();
    std::lock_guard lock(pipe_mu_);
    syncing_ = false;
  }
}

void RocksDbEventStore::Resolve(const std::vector<Pending*>& arrivals,
                                std::vector<std::optional<Result<AppendResult>>>* answers,
                                std::vector<std::pair<std::string, uint64_t>>* loaded) {
  answers->resize(arrivals.size());
  if (failed_.load()) return;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    const AppendRequest& r = arrivals[i]->request;
    auto& answer = (*answers)[i];
    if (!r.idempotency_key.empty()) {
      // In flight first, then RocksDB: a committed group leaves in_flight_keys_ only after
      // RocksDB has it, so a key missed by both is in no group at all.
      {
        std::lock_guard lock(in_flight_mu_);
        auto it = in_flight_keys_.find(r.idempotency_key);
        if (it != in_flight_keys_.end()) {
          AppendResult repeat = it->second;
          repeat.deduplicated = true;
          answer = std::move(repeat);
          continue;
        }
      }
      auto stored = FindIdempotencyKey(r.idempotency_key);
      if (!stored.ok()) {
        answer = stored.error();
        continue;
      }
      if (stored->has_value()) {
        answer = std::move(**stored);
        continue;
      }
    }
    if (!sealed_versions_.contains(r.stream)) {
      // Never guess a version: a failed read fails this append (not the group). A stream
      // missing from sealed_versions_ is in no group still syncing, so RocksDB is current.
      auto committed = LoadStreamVersion(r.stream);
      if (!committed.ok()) {
        answer = committed.error();
        continue;
      }
      loaded->emplace_back(r.stream, *committed);
      sealed_versions_.emplace(r.stream, *committed);
    }
  }
}

Result<std::optional<AppendResult>> RocksDbEventStore::FindIdempotencyKey(
    std::string_view key) const {
  std::string stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->idempotency, key, &stored);
  if (s.IsNotFound()) return std::optional<AppendResult>();
  if (!s.ok()) return FromRocks(s, "reading idempotency key " + std::string(key));
  auto rec = keys::DecodeIdempotency(stored);
  if (!rec) {
    return Error(ErrorCode::kCorruption,
                 "idempotency record of key " + std::string(key) + " is unreadable");
  }
  // Written but not yet synced: not committed (the sealing thread still has the key in
  // in_flight_keys_, and answers a repeat from there).
  if (rec->last_position > GetHead().position) return std::optional<AppendResult>();
  AppendResult repeat;
  repeat.first_position = rec->first_position;
  repeat.last_position = rec->last_position;
  repeat.stream_version = rec->stream_version;
  repeat.recorded_at = rec->recorded_at;
  repeat.deduplicated = true;
  repeat.idempotency_fingerprint = std::move(rec->fingerprint);
  repeat.idempotency_payload = std::move(rec->payload);
  return std::optional<AppendResult>(std::move(repeat));
}

Result<uint64_t> RocksDbEventStore::LoadStreamVersion(const std::string& stream) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->stream_heads, stream, &value);
  if (s.IsNotFound()) return uint64_t{0};
  if (!s.ok()) return FromRocks(s, "reading the version of stream " + stream);
  if (value.size() != 8) {
    return Error(ErrorCode::kCorruption, "stream head of " + stream + " is not 8 bytes");
  }
  return keys::GetBigEndian64(value.data());
}

void RocksDbEventStore::SealInto(Prepared& p, const std::vector<Pending*>& arrivals,
                                 std::vector<std::optional<Result<AppendResult>>>& answers,
                                 const std::vector<std::pair<std::string, uint64_t>>& loaded) {
  const size_t base = p.group.size();
  p.group.insert(p.group.end(), arrivals.begin(), arrivals.end());
  p.results.resize(p.group.size());
  for (const auto& [stream, version] : loaded) p.loaded.try_emplace(stream, version);
  // A failed sync stops the log: the committing thread answers the group kUnavailable.
  if (failed_.load()) return;

  // The sealing thread owns sealed_head_ and sealed_versions_: the log as it will be once
  // every group sealed so far is durable. (A failure fails every later group, so sealing
  // on top of a group still syncing is never wrong for an append that gets acknowledged.)
  uint64_t next_position = sealed_head_.position + 1;
  Hash256 prev = sealed_head_.hash;
  const Micros now = clock_->Now();
  std::unordered_map<std::string_view, uint64_t> touched;  // streams of these arrivals

  char position_key[8];
  char position_value[8];
  for (size_t i = 0; i < arrivals.size(); ++i) {
    const size_t slot = base + i;
    const AppendRequest& r = arrivals[i]->request;
    if (answers[i]) {  // a repeat of a committed key, or a failed read
      if (answers[i]->ok()) ++p.deduplicated;
      p.results[slot] = std::move(*answers[i]);
      continue;
    }
    if (!r.idempotency_key.empty()) {
      // The same key earlier in this batch: a repeat of that append.
      std::optional<AppendResult> in_flight;
      {
        std::lock_guard lock(in_flight_mu_);
        auto it = in_flight_keys_.find(r.idempotency_key);
        if (it != in_flight_keys_.end()) in_flight = it->second;
      }
      if (in_flight) {
        in_flight->deduplicated = true;
        p.results[slot] = std::move(*in_flight);
        ++p.deduplicated;
        continue;
      }
    }

    uint64_t& current = sealed_versions_.at(r.stream);  // Resolve loaded it
    Status st = CheckExpected(r.expected, r.stream, current);
    if (!st.ok()) {
      p.results[slot] = std::move(st);
      ++p.rejected;
      continue;
    }

    std::vector<SealedEvent> sealed = Seal(r, next_position, current + 1, now, &prev);
    for (const SealedEvent& e : sealed) {
      keys::PutBigEndian64(e.position, position_key);
      keys::PutBigEndian64(e.position, position_value);
      rocksdb::Slice value_parts[2] = {
          rocksdb::Slice(reinterpret_cast<const char*>(e.hash.data()), e.hash.size()),
          rocksdb::Slice(e.canonical)};
      rocksdb::Slice key_slice(position_key, 8);
      p.batch.Put(cf_->events, rocksdb::SliceParts(&key_slice, 1),
                  rocksdb::SliceParts(value_parts, 2));
      p.batch.Put(cf_->streams, keys::StreamIndexKey(r.stream, e.version),
                  rocksdb::Slice(position_value, 8));
    }
    AppendResult result;
    result.first_position = sealed.front().position;
    result.last_position = sealed.back().position;
    result.stream_version = sealed.back().version;
    result.recorded_at = now;
    next_position = result.last_position + 1;
    current = result.stream_version;
    touched[r.stream] = result.stream_version;
    p.touched[r.stream] = result.stream_version;
    if (!r.idempotency_key.empty()) {
      keys::IdempotencyRecord rec{result.first_position,     result.last_position,
                                  result.stream_version,     now,
                                  r.idempotency_fingerprint, r.idempotency_payload};
      p.batch.Put(cf_->idempotency, r.idempotency_key, keys::EncodeIdempotency(rec));
      // A repeat while this group syncs gets the original's fingerprint and payload; the
      // original caller gets a plain result, as MemoryEventStore returns.
      AppendResult stored = result;
      stored.idempotency_fingerprint = r.idempotency_fingerprint;
      stored.idempotency_payload = r.idempotency_payload;
      {
        std::lock_guard lock(in_flight_mu_);
        in_flight_keys_.emplace(r.idempotency_key, std::move(stored));
      }
      p.keyed.emplace_back(r.idempotency_key, slot);
    }
    p.results[slot] = std::move(result);
    ++p.committed_appends;
  }
  for (const auto& [stream, version] : touched) {
    keys::PutBigEndian64(version, position_value);
    p.batch.Put(cf_->stream_heads, rocksdb::Slice(stream.data(), stream.size()),
                rocksdb::Slice(position_value, 8));
  }
  p.events += next_position - p.next_position;
  p.next_position = next_position;
  p.prev = prev;
  sealed_head_ = Head{next_position - 1, prev};
}

// Wakes a group's waiters as a binary tree: the committing thread wakes waiter 0 only, and
// waiter i, once awake, wakes 2i+1 and 2i+2 before it returns. A futex wake costs the
// waker several microseconds here (a cross-CPU interrupt in a virtual machine): waking 30
// waiters in a row kept the committing thread from its next fsync for a quarter of a
// millisecond (storage_bench). The tree spreads the wakes over the woken threads and both
// cores, and the last waiter is awake after log2(n) hops.
void RocksDbEventStore::AnswerGroup(std::unique_ptr<Prepared> owned) {
  Prepared* p = owned.release();  // freed by the last waiter to pass the wake-up on
  // AppendAsync waiters are answered below, by callback; the blocking ones move to the
  // front of the group and form the tree.
  std::vector<std::pair<std::unique_ptr<Pending>, Result<AppendResult>>> callbacks;
  size_t blocking = 0;
  for (size_t i = 0; i < p->group.size(); ++i) {
    Pending* w = p->group[i];
    if (w->callback) {
      callbacks.emplace_back(std::unique_ptr<Pending>(w), std::move(*p->results[i]));
      continue;
    }
    if (blocking != i) {
      p->group[blocking] = w;
      p->results[blocking] = std::move(p->results[i]);
    }
    ++blocking;
  }
  p->group.resize(blocking);
  p->results.resize(blocking);
  if (blocking == 0) {
    delete p;
  } else {
    p->unanswered.store(blocking, std::memory_order_relaxed);
    for (size_t i = 0; i < blocking; ++i) {
      Pending* w = p->group[i];
      w->result = std::move(p->results[i]);
      w->answered = p;
      w->index = i;
    }
    p->group[0]->done.Set();  // publishes every write above to the whole tree
  }
  for (auto& [pending, result] : callbacks) pending->callback(std::move(result));
}

void RocksDbEventStore::PassWakeOn(Pending& pending) {
  Prepared* p = pending.answered;
  const size_t n = p->group.size();
  for (size_t child = 2 * pending.index + 1; child <= 2 * pending.index + 2 && child < n; ++child) {
    p->group[child]->done.Set();  // that Pending may vanish from here on
  }
  if (p->unanswered.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p;
}

void RocksDbEventStore::CommitGroup(std::vector<std::unique_ptr<Prepared>>& chunks,
                                    bool on_caller) {
  // One answer tree for the whole group: the first chunk collects every waiter.
  Prepared& group = *chunks.front();
  auto merge_waiters = [&] {
    for (size_t c = 1; c < chunks.size(); ++c) {
      Prepared& chunk = *chunks[c];
      group.group.insert(group.group.end(), chunk.group.begin(), chunk.group.end());
      for (auto& r : chunk.results) group.results.push_back(std::move(r));
    }
  };
  bool any_events = false;
  for (const auto& chunk : chunks) any_events |= chunk->events > 0;

  if (any_events && options_.sync && !failed_.load()) {
    // Every chunk here was written before this call: one fsync makes them all durable.
    const auto started = std::chrono::steady_clock::now();
    rocksdb::Status s = db_->SyncWAL();
    NoteSync(std::chrono::steady_clock::now() - started, chunks);
    if (!s.ok()) {
      Fail(group.first_position, chunks.back()->next_position - 1, s.ToString());
    }
  }

  if (failed_.load()) {
    // Nothing of this group is published. A chunk that reached RocksDB may or may not
    // survive a restart; a chunk never written (sealed after the failure, or decided
    // against one that failed) was refused.
    std::string refused, unknown;
    {
      std::lock_guard lock(queue_mu_);
      refused = failure_;
      unknown = failure_what_ +
                "; the outcome of this append is unknown (retry with the same idempotency key "
                "after restart); the log refuses writes";
    }
    for (auto& chunk : chunks) {
      const bool maybe = chunk->written != Prepared::Written::kNo;
      for (auto& r : chunk->results) {
        r = maybe ? Error(ErrorCode::kIoError, unknown) : Error(ErrorCode::kUnavailable, refused);
      }
    }
    merge_waiters();
    AnswerGroup(std::move(chunks.front()));
    return;
  }

  // Durable: publish the new head and versions, then wake everyone.
  {
    std::lock_guard lock(state_mu_);
    size_t waiters = 0;
    for (const auto& chunk : chunks) {
      const Prepared& p = *chunk;
      if (p.events > 0) head_ = Head{p.next_position - 1, p.prev};
      for (auto& [stream, version] : p.loaded) versions_.try_emplace(stream, version);
      for (auto& [stream, version] : p.touched) versions_[stream] = version;
      stats_.appends += p.committed_appends;
      stats_.events += p.events;
      stats_.deduplicated += p.deduplicated;
      stats_.rejected += p.rejected;
      waiters += p.group.size();
    }
    if (any_events) ++stats_.groups;
    if (any_events && on_caller) ++stats_.caller_groups;
    stats_.max_group_appends = std::max<uint64_t>(stats_.max_group_appends, waiters);
  }
  head_cv_.notify_all();
  {
    // Published now, where the sealer's FindIdempotencyKey finds them.
    std::lock_guard lock(in_flight_mu_);
    for (const auto& chunk : chunks) {
      for (const auto& [key, index] : chunk->keyed) in_flight_keys_.erase(key);
    }
  }
  merge_waiters();
  AnswerGroup(std::move(chunks.front()));
}

void RocksDbEventStore::NoteSync(std::chrono::steady_clock::duration took,
                                 const std::vector<std::unique_ptr<Prepared>>& chunks) {
  const auto nanos = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
  const bool slow = took > options_.slow_sync;
  {
    std::lock_guard lock(state_mu_);
    stats_.sync_nanos += nanos;
    stats_.max_sync_nanos = std::max(stats_.max_sync_nanos, nanos);
    if (slow) ++stats_.slow_syncs;
  }
  if (!slow || !options_.log) return;
  size_t appends = 0;
  uint64_t first = 0, last = 0;
  for (const auto& chunk : chunks) {
    appends += chunk->group.size();
    if (chunk->events == 0) continue;
    if (first == 0) first = chunk->first_position;
    last = chunk->next_position - 1;
  }
  options_.log("WAL sync took " + std::to_string(nanos / 1'000'000) + " ms (over " +
               std::to_string(options_.slow_sync.count()) + " ms) for " +
               std::to_string(appends) + " appends at positions " + std::to_string(first) +
               ".." + std::to_string(last) +
               "; each of them waited for it (the disk, or the VM's I/O, is slow)");
}

// ---- reading ----

namespace internal {

// A run of consecutive stored records, copied out of RocksDB so that each record's
// canonical bytes start word-aligned (Cap'n Proto reads them in place) and so that a
// batch can cross to another thread. Reused: Clear() keeps the capacity.
struct RecordBatch {
  struct Record {
    uint64_t position;
    size_t word;  // offset of the canonical bytes in `words`
    size_t size;
    Hash256 hash;
  };
  std::vector<uint64_t> words;
  size_t used = 0;  // words taken
  std::vector<Record> records;
  // When `predecoded`: records [predecoded_from, size) were already decoded and checked by
  // the reading thread while it was ahead of the consumer (pipelined Scan), into
  // decoded[i - predecoded_from] with the outcome in decoded_status. The slots are reused
  // batch after batch, so their strings keep their capacity.
  bool predecoded = false;
  size_t predecoded_from = 0;
  std::vector<events::RecordedEvent> decoded;
  std::vector<Status> decoded_status;
  // With hash verification: records [0, verified) were checked against the chain by the
  // reading thread; the consumer checks the rest (VerifyRest) before it visits them.
  // chain_prev is the stored hash before records[0].
  size_t verified = 0;
  Hash256 chain_prev{};

  void Clear() {
    used = 0;
    records.clear();
    predecoded = false;
    predecoded_from = 0;
    verified = 0;
  }
  void Add(uint64_t position, const char* data, size_t size, const Hash256& hash) {
    size_t need = (size + 7) / 8;
    if (used + need > words.size()) words.resize(std::max(used + need, words.size() * 2));
    std::memcpy(words.data() + used, data, size);
    records.push_back(Record{position, used, size, hash});
    used += need;
  }
  std::string_view Canonical(const Record& r) const {
    return std::string_view(reinterpret_cast<const char*>(words.data() + r.word), r.size);
  }
};

}  // namespace internal

namespace {

using internal::RecordBatch;

constexpr size_t kBatchRecords = 512;

constexpr const char* kChainMismatch =
    "hash mismatch: the stored hash is not SHA-256 of the previous hash and the stored bytes";

// Reads positions from..last of the events column family in order, in batches. Checks
// that positions are gapless and, with `verify`, that each stored hash equals
// SHA-256(previous stored hash ‖ canonical bytes): the record's own hash and its link to
// its predecessor in one digest (the decoder then checks the embedded prev_hash). Fill
// may leave the digests of a batch's last records to the consumer (VerifyRest): each
// needs only stored hashes, so either thread can check it.
// Single-threaded: one thread at a time calls Fill.
class LogReader {
 public:
  LogReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t from, uint64_t last,
            bool verify)
      : next_(from),
        last_(last),
        verify_(verify),
        upper_(keys::EventKey(last + 1)),
        upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice_;
    if (last - from >= 1024) {
      // A replay: don't evict the working set for blocks read once; read ahead in big
      // sequential chunks.
      ro.fill_cache = false;
      ro.readahead_size = 4 << 20;
    }
    it_.reset(db->NewIterator(ro, cf));
  }

  // Positions the iterator; with `verify` and from > 1, learns the predecessor's hash.
  Status Start() {
    if (verify_ && next_ > 1) {
      it_->Seek(keys::EventKey(next_ - 1));
      if (!it_->Valid() || keys::ParseEventKey(View(it_->key())) != next_ - 1 ||
          it_->value().size() <= keys::kHashBytes) {
        if (!it_->status().ok()) return FromRocks(it_->status(), "scanning the log");
        return CorruptAt(next_ - 1, "missing from the log");
      }
      prev_ = HashFrom(it_->value().data());
      it_->Next();
    } else {
      it_->Seek(keys::EventKey(next_));
    }
    return Status::Ok();
  }

  // After Start: the stored hash before `from` (zeros when from = 1, or without verify).
  const Hash256& prev() const { return prev_; }

  // Fills `batch` with the next records, checking the digests of the first `hash_limit`
  // (with verify). False when nothing was added: the scan is over and status() tells
  // whether it ended well. Records before a problem are delivered.
  bool Fill(RecordBatch* batch, size_t hash_limit = kBatchRecords) {
    batch->Clear();
    batch->chain_prev = prev_;
    bool more = FillRecords(batch, verify_ ? hash_limit : kBatchRecords);
    batch->verified = verify_ ? std::min(batch->records.size(), hash_limit)
                              : batch->records.size();
    return more;
  }

  const Status& status() const { return status_; }

 private:
  bool FillRecords(RecordBatch* batch, size_t hash_limit) {
    while (!done_ && batch->records.size() < kBatchRecords) {
      if (!it_->Valid()) {
        done_ = true;
        if (!it_->status().ok()) {
          status_ = FromRocks(it_->status(), "scanning the log");
        } else if (next_ != last_ + 1) {
          status_ = CorruptAt(next_, "missing from the log");
        }
        break;
      }
      auto position = keys::ParseEventKey(View(it_->key()));
      rocksdb::Slice value = it_->value();
      if (!position || *position != next_) {
        return Stop(batch, CorruptAt(next_, "missing from the log"));
      }
      if (value.size() <= keys::kHashBytes) {
        return Stop(batch, CorruptAt(next_, "record shorter than its hash"));
      }
      Hash256 stored = HashFrom(value.data());
      std::string_view canonical(value.data() + keys::kHashBytes, value.size() - keys::kHashBytes);
      if (verify_ && batch->records.size() < hash_limit &&
          events::ChainHash(prev_, canonical) != stored) {
        return Stop(batch, CorruptAt(next_, kChainMismatch));
      }
      prev_ = stored;
      batch->Add(next_, canonical.data(), canonical.size(), stored);
      ++next_;
      it_->Next();
    }
    return !batch->records.empty();
  }

  bool Stop(RecordBatch* batch, Status problem) {
    status_ = std::move(problem);
    done_ = true;
    return !batch->records.empty();
  }

  uint64_t next_;
  const uint64_t last_;
  const bool verify_;
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  Hash256 prev_{};
  bool done_ = false;
  Status status_;
};

// Checks the digests Fill left to the consumer: records [verified, size). On a mismatch,
// drops that record and the ones after it from the batch and returns the problem, so that
// the records before it are still visited (the sequential semantics).
Status VerifyRest(RecordBatch* batch) {
  for (size_t i = batch->verified; i < batch->records.size(); ++i) {
    const RecordBatch::Record& r = batch->records[i];
    const Hash256& prev = i == 0 ? batch->chain_prev : batch->records[i - 1].hash;
    if (events::ChainHash(prev, batch->Canonical(r)) != r.hash) {
      Status problem = CorruptAt(r.position, kChainMismatch);
      batch->records.resize(i);
      batch->verified = i;
      return problem;
    }
  }
  batch->verified = batch->records.size();
  return Status::Ok();
}

// Batches from a reading thread to the decoding (calling) thread, at most kDepth ahead.
class BatchChannel {
 public:
  static constexpr size_t kDepth = 4;

  // Reader side. A batch to fill, or nullptr once the consumer has gone.
  std::unique_ptr<RecordBatch> Free() {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return cancelled_ || ready_.size() < kDepth; });
    if (cancelled_) return nullptr;
    if (free_.empty()) return std::make_unique<RecordBatch>();
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  // Batches filled and not yet taken by the consumer.
  size_t Backlog() {
    std::lock_guard lock(mu_);
    return ready_.size();
  }
  void Push(std::unique_ptr<RecordBatch> b) {
    {
      std::lock_guard lock(mu_);
      ready_.push_back(std::move(b));
    }
    filled_.notify_one();
  }
  void Finish() {
    {
      std::lock_guard lock(mu_);
      finished_ = true;
    }
    filled_.notify_one();
  }

  // Consumer side. The next batch, or nullptr when the reader has finished.
  std::unique_ptr<RecordBatch> Pop() {
    std::unique_lock lock(mu_);
    filled_.wait(lock, [&] { return finished_ || !ready_.empty(); });
    if (ready_.empty()) return nullptr;
    auto b = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    space_.notify_one();
    return b;
  }
  void Recycle(std::unique_ptr<RecordBatch> b) {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(b));
  }
  void Cancel() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    space_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable space_, filled_;
  std::deque<std::unique_ptr<RecordBatch>> ready_;
  std::vector<std::unique_ptr<RecordBatch>> free_;
  bool finished_ = false;
  bool cancelled_ = false;
};

// Scans at least this long read on a second thread (RocksDbOptions::pipelined_scan).
constexpr uint64_t kPipelineMinEvents = 4096;

}  // namespace

Status RocksDbEventStore::ReadLog(uint64_t from, uint64_t to, bool verify, Hash256* initial_prev,
                                  const BatchVisitor& visit, const BatchAssist& assist) const {
  if (from == 0) from = 1;
  const Head head = GetHead();
  const uint64_t last = (to == 0 || to > head.position) ? head.position : to;
  if (from > last) return Status::Ok();
  LogReader reader(db_.get(), cf_->events, from, last, verify);
  ROSTER_RETURN_IF_ERROR(reader.Start());
  *initial_prev = reader.prev();

  if (!options_.pipelined_scan || last - from + 1 < kPipelineMinEvents) {
    RecordBatch batch;
    while (reader.Fill(&batch)) {
      if (!visit(batch)) return Status::Ok();
    }
    return reader.status();
  }

  // Pipelined: a reading thread iterates RocksDB, copies and hashes; this thread decodes
  // and visits. Order and error semantics are the sequential ones: every record before a
  // problem is visited, then the problem is returned.
  //
  // The digests are shared between the two threads so that neither waits for the other:
  // the reader checks the first `hash_share` records of each batch and this thread the
  // rest (VerifyRest). The share follows the queue: at most one batch waiting (this
  // thread is about to starve) → the reader takes fewer; a queue building → more, and
  // past that the reader also decodes part of a batch (assist). With storage_bench's
  // visitor the reader, iterating and copying, is the slower stage and settles near a
  // quarter (measured); a visitor slower than the reader drives the share back to all.
  BatchChannel channel;
  std::thread reading([&] {
    pthread_setname_np(pthread_self(), "roster-scan");
    constexpr size_t kShareStep = kBatchRecords / 16;
    size_t hash_share = kBatchRecords;
    for (;;) {
      auto batch = channel.Free();
      if (!batch) return;  // the consumer stopped early
      if (channel.Backlog() <= 1) {
        hash_share = hash_share > kShareStep ? hash_share - kShareStep : 0;
      } else {
        hash_share = std::min(kBatchRecords, hash_share + kShareStep);
      }
      if (!reader.Fill(batch.get(), hash_share)) break;
      // The consumer is the slower stage: take over part of its work.
      if (assist && channel.Backlog() >= 2) assist(*batch);
      channel.Push(std::move(batch));
    }
    channel.Finish();
  });
  struct JoinOnExit {
    BatchChannel& channel;
    std::thread& thread;
    ~JoinOnExit() {
      channel.Cancel();
      thread.join();
    }
  } join{channel, reading};

  while (auto batch = channel.Pop()) {
    Status rest = VerifyRest(batch.get());
    if (!visit(*batch)) return Status::Ok();
    if (!rest.ok()) return rest;  // after the records before the damaged one
    channel.Recycle(std::move(batch));
  }
  return reader.status();  // the reader finished before Pop returned nullptr
}

Status RocksDbEventStore::ScanRaw(uint64_t from, uint64_t to, const RawVisitor& visit) const {
  Hash256 unused;
  return ReadLog(from, to, /*verify=*/false, &unused, [&](RecordBatch& batch) {
    for (const auto& r : batch.records) {
      if (!visit(r.position, batch.Canonical(r), r.hash)) return false;
    }
    return true;
  });
}

namespace {

// Decodes one record of a scan into *out (reusing its strings' capacity) and checks it
// against its position and, with `verify`, against the predecessor's stored hash (the
// reader already hashed prev ‖ bytes; the prev_hash written inside must be that same prev).
Status DecodeScanned(const RecordBatch& batch, const RecordBatch::Record& r, const Hash256& prev,
                     bool verify, events::RecordedEvent* out) {
  Status st = events::DecodeRecordedInto(batch.Canonical(r), r.hash, out);
  if (!st.ok()) return CorruptAt(r.position, st.message());
  const events::Envelope& env = out->envelope;
  if (env.position != r.position) {
    return CorruptAt(r.position, "envelope says position " + std::to_string(env.position));
  }
  if (verify && env.prev_hash != prev) {
    return CorruptAt(r.position,
                     "prev_hash does not link to position " + std::to_string(r.position - 1));
  }
  return Status::Ok();
}

}  // namespace

Status RocksDbEventStore::Scan(uint64_t from, uint64_t to, const EventVisitor& visit) const {
  return ScanDecoded(from, to, [&](events::RecordedEvent& event) { return visit(event); });
}

Status RocksDbEventStore::ScanOwned(uint64_t from, uint64_t to,
                                    const OwnedEventVisitor& visit) const {
  return ScanDecoded(from, to,
                     [&](events::RecordedEvent& event) { return visit(std::move(event)); });
}

// Every record is decoded into a slot the visitor may move from: one scratch event on this
// thread, or the batch's slots that the reading thread filled. A moved-from slot is simply
// decoded into again; an untouched one (Scan) keeps its capacity, so a replay allocates
// little beyond what the visitor keeps.
Status RocksDbEventStore::ScanDecoded(uint64_t from, uint64_t to,
                                      const std::function<bool(events::RecordedEvent&)>& visit)
    const {
  const bool verify = options_.verify_reads;
  Status failure;
  Hash256 prev{};
  events::RecordedEvent scratch;
  // Runs on the reading thread when it is ahead: decodes the second half of the batch, so
  // both cores decode and neither stage waits for the other.
  auto assist = [verify](RecordBatch& batch) {
    const size_t n = batch.records.size();
    if (n < 2) return;
    batch.predecoded_from = n / 2;
    if (batch.decoded.size() < n - n / 2) batch.decoded.resize(n - n / 2);
    batch.decoded_status.resize(n - n / 2);
    for (size_t i = n / 2; i < n; ++i) {
      batch.decoded_status[i - n / 2] = DecodeScanned(batch, batch.records[i],
                                                      batch.records[i - 1].hash, verify,
                                                      &batch.decoded[i - n / 2]);
    }
    batch.predecoded = true;
  };
  Status st = ReadLog(
      from, to, verify, &prev,
      [&](RecordBatch& batch) {
        for (size_t i = 0; i < batch.records.size(); ++i) {
          const auto& r = batch.records[i];
          events::RecordedEvent* event = &scratch;
          Status decoded;
          if (batch.predecoded && i >= batch.predecoded_from) {
            event = &batch.decoded[i - batch.predecoded_from];
            decoded = std::move(batch.decoded_status[i - batch.predecoded_from]);
          } else {
            decoded = DecodeScanned(batch, r, prev, verify, &scratch);
          }
          if (!decoded.ok()) {
            failure = std::move(decoded);
            return false;
          }
          prev = r.hash;
          if (!visit(*event)) return false;
        }
        return true;
      },
      assist);
  if (!failure.ok()) return failure;
  return st;
}

Result<std::vector<events::RecordedEvent>> RocksDbEventStore::ReadStream(const std::string& stream,
                                                                         uint64_t from_version,
                                                                         size_t max) const {
  std::vector<events::RecordedEvent> out;
  if (max == 0) return out;
  if (from_version == 0) from_version = 1;
  const std::string prefix = keys::StreamIndexPrefix(stream);

  // Positions from the stream index, then the records in one MultiGet. The index may
  // already hold written, not yet synced versions: stop at the published head.
  const uint64_t head = GetHead().position;
  std::vector<std::string> position_keys;
  {
    rocksdb::ReadOptions ro;
    ro.prefix_same_as_start = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_->streams));
    uint64_t expected = from_version;
    for (it->Seek(keys::StreamIndexKey(stream, from_version));
         it->Valid() && position_keys.size() < max; it->Next()) {
      std::string_view key = View(it->key());
      if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix) break;
      uint64_t version = keys::GetBigEndian64(key.data() + prefix.size());
      if (version != expected || it->value().size() != 8) {
        return Error(ErrorCode::kCorruption, "stream index of " + stream + ": version " +
                                                 std::to_string(expected) + " is missing");
      }
      if (keys::GetBigEndian64(it->value().data()) > head) break;  // not published yet
      position_keys.emplace_back(it->value().data(), 8);
      ++expected;
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading the stream index of " + stream);
  }
  if (position_keys.empty()) return out;

  std::vector<rocksdb::Slice> slices(position_keys.begin(), position_keys.end());
  std::vector<rocksdb::PinnableSlice> values(slices.size());
  std::vector<rocksdb::Status> statuses(slices.size());
  db_->MultiGet(rocksdb::ReadOptions(), cf_->events, slices.size(), slices.data(), values.data(),
                statuses.data(), /*sorted_input=*/false);  // a damaged index may be unsorted
  out.reserve(slices.size());
  AlignedBuffer buffer;
  for (size_t i = 0; i < slices.size(); ++i) {
    const uint64_t position = keys::GetBigEndian64(position_keys[i].data());
    if (statuses[i].IsNotFound()) {
      return CorruptAt(position, "indexed as " + stream + " version " +
                                     std::to_string(from_version + i) + " but not in the log");
    }
    if (!statuses[i].ok())
      return FromRocks(statuses[i], "reading position " + std::to_string(position));
    auto rec = DecodeStored(position, View(values[i]), options_.verify_reads, &buffer);
    if (!rec.ok()) return rec.error();
    if (rec->envelope.stream != stream || rec->envelope.version != from_version + i) {
      return CorruptAt(position, "indexed as " + stream + " version " +
                                     std::to_string(from_version + i) + " but holds " +
                                     rec->envelope.stream + " version " +
                                     std::to_string(rec->envelope.version));
    }
    out.push_back(std::move(rec).value());
  }
  return out;
}

Result<events::RecordedEvent> RocksDbEventStore::Read(uint64_t position) const {
  // RocksDB may already hold written, not yet synced positions; they are not in the log
  // until published.
  if (position > GetHead().position) {
    return Error(ErrorCode::kNotFound,
                 "position " + std::to_string(position) + " is not in the log");
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->events, keys::EventKey(position), &value);
  if (s.IsNotFound()) {
    return Error(ErrorCode::kNotFound,
                 "position " + std::to_string(position) + " is not in the log");
  }
  if (!s.ok()) return FromRocks(s, "reading position " + std::to_string(position));
  AlignedBuffer buffer;
  return DecodeStored(position, View(value), options_.verify_reads, &buffer);
}

uint64_t RocksDbEventStore::StreamVersion(const std::string& stream) const {
  std::lock_guard lock(state_mu_);
  auto it = versions_.find(stream);
  if (it != versions_.end()) return it->second;
  // Not cached, so in no chunk written since the open: RocksDB holds its committed version.
  // The lock keeps it so: the sealing thread caches a stream's committed version (under
  // this lock) before it writes a chunk touching it. On a read error 0 is as good a hint
  // as any: the append's version check decides.
  auto version = LoadStreamVersion(stream);
  return version.ok() ? *version : 0;
}

Head RocksDbEventStore::GetHead() const {
  std::lock_guard lock(state_mu_);
  return head_;
}

uint64_t RocksDbEventStore::WaitForHead(uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_mu_);
  head_cv_.wait_for(lock, timeout, [&] { return shutdown_ || head_.position > after; });
  return head_.position;
}

WriterStats RocksDbEventStore::GetWriterStats() const {
  std::lock_guard lock(state_mu_);
  return stats_;
}

// ---- verification ----

VerifyReport RocksDbEventStore::Verify() const {
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  ro.fill_cache = false;
  ro.readahead_size = 4 << 20;
  ro.total_order_seek = true;  // the streams CF has a prefix extractor; we walk all of it

  struct Tally {
    uint64_t count = 0;
    uint64_t fingerprint = 0;  // Σ Mix(version, position)
    uint64_t last_position = 0;
  };
  std::unordered_map<std::string, Tally> log_tally;

  // 1. The chain. RocksDB checks each block's checksum as it reads; a block that fails it
  // is read again without that check from the first position not yet verified, so our
  // chain check names the damaged record (the events column family is uncompressed: one
  // damaged byte, one damaged record) instead of the first record of its 32 KiB block.
  ChainVerifier verifier;
  auto walk = [&](bool checksums) {
    rocksdb::ReadOptions walk_ro = ro;
    walk_ro.verify_checksums = checksums;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(walk_ro, cf_->events));
    AlignedBuffer buffer;
    const uint64_t resume = verifier.Report().checked + 1;
    for (resume == 1 ? it->SeekToFirst() : it->Seek(keys::EventKey(resume)); it->Valid();
         it->Next()) {
      const uint64_t next = verifier.Report().checked + 1;
      auto position = keys::ParseEventKey(View(it->key()));
      if (!position) {
        verifier.Fail(next, "unreadable events key " + ToHex(View(it->key())));
        break;
      }
      rocksdb::Slice value = it->value();
      if (value.size() <= keys::kHashBytes) {
        verifier.Fail(*position, "record shorter than its hash");
        break;
      }
      std::string_view canonical =
          buffer.Copy(value.data() + keys::kHashBytes, value.size() - keys::kHashBytes);
      if (!verifier.Check(*position, canonical, HashFrom(value.data()))) break;
      const events::EnvelopeView& env = verifier.LastEnvelope();
      Tally& t = log_tally[std::string(env.stream)];
      ++t.count;
      t.fingerprint += Mix(env.version, *position);
      t.last_position = *position;
    }
    return it->status();
  };
  rocksdb::Status read = walk(/*checksums=*/true);
  if (!read.ok() && verifier.Report().ok) {
    const uint64_t unread = verifier.Report().checked + 1;
    walk(/*checksums=*/false).PermitUncheckedError();
    // The bytes all check out by our hashes (e.g. the damage is in block framing): name
    // the first record RocksDB could not hand out.
    verifier.Fail(unread, "cannot be read: " + read.ToString());
  }
  if (verifier.Report().ok && !wal_damage_.empty()) {
    // Opened with salvage_wal_prefix: the log ends early where the WAL is damaged.
    verifier.Fail(verifier.Report().checked + 1,
                  "cannot be read: the write-ahead log is damaged after position " +
                      std::to_string(verifier.Report().checked) + " (" + wal_damage_ + ")");
  }
  VerifyReport report = verifier.Report();
  if (!report.ok) return report;

  auto fail = [&](uint64_t position, std::string problem) {
    report.ok = false;
    report.first_bad_position = position;
    report.problem = std::move(problem);
    return report;
  };

  // 2. The stream index: every (stream, version) → position of the log, nothing else.
  std::unordered_map<std::string, Tally> index_tally;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_->streams));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto entry = keys::ParseStreamIndexKey(View(it->key()));
      if (!entry || it->value().size() != 8) {
        return fail(report.head.position + 1,
                    "unreadable stream index key " + ToHex(View(it->key())));
      }
      uint64_t position = keys::GetBigEndian64(it->value().data());
      Tally& t = index_tally[std::string(entry->stream)];
      ++t.count;
      t.fingerprint += Mix(entry->version, position);
    }
    if (!it->status().ok())
      return fail(report.head.position + 1, "read error: " + it->status().ToString());
  }
  std::vector<std::string> mismatched;
  for (const auto& [stream, t] : log_tally) {
    auto it = index_tally.find(stream);
    if (it == index_tally.end() || it->second.count != t.count ||
        it->second.fingerprint != t.fingerprint) {
      mismatched.push_back(stream);
    }
  }
  for (const auto& [stream, t] : index_tally) {
    if (!log_tally.count(stream)) {
      return fail(report.head.position + 1, "stream index lists " + std::to_string(t.count) +
                                                " events of stream " + stream +
                                                ", which has none in the log");
    }
  }
  if (!mismatched.empty()) {
    // Rare path: find the first position whose index entry disagrees.
    std::unordered_set<std::string> bad(mismatched.begin(), mismatched.end());
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_->events));
    AlignedBuffer buffer;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      uint64_t position = *keys::ParseEventKey(View(it->key()));
      auto env = events::DecodeEnvelope(buffer.Copy(it->value().data() + keys::kHashBytes,
                                                    it->value().size() - keys::kHashBytes));
      if (!env.ok() || !bad.count(env->stream)) continue;
      std::string indexed;
      rocksdb::Status s =
          db_->Get(ro, cf_->streams, keys::StreamIndexKey(env->stream, env->version), &indexed);
      if (!s.ok() || indexed != keys::EventKey(position)) {
        return fail(position, "stream index: " + env->stream + " version " +
                                  std::to_string(env->version) +
                                  (s.ok() ? " points to position " +
                                                std::to_string(keys::GetBigEndian64(indexed.data()))
                                          : std::string(" is missing")));
      }
    }
    const std::string& stream = mismatched.front();
    return fail(log_tally[stream].last_position,
                "stream index of " + stream + " has entries beyond its last event");
  }

  // 3. Stream heads: each equals the stream's event count.
  for (const auto& [stream, t] : log_tally) {
    std::string value;
    rocksdb::Status s = db_->Get(ro, cf_->stream_heads, stream, &value);
    if (!s.ok() || value.size() != 8 || keys::GetBigEndian64(value.data()) != t.count) {
      return fail(t.last_position, "stream head of " + stream + " is " +
                                       (s.ok() && value.size() == 8
                                            ? std::to_string(keys::GetBigEndian64(value.data()))
                                            : std::string("missing")) +
                                       ", the log has " + std::to_string(t.count) + " events");
    }
  }
  return report;
}

// ---- shutdown ----

void RocksDbEventStore::Shutdown() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  {
    std::lock_guard lock(join_mu_);
    if (writer_.joinable()) writer_.join();  // then the committer commits what is left
    if (committer_.joinable()) committer_.join();
  }
  // Subjects handed out since the last chunk: a clean close keeps them, as it keeps
  // everything else it acknowledged.
  if (!options_.read_only && !failed_.load() && fresh_count_.load() > 0) {
    if (Status st = WriteFreshSubjects(options_.sync); !st.ok()) {
      std::fprintf(stderr, "roster: writing vault subjects at shutdown failed: %s\n",
                   st.ToString().c_str());
    }
  }
  {
    std::lock_guard lock(state_mu_);
    shutdown_ = true;
  }
  head_cv_.notify_all();
}

// ---- snapshots ----

// Snapshots live in files under <path>/snapshots (storage/snapshot_file.h), not in the
// log: a 100 MiB value written through the WAL held every append behind it for ~0.5 s.
// Data dirs of earlier versions kept them in the `snapshots` column family; GetSnapshot
// still reads one there when no file exists, and PutSnapshot removes it once its file is
// written.

rocksdb::Env* RocksDbEventStore::FileEnv() const {
  return options_.env ? options_.env.get() : rocksdb::Env::Default();
}

std::string RocksDbEventStore::SnapshotDir() const { return options_.path + "/snapshots"; }

Status RocksDbEventStore::PutSnapshot(const std::string& name, uint64_t position,
                                      std::string_view bytes) {
  if (options_.read_only) return Error(ErrorCode::kUnavailable, "the event log is open read-only");
  ROSTER_RETURN_IF_ERROR(WriteSnapshotFile(FileEnv(), SnapshotDir(), name, position, bytes));
  std::string legacy;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->snapshots, name, &legacy);
  if (s.ok()) {
    // Unsynced: if the delete is lost in a crash the file still wins over it.
    s = db_->Delete(rocksdb::WriteOptions(), cf_->snapshots, name);
    if (!s.ok()) return FromRocks(s, "removing the column-family snapshot " + name);
  }
  return Status::Ok();
}

std::optional<std::string> RocksDbEventStore::GetSnapshot(const std::string& name,
                                                          uint64_t* position) const {
  auto file = ReadSnapshotFile(FileEnv(), SnapshotDir(), name, position);
  if (file.ok() && file->has_value()) return std::move(*file);
  if (!file.ok()) {
    // Damaged or unreadable: the projector replays from the start instead, which is slow
    // but correct. Worth an operator's attention.
    if (options_.log) options_.log("ignoring snapshot: " + file.error().ToString());
    return std::nullopt;
  }
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->snapshots, name, &value);
  if (!s.ok() || value.size() < 8) return std::nullopt;
  *position = keys::GetBigEndian64(value.data());
  return value.substr(8);
}

// ---- the PII vault ----

namespace {
// Fresh subjects held in memory before SubjectFor writes them itself (no append came).
constexpr size_t kMaxFreshSubjects = 4096;
}  // namespace

Result<std::string> RocksDbEventStore::SubjectFor(const events::Bytes& email_key,
                                                  std::string_view email) {
  if (options_.read_only) return Error(ErrorCode::kUnavailable, "the event log is open read-only");
  if (failed_.load()) {
    // No event can reference a new subject any more, and its WAL record would never be
    // covered by a sync.
    return Error(ErrorCode::kUnavailable, "the log refuses writes after a failed sync");
  }
  std::string subject;
  uint64_t epoch = 0;
  {
    std::lock_guard lock(vault_mu_);
    if (auto it = fresh_.find(email_key.data); it != fresh_.end()) return it->second.subject;
    epoch = vault_epoch_;
  }
  // RocksDB outside the lock (callers on several threads); the epoch tells whether a
  // subject left fresh_ for RocksDB, or was erased, meanwhile.
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->vault_index, email_key.data, &subject);
  if (s.ok()) return subject;
  if (!s.IsNotFound()) return FromRocks(s, "reading the vault index");
  {
    std::lock_guard lock(vault_mu_);
    if (auto it = fresh_.find(email_key.data); it != fresh_.end()) return it->second.subject;
    if (vault_epoch_ != epoch) {
      s = db_->Get(rocksdb::ReadOptions(), cf_->vault_index, email_key.data, &subject);
      if (s.ok()) return subject;
      if (!s.IsNotFound()) return FromRocks(s, "reading the vault index");
    }
    // Not written here: the next chunk WriteChunk writes carries it, in the same WAL
    // record as that chunk's events, so any acknowledged append sealed after this call
    // (the one that references the subject, or any other) is synced with it. A crash
    // before such a sync may lose the subject, but then no acknowledged event names it.
    // Its own write cost a RocksDB write (and a turn in RocksDB's write queue behind the
    // log's chunks) per new email address.
    subject = "sub_" + ToHex(BufferedRandomBytes(16));
    fresh_.emplace(email_key.data, FreshSubject{subject, std::string(email)});
    fresh_by_subject_.emplace(subject, email_key.data);
    fresh_count_.store(fresh_.size(), std::memory_order_release);
    if (fresh_.size() < kMaxFreshSubjects) return subject;
  }
  // Many new subjects and no append to carry them: write them now, unsynced (the next
  // acknowledged append's sync covers this earlier WAL record too).
  ROSTER_RETURN_IF_ERROR(WriteFreshSubjects(/*sync=*/false));
  return subject;
}

Status RocksDbEventStore::WriteFreshSubjects(bool sync) {
  std::lock_guard write_lock(vault_write_mu_);
  rocksdb::WriteBatch batch;
  std::vector<std::string> keys = TakeFreshSubjects(batch);
  if (keys.empty()) return Status::Ok();  // a chunk took them meanwhile
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "writing the vault");
  ForgetFreshSubjects(keys);
  return Status::Ok();
}

std::vector<std::string> RocksDbEventStore::TakeFreshSubjects(rocksdb::WriteBatch& batch) {
  std::vector<std::string> keys;
  std::lock_guard lock(vault_mu_);
  keys.reserve(fresh_.size());
  for (const auto& [key, fresh] : fresh_) {
    batch.Put(cf_->vault, fresh.subject, fresh.email);
    batch.Put(cf_->vault_index, key, fresh.subject);
    keys.push_back(key);
  }
  return keys;
}

void RocksDbEventStore::ForgetFreshSubjects(const std::vector<std::string>& keys) {
  std::lock_guard lock(vault_mu_);
  ++vault_epoch_;
  for (const std::string& key : keys) {
    if (auto it = fresh_.find(key); it != fresh_.end()) {
      fresh_by_subject_.erase(it->second.subject);
      fresh_.erase(it);
    }
  }
  fresh_count_.store(fresh_.size(), std::memory_order_release);
}

std::optional<std::string> RocksDbEventStore::Lookup(std::string_view subject) const {
  if (fresh_count_.load(std::memory_order_acquire) > 0) {
    std::lock_guard lock(vault_mu_);
    if (auto it = fresh_by_subject_.find(std::string(subject)); it != fresh_by_subject_.end()) {
      return fresh_.at(it->second).email;
    }
  }
  if (auto cached = vault_cache_.Get(subject)) return cached;
  const uint64_t epoch = vault_cache_.Epoch();  // before the read: see VaultCache::Put
  std::string email;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->vault,
                               rocksdb::Slice(subject.data(), subject.size()), &email);
  if (!s.ok()) return std::nullopt;
  vault_cache_.Put(subject, email, epoch);
  return email;
}

Result<uint32_t> RocksDbEventStore::Erase(const events::Bytes& email_key) {
  if (options_.read_only) return Error(ErrorCode::kUnavailable, "the event log is open read-only");
  // No chunk is between taking fresh subjects and writing them while we hold this.
  std::lock_guard write_lock(vault_write_mu_);
  std::lock_guard lock(vault_mu_);
  ++vault_epoch_;
  if (auto it = fresh_.find(email_key.data); it != fresh_.end()) {
    // Never written: forgetting it is the erasure (Lookup never caches a fresh subject;
    // invalidated anyway, which also fails any read of it in flight).
    vault_cache_.Invalidate(it->second.subject);
    fresh_by_subject_.erase(it->second.subject);
    fresh_.erase(it);
    fresh_count_.store(fresh_.size(), std::memory_order_release);
    return 1u;
  }
  std::string subject;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->vault_index, email_key.data, &subject);
  if (s.IsNotFound()) return 0u;
  if (!s.ok()) return FromRocks(s, "reading the vault index");
  std::string email;
  s = db_->Get(rocksdb::ReadOptions(), cf_->vault, subject, &email);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the vault");
  const uint32_t removed = s.ok() ? 1 : 0;
  rocksdb::WriteBatch batch;
  batch.Delete(cf_->vault, subject);
  batch.Delete(cf_->vault_index, email_key.data);
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  s = db_->Write(wo, &batch);
  // Invalidated even when the write failed: the record may be gone or not, the cache must
  // not be the one place it survives.
  vault_cache_.Invalidate(subject);
  if (!s.ok()) return FromRocks(s, "erasing from the vault");
  return removed;
}

// ---- test hooks ----

Status RocksDbEventStore::CorruptForTest(uint64_t position, size_t byte_offset) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->events, keys::EventKey(position), &value);
  if (!s.ok()) return FromRocks(s, "reading position " + std::to_string(position));
  size_t at = keys::kHashBytes + byte_offset;
  if (at >= value.size()) return Error(ErrorCode::kInvalidField, "byte_offset: beyond the record");
  value[at] = static_cast<char>(value[at] ^ 0x5a);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db_->Put(wo, cf_->events, keys::EventKey(position), value);
  if (!s.ok()) return FromRocks(s, "corrupting position " + std::to_string(position));
  return Status::Ok();
}

void RocksDbEventStore::PauseWriterForTest(bool paused) {
  {
    std::lock_guard lock(queue_mu_);
    paused_for_test_ = paused;
  }
  queue_cv_.notify_all();
}

size_t RocksDbEventStore::QueuedAppendsForTest() const {
  std::lock_guard lock(queue_mu_);
  return queue_.size();
}

uint64_t RocksDbEventStore::WrittenPositionForTest() const {
  return written_position_.load(std::memory_order_relaxed);
}

}  // namespace roster::storage
