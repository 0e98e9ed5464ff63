// ChainVerifier: checks records one by one in position order, as both stores' Verify()
// and `roster verify` walk the log. Stops at the first problem and names its position.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "events/codec.h"
#include "storage/event_store.h"

namespace roster::storage {

class ChainVerifier {
 public:
  // Checks the record stored at `position` (its canonical bytes and stored hash).
  // Returns false once a problem is found (and for every later call).
  bool Check(uint64_t position, std::string_view canonical, const Hash256& stored_hash);

  // Records a problem found outside Check (e.g. an unreadable key).
  void Fail(uint64_t position, std::string problem);

  VerifyReport Report() const { return report_; }

  // The envelope of the record the last successful Check accepted, as views into the
  // `canonical` bytes passed to it (valid while those are).
  const events::EnvelopeView& LastEnvelope() const { return envelope_; }

 private:
  // Transparent, so a stream's version is found by the envelope's view without a copy.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  VerifyReport report_;
  Hash256 prev_{};
  std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> stream_versions_;
  events::EnvelopeView envelope_;
  events::Event body_;  // reused: decoding into it keeps its strings' capacity
};

}  // namespace roster::storage
