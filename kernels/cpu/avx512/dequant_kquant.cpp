// GGUF K-quant rows (Q4_K, Q5_K, Q6_K) decoded to fp32 with AVX-512, for the fp32 products that
// serve these formats in both precisions. Each value is computed with the same operations as the
// scalar reference (kernels/cpu/dtype.cpp): the sub-block's scale and minimum in scalar fp32, then
// one multiply (and one subtract) per value, so the decoded rows are bit-identical to it.
#include "avx512/dot_kernels.hpp"

#include "kernels/quant.hpp"

#include <immintrin.h>

namespace rwkv::kernels::cpu::avx512 {

namespace {

// The j-th six-bit scale and minimum of a Q4_K/Q5_K superblock (ggml's packing).
inline void scale_min(int j, const std::uint8_t* q, float& sc, float& m) {
  if (j < 4) {
    sc = static_cast<float>(q[j] & 63);
    m = static_cast<float>(q[j + 4] & 63);
  } else {
    sc = static_cast<float>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = static_cast<float>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// 16 unsigned / signed bytes as fp32.
inline __m512 u8_to_ps(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v)); }
inline __m512 i8_to_ps(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }

// y[0..31] = d * q - m for 32 quants (bytes).
inline void store_dq_minus_m(__m256i q, float d, float m, float* y) {
  const __m512 vd = _mm512_set1_ps(d), vm = _mm512_set1_ps(m);
  _mm512_storeu_ps(y, _mm512_sub_ps(_mm512_mul_ps(vd, u8_to_ps(_mm256_castsi256_si128(q))), vm));
  _mm512_storeu_ps(y + 16, _mm512_sub_ps(_mm512_mul_ps(vd, u8_to_ps(_mm256_extracti128_si256(q, 1))), vm));
}

void decode_q4_k(const block_q4_k* b, float* y, std::int64_t nb) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int j = 0; j < 4; ++j) {  // 64 values: low nibbles, then high nibbles of 32 bytes
      float sc1, m1, sc2, m2;
      scale_min(2 * j, b[i].scales, sc1, m1);
      scale_min(2 * j + 1, b[i].scales, sc2, m2);
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * j));
      store_dq_minus_m(_mm256_and_si256(q, low4), d * sc1, dmin * m1, y);
      store_dq_minus_m(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), d * sc2, dmin * m2, y + 32);
      y += 64;
    }
  }
}

void decode_q5_k(const block_q5_k* b, float* y, std::int64_t nb) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), sixteen = _mm256_set1_epi8(16);
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qh));
    for (int j = 0; j < 4; ++j) {  // the fifth bits of sub-blocks 2j and 2j+1 are bits 2j and 2j+1
      float sc1, m1, sc2, m2;
      scale_min(2 * j, b[i].scales, sc1, m1);
      scale_min(2 * j + 1, b[i].scales, sc2, m2);
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * j));
      __m256i lo = _mm256_and_si256(q, low4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      lo = _mm256_mask_add_epi8(lo, _mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(1 << (2 * j)))), lo,
                                sixteen);
      hi = _mm256_mask_add_epi8(hi, _mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(2 << (2 * j)))), hi,
                                sixteen);
      store_dq_minus_m(lo, d * sc1, dmin * m1, y);
      store_dq_minus_m(hi, d * sc2, dmin * m2, y + 32);
      y += 64;
    }
  }
}

// y[0..31] = (d * sc[0 or 1]) * q for 32 signed quants: the first 16 take sc0, the next 16 sc1.
inline void store_q6(__m256i q, float s0, float s1, float* y) {
  _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_set1_ps(s0), i8_to_ps(_mm256_castsi256_si128(q))));
  _mm512_storeu_ps(y + 16, _mm512_mul_ps(_mm512_set1_ps(s1), i8_to_ps(_mm256_extracti128_si256(q, 1))));
}

void decode_q6_k(const block_q6_k* b, float* y, std::int64_t nb) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3), bias = _mm256_set1_epi8(32);
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    const std::uint8_t* ql = b[i].ql;
    const std::uint8_t* qh = b[i].qh;
    const std::int8_t* sc = b[i].scales;
    for (int n = 0; n < 2; ++n) {  // 128 values: four runs of 32, each from nibbles and 2 high bits
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
      auto high = [&](int shift) {  // ((h >> shift) & 3) << 4, per byte
        return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, shift), three), 4);
      };
      const __m256i q1 = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(a, low4), high(0)), bias);
      const __m256i q2 = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(c, low4), high(2)), bias);
      const __m256i q3 = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), high(4)), bias);
      const __m256i q4 = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), low4), high(6)), bias);
      auto s = [&](int k) { return d * static_cast<float>(sc[k]); };
      store_q6(q1, s(0), s(1), y);
      store_q6(q2, s(2), s(3), y + 32);
      store_q6(q3, s(4), s(5), y + 64);
      store_q6(q4, s(6), s(7), y + 96);
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

}  // namespace

void kquant_decode_row(const cpu_weight& w, std::int64_t r, float* out) {
  const std::uint8_t* p = w.row(r);
  const std::int64_t nb = w.cols() / qk_k;
  switch (w.type()) {
    case dtype::q4_k: return decode_q4_k(reinterpret_cast<const block_q4_k*>(p), out, nb);
    case dtype::q5_k: return decode_q5_k(reinterpret_cast<const block_q5_k*>(p), out, nb);
    case dtype::q6_k: return decode_q6_k(reinterpret_cast<const block_q6_k*>(p), out, nb);
    default: return w.decode_row(r, out);
  }
}

}  // namespace rwkv::kernels::cpu::avx512
