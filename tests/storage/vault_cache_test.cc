// VaultCache: bounded, and never the place an erased email survives.
#include "storage/vault_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace roster::storage {
namespace {

TEST(VaultCacheTest, KeepsWhatWasPutUpToItsCapacity) {
  VaultCache cache(64);
  EXPECT_EQ(cache.Get("sub_a"), std::nullopt);
  cache.Put("sub_a", "a@example.com", cache.Epoch());
  EXPECT_EQ(cache.Get("sub_a"), "a@example.com");
  for (int i = 0; i < 5000; ++i) {
    cache.Put("sub_" + std::to_string(i), std::to_string(i) + "@example.com", cache.Epoch());
  }
  // 16 shards of 4: never more than the capacity, the oldest go first.
  EXPECT_LE(cache.size(), 64u);
  EXPECT_GE(cache.size(), 48u);
  EXPECT_EQ(cache.Get("sub_a"), std::nullopt);
  EXPECT_EQ(cache.Get("sub_4999"), "4999@example.com");
}

TEST(VaultCacheTest, AnInvalidatedSubjectIsGoneAndAReadBeforeItIsNotPut) {
  VaultCache cache(1024);
  cache.Put("sub_a", "a@example.com", cache.Epoch());
  cache.Put("sub_b", "b@example.com", cache.Epoch());
  const uint64_t before = cache.Epoch();  // a Lookup starts reading the store here...
  cache.Invalidate("sub_a");              // ...an erasure runs meanwhile...
  cache.Put("sub_a", "a@example.com", before);  // ...and what it read is not kept
  EXPECT_EQ(cache.Get("sub_a"), std::nullopt);
  EXPECT_EQ(cache.Get("sub_b"), "b@example.com");
  cache.Put("sub_a", "a2@example.com", cache.Epoch());  // a read after the erasure is
  EXPECT_EQ(cache.Get("sub_a"), "a2@example.com");
  // Invalidated names left in the eviction order do not grow it without bound.
  for (int i = 0; i < 10000; ++i) {
    std::string s = "sub_" + std::to_string(i % 50);
    cache.Put(s, "x@example.com", cache.Epoch());
    cache.Invalidate(s);
  }
  EXPECT_LE(cache.size(), 1024u);
}

TEST(VaultCacheTest, CapacityZeroKeepsNothing) {
  VaultCache cache(0);
  cache.Put("sub_a", "a@example.com", cache.Epoch());
  EXPECT_EQ(cache.Get("sub_a"), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace roster::storage
