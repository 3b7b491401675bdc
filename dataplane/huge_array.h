// Large per-tunnel arrays (counters, shared state, the entry pointers) backed by
// transparent huge pages: with a million tunnels they span hundreds of megabytes, and
// a worker touching a few hundred hot tunnels spread over them would otherwise need a
// TLB entry per 4 KiB page. The advice is given before the first touch, so the kernel
// can fault in 2 MiB pages (THP "madvise" mode, the Debian default); without THP it
// is a no-op.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace tundra {

inline constexpr size_t kHugePageSize = 2u << 20;

template <typename T>
struct HugeArrayDeleter {
  size_t n = 0;
  void operator()(T* p) const {
    std::destroy_n(p, n);
    std::free(p);
  }
};

template <typename T>
using HugeArray = std::unique_ptr<T[], HugeArrayDeleter<T>>;

// n value-initialised elements; throws std::bad_alloc like make_unique.
template <typename T>
HugeArray<T> MakeHugeArray(size_t n) {
  static_assert(alignof(T) <= kHugePageSize);
  const size_t bytes = (n * sizeof(T) + kHugePageSize - 1) / kHugePageSize * kHugePageSize;
  void* p = std::aligned_alloc(kHugePageSize, bytes);
  if (p == nullptr) throw std::bad_alloc();
  (void)madvise(p, bytes, MADV_HUGEPAGE);
  T* a = static_cast<T*>(p);
  std::uninitialized_value_construct_n(a, n);
  return HugeArray<T>(a, HugeArrayDeleter<T>{n});
}

}  // namespace tundra
