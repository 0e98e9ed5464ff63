// Helpers shared by the storage tests: temporary directories and small valid events.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "events/codec.h"
#include "storage/event_store.h"

namespace roster::storage::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/roster-storage-XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A path inside the directory that does not exist yet.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A valid RoleChanged event (so Verify's body decoding passes), distinguishable by `n`.
inline NewEvent MakeEvent(uint64_t n, size_t pad = 0) {
  events::RoleChanged e;
  e.workspace_id = "ws_" + std::to_string(n);
  e.user_id = "usr_" + std::to_string(n) + std::string(pad, 'x');
  e.from_role = "viewer";
  e.to_role = "editor";
  return NewEvent{events::RoleChanged::kType, events::EncodeEvent(events::Event(e))};
}

inline AppendRequest MakeAppend(std::string stream, ExpectedVersion expected, size_t events = 1,
                                uint64_t seed = 0) {
  AppendRequest r;
  r.stream = std::move(stream);
  r.expected = expected;
  for (size_t i = 0; i < events; ++i) r.events.push_back(MakeEvent(seed + i));
  r.actor = "user:u1";
  r.correlation_id = "corr-" + std::to_string(seed);
  r.causation_id = "cause-" + std::to_string(seed);
  return r;
}

}  // namespace roster::storage::testing
