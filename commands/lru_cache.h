// LruCache: string keys to values, in order of use, trimmed to a capacity by dropping the
// least recently used entries. The handler's bounded caches (idempotency results, account
// state) are built on it.
//
// Thread-safety: none; the owner serializes every call (the handler holds a mutex).
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace roster::commands {

template <class V>
class LruCache {
 public:
  // `capacity` >= 1 is the owner's to validate (a 0 empties the cache on every Trim).
  explicit LruCache(size_t capacity) : capacity_(capacity) {}
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // The value of `key`, which becomes the most recently used; nullptr when absent. The
  // pointer stays valid until that entry is evicted or replaced.
  V* Find(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // Inserts `key` (or replaces its value) as the most recently used entry. Evicts nothing:
  // call Trim.
  V& Put(std::string key, V value) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      it->second->second = std::move(value);
      return it->second->second;
    }
    order_.emplace_front(std::move(key), std::move(value));
    // The index keys view the list node's string, which never moves.
    index_.emplace(std::string_view(order_.front().first), order_.begin());
    return order_.front().second;
  }

  // Evicts entries, least recently used first, while size() > capacity. An entry for which
  // keep(value) is true is skipped (it stays, in its place) and the next more recently used
  // one is considered; when every candidate is kept, size() stays above the capacity.
  template <class Keep>
  void Trim(const Keep& keep) {
    auto it = order_.end();
    while (order_.size() > capacity_ && it != order_.begin()) {
      --it;
      if (keep(it->second)) continue;
      index_.erase(std::string_view(it->first));
      it = order_.erase(it);
    }
  }
  void Trim() {
    Trim([](const V&) { return false; });
  }

  size_t size() const { return order_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  using Entry = std::pair<std::string, V>;
  size_t capacity_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator> index_;
};

}  // namespace roster::commands
