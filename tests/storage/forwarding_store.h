// ForwardingEventStore: an EventStore that hands every call to another one, for tests that
// change one behaviour of a real store (hold an append, hold a snapshot write): derive,
// override that call, and the rest keeps working. AppendAsync keeps EventStore's default,
// which goes through this->Append, so an overridden Append sees asynchronous appends too.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/event_store.h"

namespace roster::storage::testing {

class ForwardingEventStore : public EventStore {
 public:
  explicit ForwardingEventStore(EventStore& inner) : inner_(inner) {}

  Result<AppendResult> Append(AppendRequest request) override {
    return inner_.Append(std::move(request));
  }
  Status Scan(uint64_t from, uint64_t to, const EventVisitor& visit) const override {
    return inner_.Scan(from, to, visit);
  }
  Status ScanOwned(uint64_t from, uint64_t to, const OwnedEventVisitor& visit) const override {
    return inner_.ScanOwned(from, to, visit);
  }
  Result<std::vector<events::RecordedEvent>> ReadStream(const std::string& stream,
                                                        uint64_t from_version,
                                                        size_t max) const override {
    return inner_.ReadStream(stream, from_version, max);
  }
  Result<events::RecordedEvent> Read(uint64_t position) const override {
    return inner_.Read(position);
  }
  Result<std::optional<AppendResult>> FindIdempotencyKey(std::string_view key) const override {
    return inner_.FindIdempotencyKey(key);
  }
  uint64_t StreamVersion(const std::string& stream) const override {
    return inner_.StreamVersion(stream);
  }
  Head GetHead() const override { return inner_.GetHead(); }
  VerifyReport Verify() const override { return inner_.Verify(); }
  uint64_t WaitForHead(uint64_t after, std::chrono::milliseconds timeout) const override {
    return inner_.WaitForHead(after, timeout);
  }
  void Shutdown() override { inner_.Shutdown(); }
  PiiVault& Vault() override { return inner_.Vault(); }
  const std::string& LedgerSecret() const override { return inner_.LedgerSecret(); }
  Status PutSnapshot(const std::string& name, uint64_t position,
                     std::string_view bytes) override {
    return inner_.PutSnapshot(name, position, bytes);
  }
  std::optional<std::string> GetSnapshot(const std::string& name,
                                         uint64_t* position) const override {
    return inner_.GetSnapshot(name, position);
  }

 protected:
  EventStore& inner_;
};

}  // namespace roster::storage::testing
