// An allocator for the projections' big arrays (interner tables, per-position arrays,
// note arenas): blocks of at least kBigBytes are mapped directly, 2 MiB aligned, and
// advised for transparent huge pages (MADV_HUGEPAGE; the system's THP mode must be
// "madvise" or "always" for it to matter). A catch-up touches hundreds of MiB of fresh
// memory; on a VM each 4 KiB first-touch fault is expensive (the rebuild profile showed
// 10-13% of the applying thread in page-fault handling), and a huge page takes one fault
// for 512 of them. Smaller blocks use operator new as usual. Stateless: any two compare
// equal, so containers using it move and swap like with std::allocator.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace roster::projections {

inline constexpr size_t kBigBytes = size_t{4} << 20;
inline constexpr size_t kHugePage = size_t{2} << 20;

// Maps `bytes` (rounded up to kHugePage) at an `align`-aligned address (a power of two, at
// least kHugePage), advised for huge pages; nullptr on failure. Also the warm arena's chunks.
inline void* MapBig(size_t bytes, size_t align = kHugePage) {
  size_t size = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  void* raw = mmap(nullptr, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + align - 1) & ~(align - 1);
  // Give back the unaligned head and the tail beyond `size`.
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = start + size + align;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advisory: errors ignored
  return reinterpret_cast<void*>(aligned);
}

// Advises the whole 2 MiB pages inside [p, p + bytes) for transparent huge pages (errors
// ignored): for a large buffer written once, e.g. a snapshot's, one fault per 2 MiB instead
// of 512.
inline void AdviseHugePages(void* p, size_t bytes) {
  auto start = reinterpret_cast<uintptr_t>(p);
  uintptr_t first = (start + kHugePage - 1) & ~(kHugePage - 1);
  uintptr_t last = (start + bytes) & ~(kHugePage - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

inline void UnmapBig(void* p, size_t bytes) {
  munmap(p, (bytes + kHugePage - 1) & ~(kHugePage - 1));
}

// Bytes of BigAllocator blocks mapped now (the state's big arrays; for memory reports).
inline std::atomic<size_t> big_mapped_bytes{0};

template <class T>
struct BigAllocator {
  using value_type = T;
  BigAllocator() noexcept = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    size_t bytes = n * sizeof(T);
    if (bytes < kBigBytes) return static_cast<T*>(::operator new(bytes, std::align_val_t{alignof(T)}));
    void* p = MapBig(bytes);
    if (p == nullptr) throw std::bad_alloc();
    big_mapped_bytes.fetch_add(bytes, std::memory_order_relaxed);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) noexcept {
    size_t bytes = n * sizeof(T);
    if (bytes < kBigBytes) {
      ::operator delete(p, std::align_val_t{alignof(T)});
    } else {
      UnmapBig(p, bytes);
      big_mapped_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    }
  }
  template <class U>
  friend bool operator==(const BigAllocator&, const BigAllocator<U>&) noexcept {
    return true;
  }
};

template <class T>
using BigVector = std::vector<T, BigAllocator<T>>;

}  // namespace roster::projections
