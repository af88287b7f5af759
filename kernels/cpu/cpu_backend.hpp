// The production CPU backend: oneTBB parallelism over the reference semantics.
//
// Owns the one tbb::task_arena the engine computes in (its size is the configured thread count).
// Operations it does not override run the scalar reference code on the calling thread.
#pragma once

#include "reference_backend.hpp"

#include <oneapi/tbb/task_arena.h>

namespace rwkv::kernels::cpu {

class cpu_backend : public reference_backend {
 public:
  explicit cpu_backend(int threads);

  backend_info info() const override;

  void matmul(const weight& w, const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t T,
              activation act, bool accumulate) override;
  void wkv5(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* k, const float* v,
            const float* w, bool w_per_token, const float* u, float* state, float* y) override;
  void wkv7(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* w, const float* k,
            const float* v, const float* a, const float* b, float* state, float* y) override;

 private:
  int threads_;
  tbb::task_arena arena_;
};

}  // namespace rwkv::kernels::cpu
