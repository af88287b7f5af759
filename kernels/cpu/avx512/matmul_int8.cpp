// q8/q5/q4 weights x int8-quantized activations with vpdpbusd ("fast" precision, AVX512_VNNI).
//
// Activations are quantized per token and block of 32 exactly as ggml's q8_0 / q8_1 do (so a
// quantized model computes what llama.cpp and rwkv.cpp compute): q = round_even(x / (max|x| / 127)),
// the block scale d kept as fp16 (its fp32 value here), plus the block's integer sum of quants and
// q8_1's fp16 "s" = fp16(d_fp32 * sum(q)), stored divided by d (see quantize_row). The weights are
// stored unsigned (u = q_w + zero point, see cpu_weight.hpp), which is what vpdpbusd multiplies
// (unsigned x signed bytes, four products per 32-bit lane), so a block's exact integer dot is
//   i = sum(u * q) - zero_point * sum(q)
// and each (row, token) result is  f = sum over blocks, in block order, of fma(float(i) * d_w, d_x, f).
// q4_1 / q5_1 weights (zero point 0) add their block minimum times the activation's block sum s
// (ggml's q8_1 scheme): f += fma(m_w, s / d_x, float(i) * d_w) * d_x. Q6_K (the q6 layout) scales
// the two halves of a block by their int8 scales before the block's scale applies:
//   i = s_1 * (sum_1(u * q) - 32 * sum_1(q)) + s_2 * (sum_2(u * q) - 32 * sum_2(q)),
// still an exact integer (|i| < 2^24, so float(i) is exact too).
// Integers are exact in any order; the fp32 chain is the same in both kernels below, so single-
// token and sequence mode give bit-identical products.
//
//  * gemm (many tokens): packs 32 rows into [blocks][8 granules][32 rows x 4 bytes] (one 16x16
//    dword transpose per 16 rows and chunk) plus [blocks][32] fp32 scales, and runs 2 vectors of
//    rows x 6 tokens: 8 vpdpbusd per block into integer accumulators (activation granules
//    broadcast), then convert, multiply by the rows' scales, FMA with the token's scale.
//  * gemv (few tokens): 16 rows at a time straight from the stored rows; thanks to the
//    interleaved layout eight vpdpbusd leave a row's 16 block sums in 16 lanes, which are scaled
//    by the row's scales, transposed into vectors over rows, and chained over blocks as above.
//    Rows of 16, 24 or 32 blocks (C = 512, 768, 1024) take an instance with those widths fixed at
//    compile time and the activations in registers (single-thread streaming 25 -> 27-35 GB/s
//    at 65536 x 768 here); any other width reads the activations from L1.
#include "avx512/dot_kernels.hpp"
#include "simd/vec_avx512.hpp"
#define RWKV_CPU_ISA avx512
#include "simd/vec_math.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

