#include "projections/warm_arena.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "projections/big_alloc.h"

// jemalloc's control interface, resolved only when the process links jemalloc (weak: a
// binary without it sees null pointers). The hook table layout is jemalloc 5's public
// `struct extent_hooks_s` (jemalloc/jemalloc.h), repeated here so that this library does
// not need jemalloc's headers or library to build.
extern "C" {
int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));
}

namespace roster::projections::warm_arena {
namespace {

struct ExtentHooks {
  void* (*alloc)(ExtentHooks*, void*, size_t, size_t, bool*, bool*, unsigned);
  bool (*dalloc)(ExtentHooks*, void*, size_t, bool, unsigned);
  void (*destroy)(ExtentHooks*, void*, size_t, bool, unsigned);
  bool (*commit)(ExtentHooks*, void*, size_t, size_t, size_t, unsigned);
  bool (*decommit)(ExtentHooks*, void*, size_t, size_t, size_t, unsigned);
  bool (*purge_lazy)(ExtentHooks*, void*, size_t, size_t, size_t, unsigned);
  bool (*purge_forced)(ExtentHooks*, void*, size_t, size_t, size_t, unsigned);
  bool (*split)(ExtentHooks*, void*, size_t, size_t, size_t, bool, unsigned);
  bool (*merge)(ExtentHooks*, void*, size_t, void*, size_t, bool, unsigned);
};

constexpr size_t kHuge = size_t{2} << 20;
// The unit of mapping, and the largest request served from a chunk; larger requests (a
// flat table of 1M+ entries) get a mapping of their own, cold.
constexpr size_t kChunk = size_t{64} << 20;
constexpr size_t kStep = size_t{4} << 20;  // the filler populates this much at a time
// Populated ahead of the bump pointer, at most: one 40 MiB table must not eat all of it.
constexpr size_t kAhead = 2 * kChunk;
constexpr size_t kRing = kAhead / kChunk + 2;
// jemalloc grows an arena geometrically; capped, it asks for small extents that pack the
// chunks instead of ever larger ones that skip ahead of the populated part.
constexpr size_t kGrowLimit = size_t{4} << 20;
#ifndef MADV_POPULATE_WRITE
constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14
#endif

char* MapAligned(size_t bytes, size_t align = kHuge) {
  return static_cast<char*>(MapBig(bytes, align));
}

// Faults the pages in, writable, without touching their contents (the range may already be
// in use). False when the kernel lacks MADV_POPULATE_WRITE (before Linux 5.14): no
// portable substitute leaves memory that another thread may be writing alone.
bool Populate(char* p, size_t bytes) {
  return madvise(p, bytes, MADV_POPULATE_WRITE) == 0 || errno != EINVAL;
}

// The arena's memory: a ring of mapped chunks. The first is being handed out (bump
// pointer); the filler thread populates, kStep at a time, the part of the ring just ahead
// of the bump pointer, and maps the next chunk before the ring runs out. The hook never
// waits for the filler: memory it hands out that is not populated yet is faulted in by
// whoever touches it first, as without the arena.
class Arena {
 public:
  static Arena* Get();  // nullptr when jemalloc is absent or refused the arena
  unsigned index() const { return index_; }

  void* Alloc(void* new_addr, size_t size, size_t alignment) {
    if (alignment > kHuge || size > kChunk) {
      if (new_addr != nullptr) return nullptr;
      {
        std::lock_guard lock(mu_);
        ++stats_.chunks_cold;
      }
      // Zeroed, and never handed out twice.
      return MapAligned((size + kHuge - 1) & ~(kHuge - 1), std::max(alignment, kHuge));
    }
    alignment = std::max<size_t>(alignment, 1);
    std::lock_guard lock(mu_);
    if (count_ > 0) {
      uintptr_t p = (reinterpret_cast<uintptr_t>(bump_) + alignment - 1) & ~(alignment - 1);
      if (p + size <= reinterpret_cast<uintptr_t>(ring_[head_].base + kChunk)) {
        if (new_addr != nullptr && reinterpret_cast<uintptr_t>(new_addr) != p) return nullptr;
        bump_ = reinterpret_cast<char*>(p + size);
        return Handed(size, reinterpret_cast<char*>(p), ring_[head_].base + ring_[head_].populated);
      }
    }
    if (new_addr != nullptr) return nullptr;  // in-place growth only at the bump pointer
    // Another chunk: the next in the ring, or a cold one when the filler has none mapped.
    size_t next = (head_ + 1) % kRing;
    char* fresh = count_ >= 2 ? ring_[next].base : nullptr;
    char* fresh_populated = count_ >= 2 ? fresh + ring_[next].populated : fresh;
    if (fresh == nullptr) {
      fresh = MapAligned(kChunk);
      if (fresh == nullptr) return nullptr;
      ++stats_.chunks_cold;
      fresh_populated = fresh;
    }
    size_t left_current = count_ > 0 ? static_cast<size_t>(ring_[head_].base + kChunk - bump_) : 0;
    if (left_current > kChunk - size) {
      // A large request with much of the current chunk left: serve it from the fresh
      // chunk and keep handing out the current one (the fresh chunk's rest is dropped).
      if (count_ >= 2) {
        ring_[next] = ring_[head_];
        head_ = next;
        --count_;
      }
    } else {
      if (count_ >= 2) {
        head_ = next;
        --count_;
      } else {
        ring_[head_] = Chunk{fresh, 0};
        count_ = 1;
      }
      bump_ = fresh + size;
    }
    return Handed(size, fresh, fresh_populated);
  }

