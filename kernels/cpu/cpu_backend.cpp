#include "cpu_backend.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace rwkv::kernels::cpu {

cpu_backend::cpu_backend(int threads)
    : threads_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
      arena_(threads_) {}

backend_info cpu_backend::info() const { return {"cpu", "scalar", threads_}; }

void cpu_backend::matmul(const weight& w, const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t T,
                         activation act, bool accumulate) {
  const matrix& m = static_cast<const borrowed_weight&>(w).source();
  const std::int64_t row_bytes = dtype_row_bytes(m.type, m.cols);
  const auto* base = static_cast<const std::uint8_t*>(m.data);
  // Rows are independent: split them across the arena; each task dequantizes a row once and
  // reuses it for all T tokens.
  arena_.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, m.rows, 16), [&](const tbb::blocked_range<std::int64_t>& rg) {
      std::vector<float> row(static_cast<std::size_t>(m.cols));
      for (std::int64_t r = rg.begin(); r < rg.end(); ++r) {
        const float* wr;
        if (m.type == dtype::f32) {
          wr = reinterpret_cast<const float*>(base + r * row_bytes);
        } else {
          dequantize_row(m.type, base + r * row_bytes, row.data(), m.cols);
          wr = row.data();
        }
        for (std::int64_t t = 0; t < T; ++t) {
          const float* xt = x + t * ldx;
          float acc = 0;
          for (std::int64_t c = 0; c < m.cols; ++c) acc += wr[c] * xt[c];
          float v = apply_activation(act, acc);
          float& out = y[t * ldy + r];
          out = accumulate ? out + v : v;
        }
      }
    });
  });
}

void cpu_backend::wkv5(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* k, const float* v,
                       const float* w, bool w_per_token, const float* u, float* state, float* y) {
  // Heads are independent recurrences: one task per head walks all T tokens.
  const std::int64_t C = H * N;
  arena_.execute([&] {
    tbb::parallel_for(std::int64_t{0}, H, [&](std::int64_t h) {
      float* S = state + h * N * N;
      for (std::int64_t t = 0; t < T; ++t) {
        const float* wt = (w_per_token ? w + t * C : w) + h * N;
        const std::int64_t o = t * C + h * N;
        float* yt = y + o;
        for (std::int64_t j = 0; j < N; ++j) yt[j] = 0;
        for (std::int64_t i = 0; i < N; ++i) {
          const float ki = k[o + i], ri = r[o + i], ui = u[h * N + i], wi = wt[i];
          float* Si = S + i * N;
          const float* vt = v + o;
          for (std::int64_t j = 0; j < N; ++j) {
            float kv = ki * vt[j];
            yt[j] += ri * (ui * kv + Si[j]);
            Si[j] = kv + wi * Si[j];
          }
        }
      }
    });
  });
}

void cpu_backend::wkv7(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* w, const float* k,
                       const float* v, const float* a, const float* b, float* state, float* y) {
  const std::int64_t C = H * N;
  arena_.execute([&] {
    tbb::parallel_for(std::int64_t{0}, H, [&](std::int64_t h) {
      float* S = state + h * N * N;
      for (std::int64_t t = 0; t < T; ++t) {
        const std::int64_t o = t * C + h * N;
        const float *wt = w + o, *kt = k + o, *at = a + o, *bt = b + o, *rt = r + o;
        for (std::int64_t i = 0; i < N; ++i) {
          float* Si = S + i * N;
          float sa = 0;
          for (std::int64_t j = 0; j < N; ++j) sa += Si[j] * at[j];
          const float vi = v[o + i];
          float acc = 0;
          for (std::int64_t j = 0; j < N; ++j) {
            Si[j] = Si[j] * wt[j] + sa * bt[j] + vi * kt[j];
            acc += Si[j] * rt[j];
          }
          y[o + i] = acc;
        }
      }
    });
  });
}

}  // namespace rwkv::kernels::cpu
