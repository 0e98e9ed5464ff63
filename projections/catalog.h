// The catalog projector: the names every other projector and query refers to.
//
// It interns ids (users, workspaces, accounts, and a pool of short labels: role names,
// actors, partner ids, levels) into dense uint32 ids, so the other projectors key their
// hash maps by integers and the hot check path never allocates; it keeps account and
// workspace metadata, each workspace's roles (template roles plus versioned custom
// definitions, so an as-of check uses a role's patterns as they were then), the latest
// vault subject and email keys of every user, and the time index (position → time) that
// turns `at=T` into a position.
//
// Not thread-safe by itself: the Engine applies under an exclusive lock and queries under
// a shared one. Interned strings are never freed while the catalog lives, so string_views
// into them stay valid as long as the owning State (see engine.h about rebuilds).
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "base/clock.h"
#include "events/event_types.h"
#include "policy/policy.h"
#include "projections/big_alloc.h"
#include "projections/serde.h"

namespace roster::projections {

inline constexpr uint32_t kNone = UINT32_MAX;

// Dense ids for strings, assigned in first-seen order (hence deterministic for a given
// log). Lookups by string_view do not allocate. An open-addressing table of 32-byte slots
// in one array; a slot holds the hash tag, the id and, for names up to 23 bytes (every id
// and label in practice), the name itself: a lookup touches one slot line and nothing
// else. Longer names are compared against the stored string (one more line).
class Interner {
 public:
  Interner() = default;
  Interner(const Interner&) = delete;
  Interner& operator=(const Interner&) = delete;

  uint32_t Intern(std::string_view name);
  uint32_t Find(std::string_view name) const {  // kNone when unknown
    return FindKey(Key(name));
  }
  // Find() for the apply path (under the exclusive lock): a name interned moments ago is
  // answered from the recent table, without probing the big one.
  uint32_t FindRecent(std::string_view name) const {
    Key key(name);
    const Slot& recent = recent_[RecentIndex(key.h)];
    if (recent.id1 != 0 && Same(recent, key)) return recent.id1 - 1;
    return FindKey(key);
  }
  // Starts loading the table line where `name` would be found, for an Intern/Find a few
  // events later (a catch-up is bound by these cache misses, not by the hashing).
  void Prefetch(std::string_view name) const {
    if (slots_.empty()) return;
    Key key(name);
    __builtin_prefetch(&slots_[Home(key.h)]);
    __builtin_prefetch(&recent_[RecentIndex(key.h)]);  // 32 KiB per interner: not always in L1
  }
  // The name of an id; "" for kNone. The reference is stable for the interner's life.
  const std::string& Name(uint32_t id) const {
    static const std::string kEmpty;
    return id < names_.size() ? names_[id] : kEmpty;
  }
  size_t size() const { return names_.size(); }

  void Save(Writer& w) const;
  bool Load(Reader& r);

 private:
  static constexpr size_t kInline = 23;  // longest name kept in the slot
  static constexpr uint8_t kLong = 0xff;  // len marker: compare names_[id]
  // words: the name's bytes, zero-padded, and its length in the last byte (kLong above
  // kInline: compare names_[id]).
  struct Slot {
    uint32_t tag = 0;  // hash >> 32
    uint32_t id1 = 0;  // id + 1; 0 = empty
    uint64_t words[3] = {};
  };
  static_assert(sizeof(Slot) == 32);

