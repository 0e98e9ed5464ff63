// The event log interface: append with optimistic concurrency and idempotency, reads by
// position and by stream, the chain head, verification, a live tail, the PII vault and
// projection snapshots. Two implementations: RocksDbEventStore (rocksdb_store.h, durable,
// group commit) and MemoryEventStore (memory_store.h, for fast tests). One conformance
// suite (tests/storage/conformance_test.cc) runs against both.
//
// Thread-safety: every method may be called from any thread concurrently.
// No RocksDB header here: this file is included widely.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "events/event_types.h"

namespace roster::storage {

// What the appender expects of the stream's current version.
struct ExpectedVersion {
  enum class Kind : uint8_t { kAny, kNoStream, kExact };
  Kind kind = Kind::kAny;
  uint64_t version = 0;  // for kExact: the stream's current version (0 = empty stream)

  static ExpectedVersion Any() { return {}; }
  static ExpectedVersion NoStream() { return {Kind::kNoStream, 0}; }
  static ExpectedVersion Exact(uint64_t v) { return {Kind::kExact, v}; }
};

// One event to append: the store assigns position, version, time and hashes.
struct NewEvent {
  events::EventType type;
  std::string payload;  // events::EncodeEvent() bytes
};

struct AppendRequest {
  std::string stream;                 // non-empty
  ExpectedVersion expected;
  std::vector<NewEvent> events;       // 1..kMaxEventsPerAppend
  std::string actor;                  // "user:<id>", "service", "system"
  std::string correlation_id;
  std::string causation_id;
  // Idempotency (optional). When `idempotency_key` is non-empty and a previous append
  // committed with the same key, nothing is appended and the original result comes back
  // with `deduplicated = true`, together with the original fingerprint and payload, so
  // the caller can tell a true repeat from a reused key. Keys are global to the ledger and
  // survive restarts (they are committed in the same atomic batch as the events).
  std::string idempotency_key;
  std::string idempotency_fingerprint;  // caller's digest of the request, opaque here
  std::string idempotency_payload;      // caller's data to return on a repeat (opaque)
};

inline constexpr size_t kMaxEventsPerAppend = 256;
inline constexpr size_t kMaxPayloadBytes = 256 * 1024;

struct AppendResult {
  uint64_t first_position = 0;  // positions first..last are this append's events
  uint64_t last_position = 0;
  uint64_t stream_version = 0;  // the stream's version after the append
  Micros recorded_at = 0;
  bool deduplicated = false;           // true: an earlier append with this key answered
  std::string idempotency_fingerprint;  // on a repeat: the original's
  std::string idempotency_payload;      // on a repeat: the original's
};

struct Head {
  uint64_t position = 0;  // 0 for an empty log
  Hash256 hash{};         // zeros for an empty log
  friend bool operator==(const Head&, const Head&) = default;
};

struct VerifyReport {
  bool ok = true;
  uint64_t checked = 0;
  Head head;
  uint64_t first_bad_position = 0;  // when !ok
  std::string problem;              // when !ok: what is wrong there
};

// Called for each event in position order; return false to stop early.
using EventVisitor = std::function<bool(const events::RecordedEvent&)>;

// Personal data lives here, never in events (DESIGN.md "Personal data").
class PiiVault {
 public:
  virtual ~PiiVault() = default;
  // The subject reference for this email key, creating the subject with `email` as its
  // plaintext when there is none (or when the previous one was erased). Durable no later
  // than the next acknowledged Append (by anyone) made after it returns, so it is durable
  // before any acknowledged event can reference it; a crash before that may lose it or
  // leave it orphaned, both harmless (the RocksDB store writes it with the next chunk of
  // appends, in the same WAL record; a clean shutdown writes what is left).
  virtual Result<std::string> SubjectFor(const events::Bytes& email_key,
                                         std::string_view email) = 0;
  // The plaintext of a subject; nullopt when erased or unknown.
  virtual std::optional<std::string> Lookup(std::string_view subject) const = 0;
  // Deletes every vault entry of this email key; returns how many were removed.
  virtual Result<uint32_t> Erase(const events::Bytes& email_key) = 0;
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Appends atomically and returns once the events are durable (for the RocksDB store:
  // synced to the WAL). Errors: kVersionConflict (retryable: re-read, decide, append
  // again), kInvalidField (bad request), kUnavailable (the log refuses writes after a
  // failed sync; restart needed), kIoError.
  virtual Result<AppendResult> Append(AppendRequest request) = 0;

  // Append without blocking the caller: `done` runs exactly once with what Append would
  // have returned — on the calling thread before AppendAsync returns (an invalid request,
  // a store that refuses writes) or, once the group is durable (or failed), on the store's
  // committing thread. `done` must be quick and must not call Append (it runs where the
  // next group's fsync waits); it may call AppendAsync. Lets a few threads keep many
  // appends in flight instead of parking one thread per append. The default runs Append
  // and then `done` on the calling thread.
  using AppendCallback = std::function<void(Result<AppendResult>)>;
  virtual void AppendAsync(AppendRequest request, AppendCallback done) {
    done(Append(std::move(request)));
  }

  // Events with from <= position <= to (to = 0: up to the head), in order.
  virtual Status Scan(uint64_t from_position, uint64_t to_position,
                      const EventVisitor& visit) const = 0;

  // Like Scan, but hands each decoded event over by rvalue so the consumer may move it
  // (no copy). The default implementation copies out of Scan.
  using OwnedEventVisitor = std::function<bool(events::RecordedEvent&&)>;
  virtual Status ScanOwned(uint64_t from_position, uint64_t to_position,
                           const OwnedEventVisitor& visit) const;

  // Up to `max` events of a stream from version `from_version` (1-based), in order.
  virtual Result<std::vector<events::RecordedEvent>> ReadStream(const std::string& stream,
                                                                uint64_t from_version,
                                                                size_t max) const = 0;

  // The event at a position, or kNotFound.
  virtual Result<events::RecordedEvent> Read(uint64_t position) const = 0;

  // What an append with this idempotency key committed, as a repeat of it would be
  // answered (deduplicated = true, the original's fingerprint and payload); nullopt for a
  // key no committed append carried. Reads committed data only: a key whose append is
  // still syncing reads as unknown (an Append with it is still deduplicated). Errors:
  // kCorruption (an unreadable record), kIoError.
  virtual Result<std::optional<AppendResult>> FindIdempotencyKey(std::string_view key) const = 0;

  virtual uint64_t StreamVersion(const std::string& stream) const = 0;
  virtual Head GetHead() const = 0;

  // Re-walks the whole chain: positions gapless from 1, stream versions gapless from 1,
  // every envelope and body decodes, every hash recomputes, prev_hash links.
  virtual VerifyReport Verify() const = 0;

  // Live tail: blocks until the head passes `after_position` or `timeout` elapses, or
  // Shutdown() is called. Returns the head position then (no busy polling).
  virtual uint64_t WaitForHead(uint64_t after_position,
                               std::chrono::milliseconds timeout) const = 0;

  // Wakes every WaitForHead and makes later appends fail with kUnavailable.
  virtual void Shutdown() = 0;

  virtual PiiVault& Vault() = 0;

  // A per-ledger secret (32 random bytes made on first open) keying email HMACs.
  virtual const std::string& LedgerSecret() const = 0;

  // Projection snapshots: opaque bytes a projector saved at a position, for restarts.
  virtual Status PutSnapshot(const std::string& name, uint64_t position,
                             std::string_view bytes) = 0;
  // nullopt when none was saved. Fills *position.
  virtual std::optional<std::string> GetSnapshot(const std::string& name,
                                                 uint64_t* position) const = 0;
};

// Validates a request's shape (shared by both stores): a stream of 1..256 bytes without
// NUL bytes, 1..kMaxEventsPerAppend events, payloads and idempotency key within limits.
Status ValidateAppend(const AppendRequest& request);

}  // namespace roster::storage
