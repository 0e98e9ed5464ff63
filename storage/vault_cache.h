// VaultCache: a bounded in-memory cache of subject → email for PiiVault::Lookup.
//
// Every email a query shows (a members page, an invitations page of 100, an audit page)
// is a vault read: a RocksDB Get per entry was 28 % of rosterd's CPU in the mixed-read
// load benchmark. Emails are personal data, so the cache must never outlive an erasure:
// Erase invalidates the subject, and a read that started before an invalidation does not
// put what it read (the epoch below), so a concurrent Lookup cannot bring an erased
// email back.
//
// 16 shards, each a hash map with first-in-first-out eviction once it holds its share of
// `capacity`. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roster::storage {

class VaultCache {
 public:
  // capacity 0 disables the cache (Get always misses, Put does nothing).
  explicit VaultCache(size_t capacity) : per_shard_((capacity + kShards - 1) / kShards) {}

  // Take this before reading the store, and pass it to Put with what was read.
  uint64_t Epoch() const { return epoch_.load(std::memory_order_acquire); }

  std::optional<std::string> Get(std::string_view subject) const {
    if (per_shard_ == 0) return std::nullopt;
    const Shard& s = ShardOf(subject);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(subject);
    if (it == s.map.end()) return std::nullopt;
    return it->second;
  }

  // Caches `email` for `subject`, unless an Invalidate came after `epoch` was taken.
  void Put(std::string_view subject, std::string_view email, uint64_t epoch) {
    if (per_shard_ == 0) return;
    Shard& s = ShardOf(subject);
    std::lock_guard lock(s.mu);
    // Checked under the shard's lock, which Invalidate holds while it bumps the epoch: a
    // read that overlapped an erasure of this subject either put before it (and is
    // removed by it) or sees the new epoch here.
    if (epoch_.load(std::memory_order_acquire) != epoch) return;
    auto [it, inserted] = s.map.try_emplace(std::string(subject), email);
    if (!inserted) return;
    s.order.emplace_back(subject);
    while (s.map.size() > per_shard_ && !s.order.empty()) {
      s.map.erase(s.order.front());  // may already be gone (invalidated): a no-op then
      s.order.pop_front();
    }
    // Invalidated keys leave their names in `order`; keep it from growing without bound.
    if (s.order.size() > 2 * per_shard_) Compact(s);
  }

  // Forgets `subject` (its email was erased) and fails every Put whose read started before.
  void Invalidate(std::string_view subject) {
    Shard& s = ShardOf(subject);
    std::lock_guard lock(s.mu);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    if (auto it = s.map.find(subject); it != s.map.end()) s.map.erase(it);
  }

  size_t size() const {
    size_t n = 0;
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      n += s.map.size();
    }
    return n;
  }

 private:
  static constexpr size_t kShards = 16;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::string, Hash, std::equal_to<>> map;
    std::deque<std::string> order;  // insertion order, for eviction
  };

  Shard& ShardOf(std::string_view subject) {
    return shards_[std::hash<std::string_view>{}(subject) % kShards];
  }
  const Shard& ShardOf(std::string_view subject) const {
    return shards_[std::hash<std::string_view>{}(subject) % kShards];
  }
  static void Compact(Shard& s) {
    std::deque<std::string> kept;
    for (std::string& key : s.order) {
      if (s.map.count(key) != 0) kept.push_back(std::move(key));
    }
    s.order.swap(kept);
  }

  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> epoch_{0};
};

}  // namespace roster::storage
