#include "storage/chain.h"

#include "events/codec.h"

namespace roster::storage {

Status ValidateAppend(const AppendRequest& r) {
  if (r.stream.empty() || r.stream.size() > 256) {
    return Error(ErrorCode::kInvalidField, "stream: must be 1..256 bytes");
  }
  // The RocksDB stream index separates stream and version with a 0x00 byte
  // (docs/storage_keys.md); both stores refuse it so they agree.
  if (r.stream.find('\0') != std::string::npos) {
    return Error(ErrorCode::kInvalidField, "stream: must not contain a NUL byte");
  }
  if (r.events.empty() || r.events.size() > kMaxEventsPerAppend) {
    return Error(ErrorCode::kInvalidField,
                 "events: an append carries 1.." + std::to_string(kMaxEventsPerAppend) + " events");
  }
  for (const auto& e : r.events) {
    if (e.payload.size() > kMaxPayloadBytes) {
      return Error(ErrorCode::kInvalidField, "payload: over " + std::to_string(kMaxPayloadBytes) + " bytes");
    }
  }
  if (r.idempotency_key.size() > 256) {
    return Error(ErrorCode::kInvalidField, "idempotency_key: over 256 bytes");
  }
  return Status::Ok();
}

Status CheckExpected(const ExpectedVersion& expected, const std::string& stream,
                     uint64_t current) {
  switch (expected.kind) {
    case ExpectedVersion::Kind::kAny:
      return Status::Ok();
    case ExpectedVersion::Kind::kNoStream:
      if (current == 0) return Status::Ok();
      return Error(ErrorCode::kVersionConflict,
                   "stream " + stream + " exists at version " + std::to_string(current));
    case ExpectedVersion::Kind::kExact:
      if (current == expected.version) return Status::Ok();
      return Error(ErrorCode::kVersionConflict,
                   "stream " + stream + " is at version " + std::to_string(current) +
                       ", expected " + std::to_string(expected.version))
          .With("current_version", std::to_string(current));
  }
  return Status::Ok();
}

std::vector<SealedEvent> Seal(const AppendRequest& r, uint64_t first_position,
                              uint64_t first_version, Micros recorded_at, Hash256* prev) {
  std::vector<SealedEvent> out;
  out.reserve(r.events.size());
  events::Envelope env;
  env.stream = r.stream;
  env.recorded_at = recorded_at;
  env.actor = r.actor;
  env.correlation_id = r.correlation_id;
  env.causation_id = r.causation_id;
  env.idempotency_key = r.idempotency_key;
  for (size_t i = 0; i < r.events.size(); ++i) {
    env.position = first_position + i;
    env.version = first_version + i;
    env.type = r.events[i].type;
    env.payload = r.events[i].payload;
    env.prev_hash = *prev;
    SealedEvent s;
    s.position = env.position;
    s.version = env.version;
    s.canonical = events::EncodeEnvelope(env);
    s.hash = events::ChainHash(*prev, s.canonical);
    *prev = s.hash;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace roster::storage
