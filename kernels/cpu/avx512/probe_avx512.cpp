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

// Runs `iters` rounds of 24 independent instructions; returns the operations done (flops for
// fp32/bf16, integer ops for int8) and adds to *sink so the compiler keeps the loop. 24 chains
// cover a latency of up to 12 cycles at two instructions per cycle, as the kernels' tiles do.
// The 24 chains, written out: with an array GCC interchanges the loops and keeps the accumulators
// in memory, which measures store-forwarding latency instead of the instruction.
#define RWKV_REPEAT24(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

template <dot_instruction D>
__attribute__((noinline)) std::uint64_t chains(std::int64_t iters, float* sink) {
#define RWKV_DECL(i) __m512 f##i = _mm512_set1_ps(1e-3f * i); __m512i q##i = _mm512_set1_epi32(i);
  RWKV_REPEAT24(RWKV_DECL)
#undef RWKV_DECL
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-6f);
  const auto pa = (__m512bh)_mm512_set1_epi32(0x3f803f80), pb = (__m512bh)_mm512_set1_epi32(0x35863586);
  const __m512i ua = _mm512_set1_epi8(3), sb = _mm512_set1_epi8(-2);
  // Inline assembly: exactly one instruction per chain and step. With intrinsics GCC 12 kept
  // copies of the vpdpbusd chains on the stack inside the loop and halved what it measured.
  for (std::int64_t i = 0; i < iters; ++i) {
    if constexpr (D == dot_instruction::fma_f32) {
#define RWKV_STEP(i) asm volatile("vfmadd213ps %[c], %[a], %[x]" : [x] "+v"(f##i) : [a] "v"(a), [c] "v"(b));
      RWKV_REPEAT24(RWKV_STEP)
#undef RWKV_STEP
    } else if constexpr (D == dot_instruction::bf16_dot) {
#define RWKV_STEP(i) asm volatile("vdpbf16ps %[c], %[a], %[x]" : [x] "+v"(f##i) : [a] "v"(pa), [c] "v"(pb));
      RWKV_REPEAT24(RWKV_STEP)
#undef RWKV_STEP
    } else {
#define RWKV_STEP(i) asm volatile("vpdpbusd %[c], %[a], %[x]" : [x] "+v"(q##i) : [a] "v"(ua), [c] "v"(sb));
      RWKV_REPEAT24(RWKV_STEP)
#undef RWKV_STEP
    }
  }
  // Only the chains this instruction used stay live (24 of them, not 48: no spills in the loop).
  __m512 s = _mm512_setzero_ps();
  if constexpr (D == dot_instruction::int8_dot) {
#define RWKV_SUM(i) s = _mm512_add_ps(s, _mm512_cvtepi32_ps(q##i));
    RWKV_REPEAT24(RWKV_SUM)
#undef RWKV_SUM
  } else {
#define RWKV_SUM(i) s = _mm512_add_ps(s, f##i);
    RWKV_REPEAT24(RWKV_SUM)
#undef RWKV_SUM
  }
  *sink += _mm512_reduce_add_ps(s);
  const std::uint64_t per = D == dot_instruction::fma_f32 ? 32 : D == dot_instruction::bf16_dot ? 64 : 128;
  return static_cast<std::uint64_t>(iters) * 24 * per;
}
#undef RWKV_REPEAT24

std::uint64_t dot_loop(dot_instruction d, std::int64_t iters, float* sink) {
  switch (d) {
    case dot_instruction::fma_f32: return chains<dot_instruction::fma_f32>(iters, sink);
    case dot_instruction::bf16_dot: return chains<dot_instruction::bf16_dot>(iters, sink);
    case dot_instruction::int8_dot: return chains<dot_instruction::int8_dot>(iters, sink);
  }
  return 0;
}

}  // namespace rwkv::kernels::cpu::avx512