namespace rwkv::kernels::cpu::avx512 {

namespace {

constexpr int NT = 6;   // tokens per register tile
constexpr int MR = 32;  // rows per tile

std::int64_t superblocks(std::int64_t K) { return (K / 32 + 15) / 16; }
// gemv activations, per token: quants in the interleaved order (superblocks of 512 bytes, chunks
// of 64, lanes beyond a short superblock zero), then per block (padded to 16) d, the integer sum,
// s / d and the integer sum of the block's first 16 quants (for q6's half scales).
std::int64_t token_bytes(std::int64_t K) { return superblocks(K) * (512 + 16 * 16); }

// Up to 16 blocks of 32 values (nbs of them; the rest read as zeros): quants in natural order into
// q[nbs * 32], and per block (one lane each, zero beyond nbs) the scale d, the integer sum of the
// quants, s / d and the sum of the first 16 quants. The per-block maxima and sums are reduced for
// all 16 blocks at once.
struct superblock_scales {
  __m512 d, s_over_d;
  __m512i sum, first;
};
superblock_scales quantize_superblock(const float* x, int nbs, std::int8_t* q) {
  __m512 x0[16], x1[16], m[16];
  for (int b = 0; b < 16; ++b) {
    x0[b] = b < nbs ? _mm512_loadu_ps(x + b * 32) : _mm512_setzero_ps();
    x1[b] = b < nbs ? _mm512_loadu_ps(x + b * 32 + 16) : _mm512_setzero_ps();
    m[b] = _mm512_max_ps(_mm512_abs_ps(x0[b]), _mm512_abs_ps(x1[b]));
  }
  const __m512 amax = reduce_rows(m, [](__m512 a, __m512 b) { return _mm512_max_ps(a, b); });
  const __m512 db = _mm512_div_ps(amax, _mm512_set1_ps(127.0f));
  const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(db, _mm512_setzero_ps(), _CMP_NEQ_OQ), _mm512_set1_ps(1.0f), db);
  alignas(64) float ids[16];
  _mm512_store_ps(ids, id);
  __m512 sums[16], firsts[16];
  for (int b = 0; b < 16; ++b) {
    if (b >= nbs) {
      sums[b] = firsts[b] = _mm512_setzero_ps();
      continue;
    }
    const __m512 ib = _mm512_set1_ps(ids[b]);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0[b], ib)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1[b], ib));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtsepi32_epi8(q1));
    sums[b] = _mm512_castsi512_ps(_mm512_add_epi32(q0, q1));
    firsts[b] = _mm512_castsi512_ps(q0);
  }
  const auto add_int = [](__m512 a, __m512 b) {
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)));
  };
  const __m512i sum = _mm512_castps_si512(reduce_rows(sums, add_int)), first = _mm512_castps_si512(reduce_rows(firsts, add_int));
  // fp16 as ggml, except where fp16 cannot hold the value: there ggml would lose the block
  // (scale 0) or make inf / NaN, and fp32 keeps the products right.
  auto round_fp16 = [](__m512 v) { return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); };
  const __m512 sumf = _mm512_cvtepi32_ps(sum);
  const __m512 d16 = round_fp16(db), s16 = round_fp16(_mm512_mul_ps(sumf, db));
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  const __mmask16 fits = _mm512_cmp_ps_mask(d16, _mm512_setzero_ps(), _CMP_GT_OQ) &
                         _mm512_cmp_ps_mask(_mm512_abs_ps(d16), inf, _CMP_LT_OQ) &
                         _mm512_cmp_ps_mask(_mm512_abs_ps(s16), inf, _CMP_LT_OQ);
  return {_mm512_mask_blend_ps(fits, db, d16), _mm512_mask_blend_ps(fits, sumf, _mm512_div_ps(s16, d16)), sum, first};
}

// One token in natural order: q[K], d[nb], sum[nb], s_over_d[nb], first[nb]. K is a multiple of 32.
void quantize_row(const float* x, std::int64_t K, std::int8_t* q, float* d, std::int32_t* s, float* s_over_d,
                  std::int32_t* first) {
  const std::int64_t nb = K / 32;
  for (std::int64_t b0 = 0; b0 < nb; b0 += 16) {
    const int nbs = static_cast<int>(std::min<std::int64_t>(16, nb - b0));
    const auto sc = quantize_superblock(x + b0 * 32, nbs, q + b0 * 32);
    const __mmask16 m = tail_mask(nbs);
    _mm512_mask_storeu_ps(d + b0, m, sc.d);
    _mm512_mask_storeu_epi32(s + b0, m, sc.sum);
    _mm512_mask_storeu_ps(s_over_d + b0, m, sc.s_over_d);
    _mm512_mask_storeu_epi32(first + b0, m, sc.first);
  }
}

void quantize_token_interleaved(const float* x, std::int64_t K, std::uint8_t* tok) {
  const std::int64_t nb = K / 32, nsb = superblocks(K);
  alignas(64) std::int8_t q[16 * 32];
  auto* xq = reinterpret_cast<std::int32_t*>(tok);
  auto* d = reinterpret_cast<float*>(tok + nsb * 512);
  auto* sum = reinterpret_cast<std::int32_t*>(d + nsb * 16);
  auto* sod = reinterpret_cast<float*>(sum + nsb * 16);
  auto* first = reinterpret_cast<std::int32_t*>(sod + nsb * 16);
  // Granule g (4 quants) of block l goes to lane l of vector g.
  const __m512i granules = _mm512_set_epi32(120, 112, 104, 96, 88, 80, 72, 64, 56, 48, 40, 32, 24, 16, 8, 0);
  for (std::int64_t sb = 0; sb < nsb; ++sb) {
    const int nbs = static_cast<int>(std::min<std::int64_t>(16, nb - sb * 16));
    const auto sc = quantize_superblock(x + sb * 512, nbs, q);
    _mm512_store_ps(d + sb * 16, sc.d);  // lanes beyond nbs are zero
    _mm512_store_si512(sum + sb * 16, sc.sum);
    _mm512_store_ps(sod + sb * 16, sc.s_over_d);
    _mm512_store_si512(first + sb * 16, sc.first);
    for (int g = 0; g < 8; ++g)
      _mm512_store_si512(xq + sb * 128 + g * 16,
                         _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), tail_mask(nbs),
                                                     _mm512_add_epi32(granules, _mm512_set1_epi32(g)), q, 4));
  }
}

constexpr bool byte_quants(layout L) { return L == layout::q8 || L == layout::q6; }

