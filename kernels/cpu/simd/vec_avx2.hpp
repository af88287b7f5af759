// 8-lane fp32 vector primitives for the translation units compiled with AVX2+FMA+F16C flags.
//
// Same vocabulary as vec_avx512.hpp (see there for why each ISA has its own namespace).
#pragma once

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "vec_avx2.hpp needs -mavx2 -mfma -mf16c (set per file in kernels/CMakeLists.txt)"
#endif

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace rwkv::kernels::cpu::avx2 {

using vf = __m256;
using vi = __m256i;
using vmask = __m256;
inline constexpr int W = 8;

inline __m256i tail_mask_i(int n) {  // n in [0, 8]: lanes < n all ones
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline vf vzero() { return _mm256_setzero_ps(); }
inline vf vset1(float a) { return _mm256_set1_ps(a); }
inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm256_storeu_ps(p, v); }
inline vf vload_n(const float* p, int n) { return _mm256_maskload_ps(p, tail_mask_i(n)); }
inline void vstore_n(float* p, vf v, int n) { _mm256_maskstore_ps(p, tail_mask_i(n), v); }

inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
inline vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
inline vf vfmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
inline vf vfnmadd(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
inline vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
inline vf vsqrt(vf a) { return _mm256_sqrt_ps(a); }
inline vf vabs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline vf vneg(vf a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
inline float vhsum(vf v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float vhmax(vf v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline vmask vlt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline vmask vgt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline vf vselect(vmask m, vf if_true, vf if_false) { return _mm256_blendv_ps(if_false, if_true, m); }

inline vi vcvt_round(vf a) { return _mm256_cvtps_epi32(a); }
inline vf vcvt(vi a) { return _mm256_cvtepi32_ps(a); }
inline vf vround(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline vi vadd_i(vi a, vi b) { return _mm256_add_epi32(a, b); }
inline vi vsub_i(vi a, vi b) { return _mm256_sub_epi32(a, b); }
inline vi vset1_i(std::int32_t a) { return _mm256_set1_epi32(a); }
inline vi vand_i(vi a, vi b) { return _mm256_and_si256(a, b); }
inline vi vor_i(vi a, vi b) { return _mm256_or_si256(a, b); }
template <int n>
vi vslli(vi a) { return _mm256_slli_epi32(a, n); }
template <int n>
vi vsrli(vi a) { return _mm256_srli_epi32(a, n); }
inline vf vcast_f(vi a) { return _mm256_castsi256_ps(a); }
inline vi vcast_i(vf a) { return _mm256_castps_si256(a); }

inline vf vload_bf16(const std::uint16_t* p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline vf vload_bf16_n(const std::uint16_t* p, int n) {
  alignas(16) std::uint16_t tmp[8] = {};
  std::memcpy(tmp, p, static_cast<std::size_t>(n) * 2);
  return vload_bf16(tmp);
}
inline vf vload_f16(const std::uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline vf vload_f16_n(const std::uint16_t* p, int n) {
  alignas(16) std::uint16_t tmp[8] = {};
  std::memcpy(tmp, p, static_cast<std::size_t>(n) * 2);
  return vload_f16(tmp);
}
// As in vec_avx512.hpp: rounded to fp16 and back where fp16 holds the value.
inline vf vround_f16(vf x) {
  const vf r = _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const vf abs_r = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), r);
  return _mm256_blendv_ps(x, r, _mm256_cmp_ps(abs_r, _mm256_set1_ps(65504.0f), _CMP_LE_OQ));
}

// In-register transpose: afterwards r[j] lane i = old r[i] lane j.
inline void transpose(vf (&r)[8]) {
  vf t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    auto a = _mm256_castps_pd(t[4 * i]), b = _mm256_castps_pd(t[4 * i + 1]);
    auto c = _mm256_castps_pd(t[4 * i + 2]), d = _mm256_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, c));
    u[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, c));
    u[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(b, d));
    u[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(b, d));
  }
  // u[4i + c], 128-bit lane L: rows 4i..4i+3 of column 4L + c.
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}

inline vf reduce_rows(const vf (&v)[8]) {
  vf s[4];
  for (int i = 0; i < 4; ++i)
    s[i] = _mm256_add_ps(_mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  vf q[2];
  for (int i = 0; i < 2; ++i) {
    auto a = _mm256_castps_pd(s[2 * i]), b = _mm256_castps_pd(s[2 * i + 1]);
    q[i] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a, b)), _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)));
  }
  return _mm256_add_ps(_mm256_permute2f128_ps(q[0], q[1], 0x20), _mm256_permute2f128_ps(q[0], q[1], 0x31));
}

inline __m128 hsum4(vf a, vf b, vf c, vf d) {
  vf ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
  vf cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
  auto x = _mm256_castps_pd(ab), y = _mm256_castps_pd(cd);
  vf q = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(x, y)), _mm256_castpd_ps(_mm256_unpackhi_pd(x, y)));
  return _mm_add_ps(_mm256_castps256_ps128(q), _mm256_extractf128_ps(q, 1));
}

}  // namespace rwkv::kernels::cpu::avx2
