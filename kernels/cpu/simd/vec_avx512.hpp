// 16-lane fp32 vector primitives for the translation units compiled with AVX-512 flags.
//
// The generic kernels (simd/*.inc, simd/vec_math.hpp) are written once against this small
// vocabulary and compiled per ISA. Everything lives in namespace cpu::avx512 so that inline
// functions compiled with AVX-512 instructions can never be picked by the linker for a TU built
// for a smaller ISA (the one-definition-rule trap of multi-ISA builds).
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512DQ__)
#error "vec_avx512.hpp needs -mavx512f -mavx512bw -mavx512vl -mavx512dq (set per file in kernels/CMakeLists.txt)"
#endif

#include <immintrin.h>

#include <cstdint>

namespace rwkv::kernels::cpu::avx512 {

using vf = __m512;
using vi = __m512i;
using vmask = __mmask16;
inline constexpr int W = 16;

inline vmask tail_mask(int n) { return static_cast<vmask>((1u << n) - 1u); }  // n in [0, 16]

inline vf vzero() { return _mm512_setzero_ps(); }
inline vf vset1(float a) { return _mm512_set1_ps(a); }
inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm512_storeu_ps(p, v); }
inline vf vload_n(const float* p, int n) { return _mm512_maskz_loadu_ps(tail_mask(n), p); }
inline void vstore_n(float* p, vf v, int n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }

inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
inline vf vfmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }    // a*b + c
inline vf vfnmadd(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a*b
inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
inline vf vsqrt(vf a) { return _mm512_sqrt_ps(a); }
inline vf vabs(vf a) { return _mm512_abs_ps(a); }
inline vf vneg(vf a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
inline float vhsum(vf v) { return _mm512_reduce_add_ps(v); }
inline float vhmax(vf v) { return _mm512_reduce_max_ps(v); }

inline vmask vlt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline vmask vgt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
inline vf vselect(vmask m, vf if_true, vf if_false) { return _mm512_mask_blend_ps(m, if_false, if_true); }

inline vi vcvt_round(vf a) { return _mm512_cvtps_epi32(a); }  // round to nearest even
inline vf vcvt(vi a) { return _mm512_cvtepi32_ps(a); }
inline vf vround(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline vi vadd_i(vi a, vi b) { return _mm512_add_epi32(a, b); }
inline vi vsub_i(vi a, vi b) { return _mm512_sub_epi32(a, b); }
inline vi vset1_i(std::int32_t a) { return _mm512_set1_epi32(a); }
inline vi vand_i(vi a, vi b) { return _mm512_and_si512(a, b); }
inline vi vor_i(vi a, vi b) { return _mm512_or_si512(a, b); }
template <int n>
vi vslli(vi a) { return _mm512_slli_epi32(a, n); }
template <int n>
vi vsrli(vi a) { return _mm512_srli_epi32(a, n); }
inline vf vcast_f(vi a) { return _mm512_castsi512_ps(a); }
inline vi vcast_i(vf a) { return _mm512_castps_si512(a); }

// Weight element loads widened to fp32 (bf16 is the top half of an fp32; fp16 via F16C).
inline vf vload_bf16(const std::uint16_t* p) {
  __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline vf vload_bf16_n(const std::uint16_t* p, int n) {
  __m256i h = _mm256_maskz_loadu_epi16(tail_mask(n), p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline vf vload_f16(const std::uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline vf vload_f16_n(const std::uint16_t* p, int n) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail_mask(n), p)); }
// x rounded to the nearest fp16 (ties to even) and widened back, as ggml rounds the activations
// of fp16 weights; values fp16 cannot hold (|x| > 65504 after rounding, NaN) stay as they are.
inline vf vround_f16(vf x) {
  const vf r = _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_abs_ps(r), _mm512_set1_ps(65504.0f), _CMP_LE_OQ), x, r);
}

// In-register transpose: afterwards r[j] lane i = old r[i] lane j.
inline void transpose(vf (&r)[16]) {
  vf t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + c], 128-bit lane L: rows 4i..4i+3 of column 4L + c.
  vf u[16];
  for (int i = 0; i < 4; ++i) {
    auto a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    auto c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int c = 0; c < 4; ++c) {
    vf a0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), a1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
    vf b0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), b1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(a0, b0, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(a0, b0, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(a1, b1, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(a1, b1, 0xDD);
  }
}

// Horizontal reductions of 16 vectors at once: lane i of the result = op over the lanes of v[i]
// (45 shuffles/ops instead of 16 separate reductions). `op` combines two vectors lane by lane
// (it may reinterpret the bits, e.g. as int32).
template <class Op>
inline vf reduce_rows(const vf (&v)[16], Op op) {
  vf s[8];
  for (int i = 0; i < 8; ++i) s[i] = op(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  vf q[4];
  for (int i = 0; i < 4; ++i) {
    auto a = _mm512_castps_pd(s[2 * i]), b = _mm512_castps_pd(s[2 * i + 1]);
    q[i] = op(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  vf u0 = op(_mm512_shuffle_f32x4(q[0], q[1], 0x88), _mm512_shuffle_f32x4(q[0], q[1], 0xDD));
  vf u1 = op(_mm512_shuffle_f32x4(q[2], q[3], 0x88), _mm512_shuffle_f32x4(q[2], q[3], 0xDD));
  return op(_mm512_shuffle_f32x4(u0, u1, 0x88), _mm512_shuffle_f32x4(u0, u1, 0xDD));
}

// Horizontal sums of 16 vectors at once: lane i of the result = sum of v[i].
inline vf reduce_rows(const vf (&v)[16]) { return reduce_rows(v, [](vf a, vf b) { return _mm512_add_ps(a, b); }); }

// Sums of four vectors as [sum a, sum b, sum c, sum d].
inline __m128 hsum4(vf a, vf b, vf c, vf d) {
  vf ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
  vf cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  auto x = _mm512_castps_pd(ab), y = _mm512_castps_pd(cd);
  vf q = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(q), _mm512_extractf32x8_ps(q, 1));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

}  // namespace rwkv::kernels::cpu::avx512