// Chunks 2h and 2h+1 of superblock sb of a row as u8 (lanes >= nbs zero).
template <layout L>
inline void unpack_pair(const std::uint8_t* row, std::int64_t sb, int nbs, int h, std::int64_t hi_off, __m512i& c0,
                        __m512i& c1) {
  // Full superblocks need no mask, half ones (K = 768's second) take 256-bit loads: masked byte
  // loads cost more.
  const bool full = nbs == 16, half = nbs == 8;
  const auto m = static_cast<__mmask64>(full ? ~0ull : (1ull << (nbs * 4)) - 1);
  const std::int64_t chunk = nbs * 4;
  auto load = [&](const std::uint8_t* q) {
    if (full) return _mm512_loadu_si512(q);
    if (half) return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)));
    return _mm512_maskz_loadu_epi8(m, q);
  };
  if constexpr (byte_quants(L)) {
    const std::uint8_t* p = row + sb * 512 + 2 * h * chunk;
    c0 = load(p);
    c1 = load(p + chunk);
  } else {
    const std::uint8_t* p = row + sb * 256 + h * chunk;
    const __m512i v = load(p);
    const __m512i lo4 = _mm512_set1_epi8(0x0F);
    c0 = _mm512_and_si512(v, lo4);
    c1 = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
    if constexpr (L == layout::q5) {
      const std::uint8_t* bits = row + hi_off + sb * 64;
      const std::int64_t b0 = 2 * h * chunk, b1 = b0 + chunk;  // bit positions of the two chunks
      std::uint64_t w0, w1;
      std::memcpy(&w0, bits + b0 / 8, 8);
      std::memcpy(&w1, bits + b1 / 8, 8);
      const __m512i sixteen = _mm512_set1_epi8(16);
      c0 = _mm512_mask_add_epi8(c0, _cvtu64_mask64(w0 >> (b0 % 8)) & m, c0, sixteen);
      c1 = _mm512_mask_add_epi8(c1, _cvtu64_mask64(w1 >> (b1 % 8)) & m, c1, sixteen);
    }
  }
}

// A q6 row's int8 half scales of superblock sb (first halves, or second with `second`) as int32
// lanes (zero beyond nbs).
inline __m512i half_scales(const cpu_weight& w, std::int64_t row, std::int64_t sb, int nbs, bool second) {
  const std::int8_t* p = w.half_scales(row) + (second ? w.blocks() : 0) + sb * 16;
  return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(tail_mask(nbs), p));
}

// A row's fp16 per-block values (scales, minimums) of superblock sb as fp32 lanes.
inline __m512 block_values(const std::uint16_t* v, std::int64_t sb, int nbs) {
  const std::uint16_t* p = v + sb * 16;
  if (nbs == 16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  if (nbs == 8) return _mm512_cvtph_ps(_mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail_mask(nbs), p));
}