  // A name as looked up: its slot words and hash, computed once per lookup. Names that
  // fit the slot hash from the words (a few multiplies, no pass over bytes, no call).
  struct Key {
    explicit Key(std::string_view n) : name(n) {
      const char* p = n.data();
      size_t len = n.size();
      if (len <= kInline) {
        // Fixed-size (overlapping) loads, never a byte-wise copy to the stack: that cost a
        // store-forwarding stall per lookup.
        if (len >= 16) {
          words[0] = Load(p, 8);
          words[1] = Load(p + 8, 8);
          words[2] = Load(p + 16, len - 16);
        } else if (len >= 8) {
          words[0] = Load(p, 8);
          words[1] = Load(p + 8, len - 8);
        } else {
          words[0] = Load(p, len);
        }
        words[2] |= static_cast<uint64_t>(len) << 56;
        uint64_t x = words[0] * 0x9e3779b97f4a7c15ull;
        x = (x ^ words[1]) * 0xff51afd7ed558ccdull;
        x ^= x >> 32;
        x = (x ^ words[2]) * 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 29;
        x *= 0x9e3779b97f4a7c15ull;
        h = x ^ (x >> 32);
      } else {
        words[2] = static_cast<uint64_t>(kLong) << 56;
        h = std::hash<std::string_view>{}(n);
      }
    }
    // The k (< 8, or 8) bytes at p as a little-endian word, zero above.
    static uint64_t Load(const char* p, size_t k) {
      uint64_t v = 0;
      if (k == 8) {
        std::memcpy(&v, p, 8);
      } else if (k >= 4) {
        uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + k - 4, 4);
        v = lo | (static_cast<uint64_t>(hi) << (8 * (k - 4)));
      } else if (k > 0) {
        auto b = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(p[i])); };
        v = b(0) | (b(k / 2) << (8 * (k / 2))) | (b(k - 1) << (8 * (k - 1)));
      }
      return v;
    }
    std::string_view name;
    uint64_t words[3] = {};
    uint64_t h = 0;
  };

  bool Same(const Slot& slot, const Key& key) const {
    if (slot.tag != static_cast<uint32_t>(key.h >> 32)) return false;
    if (slot.words[0] != key.words[0] || slot.words[1] != key.words[1] ||
        slot.words[2] != key.words[2]) {
      return false;
    }
    return key.name.size() <= kInline || names_[slot.id1 - 1] == key.name;
  }
  uint32_t FindKey(const Key& key) const {
    if (slots_.empty()) return kNone;
    for (size_t i = Home(key.h);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id1 == 0) return kNone;
      if (Same(slot, key)) return slot.id1 - 1;
    }
  }
  // A slot's home index comes from the tag alone, so Grow() moves slots without hashing
  // or touching the names again.
  size_t Home(uint64_t h) const { return (h >> 32) & mask_; }
  static size_t RecentIndex(uint64_t h) { return (h >> 16) & (kRecent - 1); }
  static Slot MakeSlot(const Key& key, uint32_t id);
  void Insert(const Slot& slot);  // into a free slot; the table has room
  void Grow();

  std::deque<std::string> names_;  // deque: elements never move, so views stay valid
  BigVector<Slot> slots_;
  size_t mask_ = 0;
  // Intern() only (the apply path, under the exclusive lock; Find() never touches it):
  // a copy of the slot last interned per hash bucket, in 32 KiB that stay in cache. Names
  // repeated across events (roles, levels, busy actors and workspaces) skip the probe of
  // the big table; a miss costs one cached load.
  static constexpr size_t kRecent = 1024;
  std::vector<Slot> recent_ = std::vector<Slot>(kRecent);
};

// One custom definition of a role, effective from `from_position` (inclusive).
struct RoleVersion {
  uint64_t from_position = 0;
  policy::Patterns patterns;
};

// A role name in one workspace. Members point at their slot, so a redefinition applies
// to them at once; as-of checks ask AsOf(p).
struct RoleSlot {
  const policy::Patterns* template_patterns = nullptr;  // the template's role, if any
  // Custom definitions, oldest first. A vector, not a deque: most slots never get one, and
  // libstdc++'s deque allocates a map and a 512-byte node even when empty (on a 1M-event
  // rebuild that was 13% of the page faults). Pointers into it (live(), AsOf()) are only
  // used under the state's lock, so reallocation on a new version is fine.
  std::vector<RoleVersion> versions;

  const policy::Patterns* live() const {
    return versions.empty() ? template_patterns : &versions.back().patterns;
  }
  const policy::Patterns* AsOf(uint64_t position) const;
};

struct AccountInfo {
  bool opened = false;
  std::string name, plan, region;
  uint64_t opened_position = 0;
  Micros opened_at = 0;
  uint32_t opened_by = kNone;      // label id of the actor
  std::vector<uint32_t> workspaces;  // workspace ids, creation order
};

struct WorkspaceInfo {
  bool created = false;  // false: referenced by an event but never created (defensive)
  uint32_t account = kNone;
  std::string name, template_name;
  int64_t invite_ttl_seconds = 0;
  uint64_t created_position = 0;
  Micros created_at = 0;
  uint32_t created_by = kNone;
  const policy::Template* tmpl = nullptr;  // derived from template_name
  std::map<std::string, std::unique_ptr<RoleSlot>, std::less<>> roles;