  void Expect(size_t bytes) {
    std::lock_guard lock(mu_);
    budget_ += bytes;
    wake_.notify_one();
  }
  void EndExpect() {
    std::lock_guard lock(mu_);
    budget_ = 0;
  }

  Stats GetStats() {
    std::lock_guard lock(mu_);
    Stats s = stats_;
    s.bytes_ready = AheadLocked();
    return s;
  }

 private:
  struct Chunk {
    char* base = nullptr;
    size_t populated = 0;  // [base, base + populated) is populated (or was handed out)
  };

  Arena() = default;
  bool Create();
  void Fill();

  // Accounts for `size` bytes at p, of a chunk populated up to `populated_end`.
  void* Handed(size_t size, char* p, char* populated_end) {
    stats_.bytes_handed_out += size;
    if (p + size > populated_end) {
      stats_.bytes_handed_cold += static_cast<size_t>(p + size - std::max(p, populated_end));
    }
    budget_ = budget_ > size ? budget_ - size : 0;
    if (budget_ > 0) wake_.notify_one();
    return p;
  }

  // Populated bytes past the bump pointer.
  size_t AheadLocked() const {
    size_t ahead = 0;
    for (size_t i = 0; i < count_; ++i) {
      const Chunk& c = ring_[(head_ + i) % kRing];
      char* from = i == 0 ? std::max(bump_, c.base) : c.base;
      if (c.base + c.populated > from) ahead += static_cast<size_t>(c.base + c.populated - from);
    }
    return ahead;
  }