// NB > 0: rows of exactly NB blocks (K = 32 * NB <= 1024, the projections of 0.1B-0.4B models):
// every superblock's width is a constant and the activation chunks stay in registers across rows.
// NB = 0: any K, activations from L1. The arithmetic and its order are the same in both.
template <layout L, bool M, int NB>
void gemv_t(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
            const out_view& o, thread_scratch& s) {
  static_assert(NB >= 0 && NB <= 32);
  constexpr int NSB = (NB + 15) / 16;
  const std::int64_t nb = NB > 0 ? NB : w.blocks(), K = nb * 32, hi = w.hi_offset(), ldt = token_bytes(K);
  const std::int64_t nsb = NB > 0 ? NSB : superblocks(K);
  auto width = [nb](std::int64_t sb) { return static_cast<int>(std::min<std::int64_t>(16, nb - 16 * sb)); };
  const __m512i neg_zp = _mm512_set1_epi32(-w.zero_point());
  const auto* acts = static_cast<const std::uint8_t*>(a.converted);
  // Block sums of 16 rows, per superblock: rows are read whole, one after the other (one
  // ascending stream for the prefetchers), and transposed to vectors over rows afterwards.
  // 16 rows of sums, the corrections, and q6's second-half sums and corrections.
  s.rows.reserve(static_cast<std::size_t>(nsb) * (L == layout::q6 ? 34 : 17) * 64);
  auto* t2 = reinterpret_cast<__m512*>(s.rows.data());
  for (std::int64_t rb = r0; rb < r1; rb += 16) {
    const int nr = static_cast<int>(std::min<std::int64_t>(16, r1 - rb));
    for (std::int64_t t = 0; t < T; ++t) {
      const std::uint8_t* tok = acts + t * ldt;
      const auto* xd = reinterpret_cast<const float*>(tok + nsb * 512);
      const auto* xs = reinterpret_cast<const std::int32_t*>(xd + nsb * 16);
      const auto* xsd = reinterpret_cast<const float*>(xs + nsb * 16);
      const auto* xf = reinterpret_cast<const std::int32_t*>(xsd + nsb * 16);
      // The zero-point corrections, -zero_point * sum(q) per block, shared by all rows; q6: per
      // half (first halves in init[sb], second in init2[sb], their sums in t2 and s2).
      auto* init = reinterpret_cast<__m512i*>(t2 + nsb * 16);
      auto* s2 = reinterpret_cast<__m512i*>(t2 + nsb * 17);
      auto* init2 = s2 + nsb * 16;
      for (std::int64_t sb = 0; sb < nsb; ++sb) {
        const __m512i sum = _mm512_load_si512(xs + sb * 16);
        if constexpr (L == layout::q6) {
          const __m512i first = _mm512_load_si512(xf + sb * 16);
          init[sb] = _mm512_mullo_epi32(first, neg_zp);
          init2[sb] = _mm512_mullo_epi32(_mm512_sub_epi32(sum, first), neg_zp);
        } else {
          init[sb] = _mm512_mullo_epi32(sum, neg_zp);
        }
      }
      __m512i xr[NSB > 0 ? NSB : 1][8];
      for (int sb = 0; sb < NSB; ++sb)
        for (int g = 0; g < 8; ++g) xr[sb][g] = _mm512_load_si512(tok + sb * 512 + g * 64);
      for (int r = 0; r < 16; ++r) {
        const std::int64_t row = rb + std::min(r, nr - 1);  // repeats are never stored
        const std::uint8_t* p = w.row(row);
#pragma GCC unroll 2
        for (std::int64_t sb = 0; sb < nsb; ++sb) {
          auto x = [&](int g) {
            if constexpr (NB > 0) return xr[sb][g];
            else return _mm512_load_si512(tok + sb * 512 + g * 64);
          };
          // Two chains per half (integers: any order gives the same exact sums); only q6 keeps
          // the halves apart.
          __m512i acc[2] = {init[sb], L == layout::q6 ? init2[sb] : _mm512_setzero_si512()};
          __m512i acc1[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
          for (int h = 0; h < 4; ++h) {
            __m512i c0, c1;
            unpack_pair<L>(p, sb, width(sb), h, hi, c0, c1);
            const int half = L == layout::q6 ? h / 2 : 0;
            acc[half] = _mm512_dpbusd_epi32(acc[half], c0, x(2 * h));
            acc1[half] = _mm512_dpbusd_epi32(acc1[half], c1, x(2 * h + 1));
          }
          t2[sb * 16 + r] = _mm512_castsi512_ps(_mm512_add_epi32(acc[0], acc1[0]));  // scaled below
          if constexpr (L == layout::q6) s2[sb * 16 + r] = _mm512_add_epi32(acc[1], acc1[1]);
        }
        // The scales sit at the row's end: reading them after all quants keeps one ascending stream.
#pragma GCC unroll 2
        for (std::int64_t sb = 0; sb < nsb; ++sb) {
          __m512i sum = _mm512_castps_si512(t2[sb * 16 + r]);
          if constexpr (L == layout::q6)
            sum = _mm512_add_epi32(_mm512_mullo_epi32(sum, half_scales(w, row, sb, width(sb), false)),
                                   _mm512_mullo_epi32(s2[sb * 16 + r], half_scales(w, row, sb, width(sb), true)));
          __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(sum),
                                   block_values(w.scales(row), sb, width(sb)));
          if constexpr (M) v = _mm512_fmadd_ps(block_values(w.mins(row), sb, width(sb)), _mm512_load_ps(xsd + sb * 16), v);
          t2[sb * 16 + r] = v;
        }
      }
      __m512 f = _mm512_setzero_ps();
      for (std::int64_t sb = 0; sb < nsb; ++sb) {
        __m512 v[16];
        for (int r = 0; r < 16; ++r) v[r] = t2[sb * 16 + r];
        transpose(v);  // v[l]: block sb*16 + l of the 16 rows
        for (int l = 0; l < width(sb); ++l) f = _mm512_fmadd_ps(v[l], _mm512_set1_ps(xd[sb * 16 + l]), f);
      }
      store_act(o.y + t * o.ldy + rb, f, nr, o.act, o.accumulate);
    }
  }
}

