// The AVX-512 loops behind machine_probe.cpp: a streaming read and one loop per dot instruction.
#include "cpu_features.hpp"
#include "kernels/machine_probe.hpp"

#include <immintrin.h>

#include <cstdint>

namespace rwkv::kernels::cpu::avx512 {

// Sums n floats (n a multiple of 128) with eight independent accumulators so the loads, not the
// adds, are the limit.
float read_stream(const float* p, std::size_t n) {
  __m512 a[8];
  for (auto& v : a) v = _mm512_setzero_ps();
  for (std::size_t i = 0; i < n; i += 128)
    for (int j = 0; j < 8; ++j) a[j] = _mm512_add_ps(a[j], _mm512_load_ps(p + i + 16 * j));
  for (int j = 1; j < 8; ++j) a[0] = _mm512_add_ps(a[0], a[j]);
  return _mm512_reduce_add_ps(a[0]);
}

// Runs `iters` rounds of 12 independent instructions; returns the operations done (flops for
// fp32/bf16, integer ops for int8) and a value that keeps the compiler from dropping the loop.
std::uint64_t dot_loop(dot_instruction d, std::int64_t iters, float* sink) {
  constexpr int n = 12;  // enough independent chains to cover latency on two pipes
  __m512 f[n];
  __m512i q[n];
  for (int j = 0; j < n; ++j) {
    f[j] = _mm512_set1_ps(1e-3f * static_cast<float>(j));
    q[j] = _mm512_set1_epi32(j);
  }
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-6f);
  const __m512i ua = _mm512_set1_epi8(3), sb = _mm512_set1_epi8(-2);
  std::uint64_t per = 0;
  switch (d) {
    case dot_instruction::fma_f32:
      for (std::int64_t i = 0; i < iters; ++i)
        for (int j = 0; j < n; ++j) f[j] = _mm512_fmadd_ps(f[j], a, b);
      per = 32;
      break;
    case dot_instruction::bf16_dot: {
      const auto pa = (__m512bh)_mm512_set1_epi32(0x3f803f80), pb = (__m512bh)_mm512_set1_epi32(0x35863586);
      for (std::int64_t i = 0; i < iters; ++i)
        for (int j = 0; j < n; ++j) f[j] = _mm512_dpbf16_ps(f[j], pa, pb);
      per = 64;
      break;
    }
    case dot_instruction::int8_dot:
      for (std::int64_t i = 0; i < iters; ++i)
        for (int j = 0; j < n; ++j) q[j] = _mm512_dpbusd_epi32(q[j], ua, sb);
      per = 128;
      break;
  }
  __m512 s = _mm512_setzero_ps();
  for (int j = 0; j < n; ++j) s = _mm512_add_ps(s, _mm512_add_ps(f[j], _mm512_cvtepi32_ps(q[j])));
  *sink += _mm512_reduce_add_ps(s);
  return static_cast<std::uint64_t>(iters) * n * per;
}

}  // namespace rwkv::kernels::cpu::avx512
