// MemoryEventStore: the in-memory twin of RocksDbEventStore. Same contract (the
// conformance suite runs against both), no durability. For deciders', handlers' and
// projections' tests, which then run in microseconds.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/clock.h"
#include "storage/event_store.h"

namespace roster::storage {

class MemoryEventStore final : public EventStore, private PiiVault {
 public:
  // `clock` stamps recorded_at; it must outlive the store. nullptr = system clock.
  explicit MemoryEventStore(const Clock* clock = nullptr);
  ~MemoryEventStore() override;

  Result<AppendResult> Append(AppendRequest request) override;
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
  VerifyReport Verify() const override;
  uint64_t WaitForHead(uint64_t after_position, std::chrono::milliseconds timeout) const override;
  void Shutdown() override;
  PiiVault& Vault() override { return *this; }
  const std::string& LedgerSecret() const override { return secret_; }
  Status PutSnapshot(const std::string& name, uint64_t position, std::string_view bytes) override;
  std::optional<std::string> GetSnapshot(const std::string& name,
                                         uint64_t* position) const override;

  // Test hook: overwrite one byte of a stored record (to test verification).
  void CorruptForTest(uint64_t position, size_t byte_offset);

 private:
  // PiiVault
  Result<std::string> SubjectFor(const events::Bytes& email_key, std::string_view email) override;
  std::optional<std::string> Lookup(std::string_view subject) const override;
  Result<uint32_t> Erase(const events::Bytes& email_key) override;

  struct Record {
    std::string canonical;
    Hash256 hash;
  };

  SystemClock system_clock_;
  const Clock* clock_;
  std::string secret_;

  mutable std::mutex mu_;
  mutable std::condition_variable head_cv_;
  bool shutdown_ = false;
  std::vector<Record> log_;  // log_[p-1] is position p
  Hash256 head_hash_{};
  std::unordered_map<std::string, std::vector<uint64_t>> streams_;  // stream → positions
  std::unordered_map<std::string, AppendResult> idempotency_;
  std::unordered_map<std::string, std::string> subjects_by_key_;  // email key → subject
  std::unordered_map<std::string, std::string> vault_;            // subject → email
  std::map<std::string, std::pair<uint64_t, std::string>> snapshots_;
};

}  // namespace roster::storage