  unsigned index_ = 0;
  std::mutex mu_;
  std::condition_variable wake_;
  std::array<Chunk, kRing> ring_{};  // a fixed ring: the hook must not allocate
  size_t head_ = 0, count_ = 0;
  char* bump_ = nullptr;  // in ring_[head_]
  // Bytes the bound thread is still expected to take from the arena; the filler keeps
  // min(budget_, kAhead) populated past the bump pointer. Memory jemalloc reuses never
  // reaches the hook, so too high an estimate costs at most kAhead of unused memory.
  uint64_t budget_ = 0;
  bool unsupported_ = false;  // the kernel cannot populate: the filler stays idle
  Stats stats_;
};

// Set before the arena is created: jemalloc may call the hook from arenas.create itself
// (for the arena's metadata), inside Get()'s static initialisation.
Arena* g_arena = nullptr;

void* HookAlloc(ExtentHooks*, void* new_addr, size_t size, size_t alignment, bool* zero,
                bool* commit, unsigned) {
  void* p = g_arena->Alloc(new_addr, size, alignment);
  if (p != nullptr) {
    *zero = true;  // fresh mappings, never handed out twice
    *commit = true;
  }
  return p;
}
// Opt out of giving memory back: jemalloc keeps the extent and reuses it.
bool HookDalloc(ExtentHooks*, void*, size_t, bool, unsigned) { return true; }
void HookDestroy(ExtentHooks*, void*, size_t, bool, unsigned) {}  // the arena lives forever
bool HookCommit(ExtentHooks*, void*, size_t, size_t, size_t, unsigned) { return false; }
// What the state frees goes back to the system as with jemalloc's own hooks: after the
// arena's decay time (10 s), not during a catch-up.
bool HookPurgeForced(ExtentHooks*, void* addr, size_t, size_t offset, size_t length, unsigned) {
  return madvise(static_cast<char*>(addr) + offset, length, MADV_DONTNEED) != 0;
}
bool HookSplit(ExtentHooks*, void*, size_t, size_t, size_t, bool, unsigned) { return false; }
bool HookMerge(ExtentHooks*, void*, size_t, void*, size_t, bool, unsigned) { return false; }

ExtentHooks kHooks = {HookAlloc,  HookDalloc,      HookDestroy, HookCommit,
                      nullptr,    // no decommit: memory stays committed
                      nullptr,    // no lazy purge (MADV_FREE): freed memory is purged, or kept
                      HookPurgeForced, HookSplit, HookMerge};

bool Arena::Create() {
  ExtentHooks* hooks = &kHooks;
  size_t len = sizeof(index_);
  if (mallctl("arenas.create", &index_, &len, &hooks, sizeof(hooks)) != 0) return false;
  size_t limit = kGrowLimit;
  std::string name = "arena." + std::to_string(index_) + ".retain_grow_limit";
  (void)mallctl(name.c_str(), nullptr, nullptr, &limit, sizeof(limit));
  std::thread([this] {
    pthread_setname_np(pthread_self(), "roster-fill");
    Fill();
  }).detach();  // lives as long as the process
  return true;
}

Arena* Arena::Get() {
  // Intentionally leaked: jemalloc holds the hooks and the memory for the process's life.
  static Arena* arena = [] {
    if (mallctl == nullptr) return static_cast<Arena*>(nullptr);
    const char* env = std::getenv("ROSTER_WARM_ARENA");  // opt-in: warm_arena.h says why
    if (env == nullptr || std::string_view(env) != "on") return static_cast<Arena*>(nullptr);
    auto* a = new Arena();
    g_arena = a;
    if (!a->Create()) return static_cast<Arena*>(nullptr);  // leaked with g_arena: harmless
    return a;
  }();
  return arena;
}

void Arena::Fill() {
  // Spare cycles only: a populate step must never take a core from the applying thread
  // or the thread feeding it. Under SCHED_IDLE the filler runs when a core would idle.
  sched_param idle{};
  (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] {
      size_t ahead = AheadLocked();
      return !unsupported_ && budget_ > ahead && ahead < kAhead;
    });
    // The first chunk with an unpopulated part past the bump pointer.
    Chunk* target = nullptr;
    char* from = nullptr;
    for (size_t i = 0; i < count_ && target == nullptr; ++i) {
      Chunk& c = ring_[(head_ + i) % kRing];
      char* start = c.base + c.populated;
      if (i == 0 && bump_ > start) {  // the bump pointer overtook the filler
        start = c.base + ((static_cast<size_t>(bump_ - c.base) + kHuge - 1) & ~(kHuge - 1));
        c.populated = static_cast<size_t>(start - c.base);
      }
      if (start < c.base + kChunk) {
        target = &c;
        from = start;
      }
    }
    if (target == nullptr) {  // everything mapped is populated: map the next chunk
      if (count_ == kRing) {
        wake_.wait(lock);
        continue;
      }
      lock.unlock();
      char* chunk = MapAligned(kChunk);
      lock.lock();
      if (chunk == nullptr) {
        budget_ = 0;  // out of address space or memory: stop; the hook maps on demand
        continue;
      }
      ring_[(head_ + count_) % kRing] = Chunk{chunk, 0};
      ++count_;
      continue;
    }
    size_t step = std::min(kStep, static_cast<size_t>(target->base + kChunk - from));
    char* base = target->base;
    lock.unlock();
    bool populated = Populate(from, step);
    lock.lock();
    if (!populated) {  // an old kernel: the arena still works, without the head start
      budget_ = 0;
      unsupported_ = true;
      continue;
    }
    // The chunk may have left the ring meanwhile (handed out past it): find it again.
    for (size_t i = 0; i < count_; ++i) {
      Chunk& c = ring_[(head_ + i) % kRing];
      if (c.base == base && c.base + c.populated == from) c.populated += step;
    }
    stats_.bytes_populated += step;
  }
}

}  // namespace

bool Available() { return Arena::Get() != nullptr; }

ScopedBinding::ScopedBinding(size_t expected_bytes) {
  if (expected_bytes < kChunk) return;  // small catch-ups: not worth a populated chunk
  Arena* arena = Arena::Get();
  if (arena == nullptr) return;
  unsigned index = arena->index();
  size_t len = sizeof(previous_);
  // The thread cache holds blocks of the arena left; flushed, the next ones come from the
  // arena bound (and the other way round at the end).
  (void)mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
  if (mallctl("thread.arena", &previous_, &len, &index, sizeof(index)) != 0) return;
  active_ = true;
  arena->Expect(expected_bytes);
}

ScopedBinding::~ScopedBinding() {
  if (!active_) return;
  Arena::Get()->EndExpect();
  (void)mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
  (void)mallctl("thread.arena", nullptr, nullptr, &previous_, sizeof(previous_));
}

Stats GetStats() {
  Arena* arena = Arena::Get();
  return arena == nullptr ? Stats{} : arena->GetStats();
}

}  // namespace roster::projections::warm_arena