template <layout L, bool M>
void gemv_dispatch(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
                   const out_view& o, thread_scratch& s) {
  switch (w.blocks()) {  // the widths of 0.1B-0.4B models (C = 768, 1024), and 512
    case 16: return gemv_t<L, M, 16>(w, a, T, r0, r1, o, s);
    case 24: return gemv_t<L, M, 24>(w, a, T, r0, r1, o, s);
    case 32: return gemv_t<L, M, 32>(w, a, T, r0, r1, o, s);
  }
  gemv_t<L, M, 0>(w, a, T, r0, r1, o, s);
}

// --- gemm ------------------------------------------------------------------------------------------

// Packed activations, per group of NT tokens: q as [K/4 granules][NT] dwords, then d as
// [blocks][NT] floats, the sums as [blocks][NT] ints, s / d as [blocks][NT] floats and the sums of
// the first 16 quants of each block (for q6) as [blocks][NT] ints.
std::int64_t group_bytes(std::int64_t K) { return (K / 4 * NT + 4 * (K / 32) * NT) * 4; }

void pack_acts(const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K, std::uint8_t* out) {
  const std::int64_t G = K / 4, nb = K / 32;
  thread_local std::vector<std::int8_t> q;  // one token row; grown once per thread
  thread_local std::vector<float> d;
  thread_local std::vector<std::int32_t> sum;
  thread_local std::vector<float> sod;
  thread_local std::vector<std::int32_t> first;
  if (q.size() < static_cast<std::size_t>(K)) {
    q.resize(static_cast<std::size_t>(K));
    d.resize(static_cast<std::size_t>(nb)), sum.resize(static_cast<std::size_t>(nb)), sod.resize(static_cast<std::size_t>(nb));
    first.resize(static_cast<std::size_t>(nb));
  }
  for (std::int64_t g = 0; g * NT < T; ++g) {
    auto* oq = reinterpret_cast<std::int32_t*>(out + g * group_bytes(K));
    auto* od = reinterpret_cast<float*>(oq + G * NT);
    auto* os = reinterpret_cast<std::int32_t*>(od + nb * NT);
    auto* osd = reinterpret_cast<float*>(os + nb * NT);
    auto* os1 = reinterpret_cast<std::int32_t*>(osd + nb * NT);
    for (int t = 0; t < NT; ++t) {
      const std::int64_t tt = g * NT + t;
      if (tt < T) quantize_row(x + tt * ldx, K, q.data(), d.data(), sum.data(), sod.data(), first.data());
      const auto* qg = reinterpret_cast<const std::int32_t*>(q.data());
      for (std::int64_t j = 0; j < G; ++j) oq[j * NT + t] = tt < T ? qg[j] : 0;
      for (std::int64_t b = 0; b < nb; ++b) {
        od[b * NT + t] = tt < T ? d[b] : 0.0f;
        os[b * NT + t] = tt < T ? sum[b] : 0;
        osd[b * NT + t] = tt < T ? sod[b] : 0.0f;
        os1[b * NT + t] = tt < T ? first[b] : 0;
      }
    }
  }
}

// The tile's fp16 per-block values (scales or minimums) of 32 rows as fp32, [blocks][32 rows].
void pack_block_values(const cpu_weight& w, const std::uint16_t* (cpu_weight::*values)(std::int64_t) const noexcept,
                       std::int64_t rb, int nr, float* out) {
  const std::int64_t nb = w.blocks();
  for (int z = 0; z < 2; ++z)
    for (std::int64_t b0 = 0; b0 < nb; b0 += 16) {
      const auto m16 = static_cast<__mmask16>(nb - b0 >= 16 ? 0xffff : (1u << (nb - b0)) - 1);
      __m512 v[16];
      for (int i = 0; i < 16; ++i) {
        const int row = z * 16 + i;
        v[i] = row < nr ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m16, (w.*values)(rb + row) + b0)) : _mm512_setzero_ps();
      }
      transpose(v);
      for (std::int64_t j = 0; j < std::min<std::int64_t>(16, nb - b0); ++j) _mm512_store_ps(out + (b0 + j) * 32 + z * 16, v[j]);
    }
}

// q6: the tile's int8 half scales as int32, [blocks][2 halves][32 rows] (zero beyond nr).
void pack_half_scales(const cpu_weight& w, std::int64_t rb, int nr, std::int32_t* out) {
  const std::int64_t nb = w.blocks();
  for (std::int64_t b = 0; b < nb; ++b)
    for (int h = 0; h < 2; ++h)
      for (int row = 0; row < MR; ++row)
        out[(b * 2 + h) * MR + row] = row < nr ? w.half_scales(rb + row)[h * nb + b] : 0;
}

