// The warm arena (projections/warm_arena.h): a jemalloc arena whose memory a filler thread
// populates ahead of use. This binary links jemalloc; where it cannot (the sanitizer
// build) every test skips.
#include "projections/warm_arena.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "projections/big_alloc.h"

extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace roster::projections::warm_arena {
namespace {

// The warm arena is opt-in (warm_arena.h); these tests turn it on before its first use.
const bool kWarmArenaOn = [] { return setenv("ROSTER_WARM_ARENA", "on", 1) == 0; }();

using namespace std::chrono_literals;

constexpr size_t kMiB = size_t{1} << 20;

unsigned ThreadArena() {
  unsigned index = 0;
  size_t len = sizeof(index);
  EXPECT_EQ(mallctl("thread.arena", &index, &len, nullptr, 0), 0);
  return index;
}

// The arena a block was allocated from.
unsigned ArenaOf(const void* p) {
  unsigned index = 0;
  size_t len = sizeof(index);
  EXPECT_EQ(mallctl("arenas.lookup", &index, &len, &p, sizeof(p)), 0);
  return index;
}

// Waits for the state, never sleeps and hopes (tests/README.md).
template <class Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class WarmArenaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Available()) GTEST_SKIP() << "jemalloc is not this binary's allocator";
  }
};

TEST_F(WarmArenaTest, ASmallCatchUpDoesNotBind) {
  unsigned arena = ThreadArena();
  ScopedBinding bind(kMiB);  // below one chunk: not worth populating
  EXPECT_FALSE(bind.active());
  EXPECT_EQ(ThreadArena(), arena);
}

TEST_F(WarmArenaTest, BindingSwitchesTheThreadsArenaAndRestoresIt) {
  unsigned arena = ThreadArena();
  unsigned warm = 0;
  {
    ScopedBinding bind(256 * kMiB);
    ASSERT_TRUE(bind.active());
    warm = ThreadArena();
    EXPECT_NE(warm, arena);
  }
  EXPECT_EQ(ThreadArena(), arena);
  {
    ScopedBinding again(256 * kMiB);  // the same arena every time
    EXPECT_EQ(ThreadArena(), warm);
  }
}

// Hundreds of MiB in blocks of every size class, written, checked and freed: what a
// catch-up does, and more than the filler keeps ahead, so some memory is handed out
// before it was populated and some after.
TEST_F(WarmArenaTest, AllocationsOfEverySizeHoldTheirBytes) {
  Stats before = GetStats();
  std::mt19937_64 rng(7);
  struct Block {
    unsigned char* p;
    size_t n;
    unsigned char fill;
  };
  std::vector<Block> blocks;
  size_t total = 0;
  unsigned warm = 0;
  {
    ScopedBinding bind(512 * kMiB);
    ASSERT_TRUE(bind.active());
    warm = ThreadArena();
    // The filler works while the thread allocates: wait until it has populated something.
    ASSERT_TRUE(Eventually([&] { return GetStats().bytes_populated > before.bytes_populated; }));
    while (total < 320 * kMiB) {
      size_t n = size_t{1} << (rng() % 21);  // 1 B .. 1 MiB
      n += rng() % n;
      auto* p = static_cast<unsigned char*>(std::malloc(n));
      ASSERT_NE(p, nullptr);
      auto fill = static_cast<unsigned char>(rng());
      std::memset(p, fill, n);
      blocks.push_back({p, n, fill});
      if (blocks.size() % 97 == 0) {
        EXPECT_EQ(ArenaOf(p), warm);
      }
      total += n;
      if (rng() % 4 == 0) {  // free some on the way: jemalloc reuses them
        Block b = blocks[rng() % blocks.size()];
        for (size_t i = 0; i < b.n; i += 61) ASSERT_EQ(b.p[i], b.fill);
      }
    }
  }
  Stats after = GetStats();
  EXPECT_GT(after.bytes_handed_out, before.bytes_handed_out);
  EXPECT_GT(after.bytes_populated, before.bytes_populated);
  // Freed from another thread after the binding ended: jemalloc frees to the owner.
  std::thread([&] {
    for (const Block& b : blocks) {
      for (size_t i = 0; i < b.n; i += 61) ASSERT_EQ(b.p[i], b.fill);
      std::free(b.p);
    }
  }).join();
}

TEST_F(WarmArenaTest, ARequestLargerThanAChunkIsServedToo) {
  size_t n = 100 * kMiB;  // more than a chunk: a mapping of its own
  ScopedBinding bind(256 * kMiB);
  auto* p = static_cast<unsigned char*>(std::calloc(n, 1));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ArenaOf(p), ThreadArena());
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[n - 1], 0);
  std::memset(p, 0xab, n);
  EXPECT_EQ(p[n / 2], 0xab);
  std::free(p);
}

// BigAllocator's blocks (>= 4 MiB) stay outside the arena (warm_arena.h says why), also
// while the thread is bound: they are mapped by MapBig, not handed out by jemalloc. (Not
// asked of jemalloc: "arenas.lookup" of an address it never handed out reads its radix
// tree without checking for a leaf, and crashed this test about once in 15 runs.)
TEST_F(WarmArenaTest, BigVectorsStayOutsideTheArena) {
  ScopedBinding bind(256 * kMiB);
  const size_t mapped = big_mapped_bytes.load();
  BigVector<uint64_t> v(size_t{2} << 20);  // 16 MiB, value-initialised
  EXPECT_EQ(big_mapped_bytes.load() - mapped, v.capacity() * sizeof(uint64_t));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % kHugePage, 0u);
  EXPECT_EQ(v.front(), 0u);
  EXPECT_EQ(v.back(), 0u);
  BigVector<uint64_t> small(16);  // below 4 MiB: operator new, from the bound arena
  EXPECT_EQ(ArenaOf(small.data()), ThreadArena());
}

}  // namespace
}  // namespace roster::projections::warm_arena
