// Shared by both stores: turns an accepted AppendRequest into sealed envelopes (positions,
// versions, time, chain hashes), and checks a stored record against its predecessor.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "storage/event_store.h"

namespace roster::storage {

// One sealed event as stored: canonical envelope bytes (hashed) and their chain hash.
struct SealedEvent {
  uint64_t position = 0;
  uint64_t version = 0;
  std::string canonical;  // events::EncodeEnvelope bytes
  Hash256 hash{};
};

// Seals request.events as positions first_position.., stream versions first_version..,
// chained from `prev`. Advances `prev` to the last hash.
std::vector<SealedEvent> Seal(const AppendRequest& request, uint64_t first_position,
                              uint64_t first_version, Micros recorded_at, Hash256* prev);

// Checks an expected version against the stream's current version.
Status CheckExpected(const ExpectedVersion& expected, const std::string& stream,
                     uint64_t current_version);

// Stream key helper for version checks: "account-a1" etc. are opaque to storage.

}  // namespace roster::storage