  const RoleSlot* Slot(std::string_view role) const {
    auto it = roles.find(role);
    return it == roles.end() ? nullptr : it->second.get();
  }
  bool ExistsAt(uint64_t position) const { return created && created_position <= position; }
};

struct UserInfo {
  std::string subject;                  // latest vault subject seen for the user
  std::vector<std::string> email_keys;  // every email key seen, first-seen order
};

// The ids of what an event names, resolved once by Catalog::Apply for the projectors that
// apply the same event after it.
struct EventIds {
  uint32_t actor = kNone;      // label id of the envelope's actor
  uint32_t account = kNone;    // the stream's account ("account-<id>"), kNone otherwise
  uint32_t workspace = kNone;  // the payload's workspace_id, kNone when it has none
  // The principal the event is about (user_id, owner_user_id, grantee_user_id).
  uint32_t user = kNone;
  // Label ids: the role granted (role, to_role; a partner's access_level / to_level) and
  // the role left (from_role).
  uint32_t role = kNone;
  uint32_t from_role = kNone;
  // Label id of the invitation or partner relationship the event names.
  uint32_t item = kNone;
  // The workspace's slot of `role` for events that grant a workspace role.
  const RoleSlot* slot = nullptr;
};

class Catalog {
 public:
  Catalog() = default;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Applies the event at position() + 1. Must run before the other projectors' Apply,
  // which receive the ids returned here.
  EventIds Apply(const events::RecordedEvent& recorded);
  // Prefetches the interner slots Apply(recorded) will probe; call a few events ahead.
  void Prefetch(const events::RecordedEvent& recorded) const;

  uint64_t position() const { return times_.size(); }
  // Room for `events` positions in the time index (a catch-up knows the log's head).
  void Reserve(uint64_t events) { times_.reserve(events); }

  Interner users, workspaces, accounts, labels;

  const AccountInfo* account(uint32_t id) const {
    return id < account_info_.size() ? &account_info_[id] : nullptr;
  }
  const WorkspaceInfo* workspace(uint32_t id) const {
    return id < workspace_info_.size() ? workspace_info_[id].get() : nullptr;
  }
  const UserInfo* user(uint32_t id) const {
    return id < user_info_.size() ? &user_info_[id] : nullptr;
  }

  // The account id an event belongs to: from its stream "account-<id>"; kNone otherwise.
  uint32_t AccountOfStream(std::string_view stream) const;
  // "<id>" of a stream "account-<id>"; nullopt for other streams.
  static std::optional<std::string_view> AccountIdOfStream(std::string_view stream);
  // The last position whose (running maximum) time is <= t; 0 when none.
  uint64_t PositionAtTime(Micros t) const;
  // The first position whose running-maximum time is >= t (position()+1 when none).
  uint64_t FirstPositionAtOrAfter(Micros t) const;

  // "user:ana" → "ana"; other actors unchanged. For *_by fields.
  static std::string_view ActorUser(std::string_view actor);

  void Save(Writer& w) const;
  bool Load(Reader& r);

 private:
  uint32_t EnsureAccount(std::string_view id);
  uint32_t EnsureWorkspace(std::string_view id, uint32_t account);
  uint32_t EnsureUser(std::string_view id);
  uint32_t SeeUser(std::string_view id, const events::Bytes& key, const std::string& subject);
  // The slot of `role` (label id `label`) in workspace `ws`, created when missing.
  RoleSlot* EnsureSlot(uint32_t ws, std::string_view role, uint32_t label);
  void LinkTemplate(uint32_t w, WorkspaceInfo& ws);

  std::vector<AccountInfo> account_info_;
  std::vector<std::unique_ptr<WorkspaceInfo>> workspace_info_;
  std::vector<UserInfo> user_info_;
  // Derived: every role slot by (workspace id, label id of its name), so the apply path
  // finds a slot with one probe of a flat table instead of through the workspace record.
  boost::unordered_flat_map<uint64_t, RoleSlot*> slots_by_label_;
  // times_[p-1]: running maximum of recorded_at up to p (recorded_at should not go
  // backwards; if a clock ever did, this keeps "at=T" well defined).
  BigVector<Micros> times_;
};

}  // namespace roster::projections
