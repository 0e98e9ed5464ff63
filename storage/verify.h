// ChainVerifier: checks records one by one in position order, as both stores' Verify()
// and `roster verify` walk the log. Stops at the first problem and names its position.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

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

 private:
  VerifyReport report_;
  Hash256 prev_{};
  std::unordered_map<std::string, uint64_t> stream_versions_;
};

}  // namespace roster::storage