template <layout L>
void pack_tile(const cpu_weight& w, std::int64_t rb, int nr, std::uint8_t* tq, float* ts, float* tm) {
  const std::int64_t nb = w.blocks(), hi = w.hi_offset();
  // The packing below walks the rows in column order; fetch them in address order first.
  for (std::int64_t b = 0; b < nr * w.row_bytes(); b += 64)
    _mm_prefetch(reinterpret_cast<const char*>(w.row(rb) + b), _MM_HINT_T1);
  for (int z = 0; z < 2; ++z) {
    for (std::int64_t sb = 0; sb * 16 < nb; ++sb) {
      const int nbs = static_cast<int>(std::min<std::int64_t>(16, nb - sb * 16));
      for (int h = 0; h < 4; ++h) {
        __m512 v0[16], v1[16];
        for (int i = 0; i < 16; ++i) {
          const int row = z * 16 + i;
          __m512i c0 = _mm512_setzero_si512(), c1 = c0;
          if (row < nr) unpack_pair<L>(w.row(rb + row), sb, nbs, h, hi, c0, c1);
          v0[i] = _mm512_castsi512_ps(c0);
          v1[i] = _mm512_castsi512_ps(c1);
        }
        transpose(v0);  // v0[l]: granule 2h of block sb*16 + l, 16 rows
        transpose(v1);
        for (int l = 0; l < nbs; ++l) {
          const std::int64_t b = sb * 16 + l;
          _mm512_store_ps(reinterpret_cast<float*>(tq + ((b * 8 + 2 * h) * 2 + z) * 64), v0[l]);
          _mm512_store_ps(reinterpret_cast<float*>(tq + ((b * 8 + 2 * h + 1) * 2 + z) * 64), v1[l]);
        }
      }
    }
  }
  pack_block_values(w, &cpu_weight::scales, rb, nr, ts);
  if (w.has_mins()) pack_block_values(w, &cpu_weight::mins, rb, nr, tm);
  if constexpr (L == layout::q6) pack_half_scales(w, rb, nr, reinterpret_cast<std::int32_t*>(tm));
}

// M: q4_1 / q5_1 minimums (tm: [blocks][32 rows] fp32). Q6: q6 half scales (tm: as
// pack_half_scales writes them).
template <bool M, bool Q6, int N>
void kernel(const std::uint8_t* tq, const float* ts, const float* tm, std::int64_t nb, int zp, const std::uint8_t* xg,
            std::int64_t K, float* y, std::int64_t ldy, int nr, const out_view& o) {
  const auto* xq = reinterpret_cast<const std::int32_t*>(xg);
  const auto* xd = reinterpret_cast<const float*>(xq + K / 4 * NT);
  const auto* xs = reinterpret_cast<const std::int32_t*>(xd + nb * NT);
  const auto* xsd = reinterpret_cast<const float*>(xs + nb * NT);
  const auto* xs1 = reinterpret_cast<const std::int32_t*>(xsd + nb * NT);
  const auto* th = reinterpret_cast<const std::int32_t*>(tm);
  __m512 f0[N], f1[N];
#pragma GCC unroll 6
  for (int t = 0; t < N; ++t) f0[t] = f1[t] = _mm512_setzero_ps();
  for (std::int64_t b = 0; b < nb; ++b) {
    // a: the block (q6: its first halves), h: q6's second halves.
    __m512i a0[N], a1[N], h0[N], h1[N];
#pragma GCC unroll 6
    for (int t = 0; t < N; ++t) {
      const std::int32_t sum = xs[b * NT + t], first = Q6 ? xs1[b * NT + t] : sum;
      a0[t] = a1[t] = _mm512_set1_epi32(-zp * first);
      if constexpr (Q6) h0[t] = h1[t] = _mm512_set1_epi32(-zp * (sum - first));
    }
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      const std::int64_t G = b * 8 + g;
      const __m512i w0 = _mm512_load_si512(tq + G * 128), w1 = _mm512_load_si512(tq + G * 128 + 64);
      __m512i* c0 = Q6 && g >= 4 ? h0 : a0;
      __m512i* c1 = Q6 && g >= 4 ? h1 : a1;
#pragma GCC unroll 6
      for (int t = 0; t < N; ++t) {
        const __m512i xv = _mm512_set1_epi32(xq[G * NT + t]);
        c0[t] = _mm512_dpbusd_epi32(c0[t], w0, xv);
        c1[t] = _mm512_dpbusd_epi32(c1[t], w1, xv);
      }
    }
    if constexpr (Q6) {
      const __m512i s0 = _mm512_load_si512(th + b * 2 * MR), s1 = _mm512_load_si512(th + b * 2 * MR + 16);
      const __m512i z0 = _mm512_load_si512(th + (b * 2 + 1) * MR), z1 = _mm512_load_si512(th + (b * 2 + 1) * MR + 16);
#pragma GCC unroll 6
      for (int t = 0; t < N; ++t) {
        a0[t] = _mm512_add_epi32(_mm512_mullo_epi32(a0[t], s0), _mm512_mullo_epi32(h0[t], z0));
        a1[t] = _mm512_add_epi32(_mm512_mullo_epi32(a1[t], s1), _mm512_mullo_epi32(h1[t], z1));
      }
    }
    const __m512 s0 = _mm512_load_ps(ts + b * 32), s1 = _mm512_load_ps(ts + b * 32 + 16);
#pragma GCC unroll 6
    for (int t = 0; t < N; ++t) {
      const __m512 dx = _mm512_set1_ps(xd[b * NT + t]);
      __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(a0[t]), s0), v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(a1[t]), s1);
      if constexpr (M) {  // as gemv: fma(m_w, s / d_x, float(i) * d_w)
        const __m512 sx = _mm512_set1_ps(xsd[b * NT + t]);
        v0 = _mm512_fmadd_ps(_mm512_load_ps(tm + b * 32), sx, v0);
        v1 = _mm512_fmadd_ps(_mm512_load_ps(tm + b * 32 + 16), sx, v1);
      }
      f0[t] = _mm512_fmadd_ps(v0, dx, f0[t]);
      f1[t] = _mm512_fmadd_ps(v1, dx, f1[t]);
    }
  }
  for (int t = 0; t < N; ++t) {
    store_act(y + t * ldy, f0[t], std::min(16, nr), o.act, o.accumulate);
    if (nr > 16) store_act(y + t * ldy + 16, f1[t], nr - 16, o.act, o.accumulate);
  }
}

