#include "storage/verify.h"

#include "events/codec.h"

namespace roster::storage {

void ChainVerifier::Fail(uint64_t position, std::string problem) {
  if (!report_.ok) return;
  report_.ok = false;
  report_.first_bad_position = position;
  report_.problem = std::move(problem);
}

bool ChainVerifier::Check(uint64_t position, std::string_view canonical,
                          const Hash256& stored_hash) {
  if (!report_.ok) return false;
  const uint64_t expected_position = report_.checked + 1;
  if (position != expected_position) {
    Fail(expected_position, "gap: expected position " + std::to_string(expected_position) +
                                ", found " + std::to_string(position));
    return false;
  }
  Hash256 computed = events::ChainHash(prev_, canonical);
  if (computed != stored_hash) {
    Fail(position, "hash mismatch: stored " + ToHex(stored_hash) + ", computed " + ToHex(computed));
    return false;
  }
  events::EnvelopeView& env = envelope_;
  if (Status read = events::ReadEnvelopeView(canonical, &env); !read.ok()) {
    Fail(position, read.message());
    return false;
  }
  if (env.position != position) {
    Fail(position, "envelope says position " + std::to_string(env.position));
    return false;
  }
  if (env.prev_hash != prev_) {
    Fail(position, "prev_hash does not link to position " + std::to_string(position - 1));
    return false;
  }
  auto stream = stream_versions_.find(env.stream);
  if (stream == stream_versions_.end()) {
    stream = stream_versions_.emplace(std::string(env.stream), 0).first;
  }
  uint64_t& version = stream->second;
  if (env.version != version + 1) {
    Fail(position, "stream " + std::string(env.stream) + " version " +
                       std::to_string(env.version) + " follows " + std::to_string(version));
    return false;
  }
  version = env.version;
  if (Status body = events::DecodeEventInto(env.type, env.payload, &body_); !body.ok()) {
    Fail(position, body.message());
    return false;
  }
  prev_ = stored_hash;
  report_.checked = position;
  report_.head = Head{position, stored_hash};
  return true;
}

}  // namespace roster::storage
