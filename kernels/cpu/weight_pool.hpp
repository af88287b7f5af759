// Memory for the weights the CPU backend owns (conversions, and copies of memory-mapped matrices),
// carved out of large slabs in 2 MiB pages.
//
// Generation streams every weight once per token; through 4 KiB pages that costs a TLB miss per
// page, which under a VM's nested paging halved the read bandwidth measured here. A 2 MiB page can
// only back a 2 MiB-aligned range, so matrices of a few hundred KiB (a 0.1B model's 768 x 768
// projections) only get huge pages when they share slabs — hence a pool rather than one
// allocation per matrix. Slabs live as long as any weight placed in them.
//
// Thread-safe: prepare may fill several weights at once.
#pragma once

#include "cpu_weight.hpp"

#include <memory>
#include <mutex>

namespace rwkv::kernels::cpu {

class weight_pool {
 public:
  struct block {
    std::uint8_t* data = nullptr;   // 64-byte aligned, followed by at least 64 readable bytes
    std::shared_ptr<void> keep;     // keeps the slab alive
  };
  // n bytes (contents undefined). Throws std::bad_alloc.
  block allocate(std::size_t n);

 private:
  static constexpr std::size_t slab_bytes = std::size_t{32} << 20;
  std::mutex mutex_;
  std::shared_ptr<aligned_bytes> slab_;
  std::size_t used_ = 0;
};

}  // namespace rwkv::kernels::cpu