using kernel_fn = void (*)(const std::uint8_t*, const float*, const float*, std::int64_t, int, const std::uint8_t*,
                           std::int64_t, float*, std::int64_t, int, const out_view&);
template <bool M, bool Q6, int... I>
constexpr std::array<kernel_fn, sizeof...(I)> make_kernels(std::integer_sequence<int, I...>) {
  return {&kernel<M, Q6, I + 1>...};
}
constexpr auto kernels = make_kernels<false, false>(std::make_integer_sequence<int, NT>{});
constexpr auto kernels_mins = make_kernels<true, false>(std::make_integer_sequence<int, NT>{});
constexpr auto kernels_q6 = make_kernels<false, true>(std::make_integer_sequence<int, NT>{});

template <layout L>
void gemm_t(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
            const out_view& o, thread_scratch& s) {
  const std::int64_t K = w.cols(), nb = w.blocks();
  const std::size_t qbytes = static_cast<std::size_t>(K / 4 * 128);
  s.tile.reserve(qbytes + static_cast<std::size_t>(nb * 32) * 4 * 3);  // quants, scales, minimums or half scales
  std::uint8_t* tq = s.tile.data();
  auto* ts = reinterpret_cast<float*>(tq + qbytes);
  float* tm = ts + nb * 32;
  const auto& kern = L == layout::q6 ? kernels_q6 : w.has_mins() ? kernels_mins : kernels;
  const auto* acts = static_cast<const std::uint8_t*>(a.converted);
  for (std::int64_t rb = r0; rb < r1; rb += MR) {
    const int nr = static_cast<int>(std::min<std::int64_t>(MR, r1 - rb));
    pack_tile<L>(w, rb, nr, tq, ts, tm);
    // The next 32 rows (usually this thread's next tile) start coming from memory while this tile
    // computes: packing would otherwise stall on them.
    const std::int64_t next = std::min<std::int64_t>(MR, w.rows() - (rb + MR));
    for (std::int64_t b = 0; b < next * w.row_bytes(); b += 64)
      _mm_prefetch(reinterpret_cast<const char*>(w.row(rb + MR) + b), _MM_HINT_T1);
    for (std::int64_t t0 = 0; t0 < T; t0 += NT) {
      const auto nt = static_cast<int>(std::min<std::int64_t>(NT, T - t0));
      kern[static_cast<std::size_t>(nt - 1)](tq, ts, tm, nb, w.zero_point(), acts + t0 / NT * group_bytes(K), K,
                                             o.y + t0 * o.ldy + rb, o.ldy, nr, o);
    }
  }
}

}  // namespace

std::size_t int8_act_bytes(bool gemm, std::int64_t T, std::int64_t K) {
  if (gemm) return static_cast<std::size_t>((T + NT - 1) / NT * group_bytes(K));
  return static_cast<std::size_t>(T * token_bytes(K));
}

