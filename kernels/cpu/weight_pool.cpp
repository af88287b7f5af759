#include "weight_pool.hpp"

namespace rwkv::kernels::cpu {

weight_pool::block weight_pool::allocate(std::size_t n) {
  const std::size_t need = (n + 63) / 64 * 64;
  std::lock_guard lock(mutex_);
  if (!slab_ || used_ + need + 64 > slab_->size()) {
    // A matrix larger than a slab gets a slab of its own; the rest of the old slab stays unused
    // (untouched, so not resident).
    auto slab = std::make_shared<aligned_bytes>();
    slab->reserve(std::max(slab_bytes, need + 64), /*zero=*/false);
    if (need + 64 > slab_bytes) return {slab->data(), slab};
    slab_ = std::move(slab);
    used_ = 0;
  }
  block b{slab_->data() + used_, slab_};
  used_ += need;
  return b;
}

}  // namespace rwkv::kernels::cpu
