// Memory for a catch-up's applying thread, populated ahead of use by a background thread.
//
// A catch-up builds hundreds of MiB of projection state in seconds, and every new page it
// touches costs a fault. On this project's VMs that was the largest single cost of a
// rebuild in a fresh process: ~12 us per 4 KiB fault, ~3 ms per 2 MiB huge page the host
// has reclaimed — 0.4-0.9 s of a 1M-event rebuild, all on the applying thread, while the
// other core idled (docs/BENCHMARKS.md, "Projections").
//
// The warm arena moves that cost off the critical path. During a long catch-up the
// applying thread allocates from a dedicated jemalloc arena whose extents come from 64 MiB
// huge-page-advised chunks; a filler thread (SCHED_IDLE: spare cycles only) populates them
// with MADV_POPULATE_WRITE up to kAhead bytes past what has been handed out. The hook never
// waits for the filler: memory it hands out before the filler got there is faulted in by
// its user, as without the arena. BigAllocator's blocks (>= 4 MiB) stay outside it, mapped
// on their own as before (serving them from it, as jemalloc large extents, bought nothing
// measurable and was one more suspect for the slow first checks described below).
//
// Only when the process allocates with jemalloc (rosterd and the benches link it; the
// sanitizer builds and the unit tests do not): mallctl is looked up as a weak symbol, and
// without it every call here is a no-op.
//
// Opt-in: ROSTER_WARM_ARENA=on in the environment. On this VM it takes a fresh-process
// 1M-event rebuild from 400-475k to 496-561k events/s, but the live checks right after
// such a rebuild are slow more often than with the default: the bench's overall check p99
// went over its 5 us target in 3 of 6 runs with it and 0 of 5 without (2026-11-24). What is
// known (docs/BENCHMARKS.md, Projections, "fifth pass"): the slow checks take no guest page
// fault; the first read of each 4 KiB page of the state after a munmap or
// madvise(MADV_DONTNEED) anywhere in the process is what is slow (a one-byte-per-page read
// pass removes it, a later 8 MiB munmap brings it back), with or without the arena; the
// arena's runs have more of those moments. The default stays off until that is under
// control. What the state frees is purged after jemalloc's decay time as usual; chunks are
// never unmapped, and an estimate that is too high leaves at most kAhead populated unused.
#pragma once

#include <cstddef>
#include <cstdint>

namespace roster::projections::warm_arena {

// True when the process allocates with jemalloc and the warm arena exists (created on
// the first call). Constant for the life of the process.
bool Available();

// While alive, the calling thread's malloc/new allocate from the warm arena, and the
// filler populates about `expected_bytes` (an estimate of what the thread is about to
// allocate) at most kAhead bytes ahead of use. The destructor restores the thread's
// previous arena; what was allocated stays valid (jemalloc frees to the owning arena).
// Does nothing when !Available() or when `expected_bytes` is below one chunk (64 MiB).
class ScopedBinding {
 public:
  explicit ScopedBinding(size_t expected_bytes);
  ~ScopedBinding();
  ScopedBinding(const ScopedBinding&) = delete;
  ScopedBinding& operator=(const ScopedBinding&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
  unsigned previous_ = 0;
};

struct Stats {
  uint64_t bytes_populated = 0;   // by the filler, ahead of use
  uint64_t chunks_cold = 0;       // mapped on demand: the filler was behind, or too large
  uint64_t bytes_handed_out = 0;  // to jemalloc, from the chunks
  uint64_t bytes_handed_cold = 0; // of which not populated yet when handed out
  uint64_t bytes_ready = 0;       // populated past the bump pointer, not handed out yet
};
Stats GetStats();

}  // namespace roster::projections::warm_arena