void int8_convert(bool gemm, const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K, void* out) {
  auto* o = static_cast<std::uint8_t*>(out);
  if (gemm) {
    pack_acts(x, ldx, T, K, o);
    return;
  }
  for (std::int64_t t = 0; t < T; ++t) quantize_token_interleaved(x + t * ldx, K, o + t * token_bytes(K));
}

// Row r as fp32, w = (u - zero point) * d [+ m] exactly as the reference dequantizes (the integer
// difference is exact in fp32; one rounding for the product, one for the minimum). For exact
// precision.
void int8_decode_row(const cpu_weight& w, std::int64_t r, float* out) {
  const std::int64_t nb = w.blocks(), hi = w.hi_offset();
  const std::uint8_t* p = w.row(r);
  const __m512 zp = _mm512_set1_ps(static_cast<float>(w.zero_point()));
  for (std::int64_t sb = 0; sb * 16 < nb; ++sb) {
    const int nbs = static_cast<int>(std::min<std::int64_t>(16, nb - sb * 16));
    // Scale of lane l, repeated for its 4 values: 4 vectors of 4 lanes x 4.
    const __m512 d16 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail_mask(nbs), w.scales(r) + sb * 16));
    const __m512 m16 = w.has_mins() ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail_mask(nbs), w.mins(r) + sb * 16))
                                    : _mm512_setzero_ps();
    __m512 d4[4], m4[4];
    for (int k = 0; k < 4; ++k) {
      const __m512i lanes = _mm512_set_epi32(4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 2, 4 * k + 2, 4 * k + 2,
                                             4 * k + 2, 4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k, 4 * k, 4 * k, 4 * k);
      d4[k] = _mm512_permutexvar_ps(lanes, d16);
      m4[k] = _mm512_permutexvar_ps(lanes, m16);
    }
    for (int h = 0; h < 4; ++h) {
      __m512i c[2];
      switch (w.lay()) {
        case layout::q8: unpack_pair<layout::q8>(p, sb, nbs, h, hi, c[0], c[1]); break;
        case layout::q5: unpack_pair<layout::q5>(p, sb, nbs, h, hi, c[0], c[1]); break;
        default: unpack_pair<layout::q4>(p, sb, nbs, h, hi, c[0], c[1]); break;
      }
      for (int e = 0; e < 2; ++e) {
        const int g = 2 * h + e;
        for (int k = 0; k < 4 && 4 * k < nbs; ++k) {  // lanes 4k .. 4k+3
          const __m128i bytes = k == 0   ? _mm512_extracti32x4_epi32(c[e], 0)
                                : k == 1 ? _mm512_extracti32x4_epi32(c[e], 1)
                                : k == 2 ? _mm512_extracti32x4_epi32(c[e], 2)
                                         : _mm512_extracti32x4_epi32(c[e], 3);
          const __m512 f = _mm512_add_ps(
              _mm512_mul_ps(_mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)), zp), d4[k]), m4[k]);
          for (int j = 0; j < 4 && 4 * k + j < nbs; ++j) {
            float* o = out + (sb * 16 + 4 * k + j) * 32 + 4 * g;
            _mm_storeu_ps(o, j == 0 ? _mm512_extractf32x4_ps(f, 0)
                             : j == 1 ? _mm512_extractf32x4_ps(f, 1)
                             : j == 2 ? _mm512_extractf32x4_ps(f, 2)
                                      : _mm512_extractf32x4_ps(f, 3));
          }
        }
      }
    }
  }
}

void int8_gemv(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s) {
  switch (w.lay()) {
    case layout::q8: return gemv_dispatch<layout::q8, false>(w, a, T, r0, r1, o, s);
    case layout::q6: return gemv_dispatch<layout::q6, false>(w, a, T, r0, r1, o, s);
    case layout::q5:
      return w.has_mins() ? gemv_dispatch<layout::q5, true>(w, a, T, r0, r1, o, s)
                          : gemv_dispatch<layout::q5, false>(w, a, T, r0, r1, o, s);
    default:
      return w.has_mins() ? gemv_dispatch<layout::q4, true>(w, a, T, r0, r1, o, s)
                          : gemv_dispatch<layout::q4, false>(w, a, T, r0, r1, o, s);
  }
}

void int8_gemm(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s) {
  switch (w.lay()) {
    case layout::q8: return gemm_t<layout::q8>(w, a, T, r0, r1, o, s);
    case layout::q6: return gemm_t<layout::q6>(w, a, T, r0, r1, o, s);
    case layout::q5: return gemm_t<layout::q5>(w, a, T, r0, r1, o, s);
    default: return gemm_t<layout::q4>(w, a, T, r0, r1, o, s);
  }
}

}  // namespace rwkv::kernels::cpu::avx512
