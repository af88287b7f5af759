// q8/q5/q4 weights x int8-quantized activations with vpdpbusd ("fast" precision, AVX512_VNNI).
//
// Activations are quantized per token and block of 32 (Q8_0-style, as llama.cpp does): d =
// max|x| / 127, q = round_even(x / d), plus the sum of each block's quants. The weights are
// stored unsigned (u = q_w + zero point, see cpu_weight.hpp), which is what vpdpbusd multiplies
// (unsigned x signed bytes, four products per 32-bit lane), so a block's exact integer dot is
//   sum(u * q) - zero_point * sum(q)
// — the correction comes from the activation side and costs one integer per block and token.
// Each block's integer is scaled by d_w * d_x in fp32. gemv and gemm compute the same integers
// (exactly) and differ only in the order of the fp32 sums.
//
//  * gemv: 4 rows at a time from the stored rows; a vector holds two blocks (8 lanes each); the
//    fp16 scales of 16 blocks are widened once and permuted into place per pair of blocks.
//  * gemm: packs 32 rows into [K/4 granules][32 rows x 4 bytes] (one 16x16 dword transpose per 16
//    rows x 64 columns) plus [blocks][32] fp32 scales, and runs 2 vectors of rows x 6 tokens:
//    8 vpdpbusd per block into integer accumulators, then one convert + multiply + FMA.
#include "avx512/dot_kernels.hpp"
#include "simd/vec_avx512.hpp"
#define RWKV_CPU_ISA avx512
#include "simd/vec_math.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace rwkv::kernels::cpu::avx512 {

namespace {

constexpr int NT = 6;   // tokens per register tile
constexpr int MR = 32;  // rows per tile

std::int64_t kpad(std::int64_t K) { return (K + 63) / 64 * 64; }
std::int64_t nbpad(std::int64_t K) { return (K / 32 + 15) / 16 * 16; }
std::int64_t token_bytes(std::int64_t K) { return kpad(K) + nbpad(K) * 8; }

// One token: q[kpad] (zero-padded), d[nbpad], s[nbpad] (zero-padded). K is a multiple of 32.
void quantize_row(const float* x, std::int64_t K, std::int8_t* q, float* d, std::int32_t* s) {
  const std::int64_t nb = K / 32;
  for (std::int64_t b = 0; b < nb; ++b) {
    const __m512 x0 = _mm512_loadu_ps(x + b * 32), x1 = _mm512_loadu_ps(x + b * 32 + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
    const float db = amax / 127.0f;
    const __m512 id = _mm512_set1_ps(db != 0.0f ? 1.0f / db : 0.0f);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, id)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, id));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtsepi32_epi8(q1));
    d[b] = db;
    s[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
  }
  for (std::int64_t c = K; c < kpad(K); ++c) q[c] = 0;
  for (std::int64_t b = nb; b < nbpad(K); ++b) d[b] = 0, s[b] = 0;
}

// 64 weights (columns c0 .. c0+63, or 32 and zeros at a row's trailing half unit) as u8.
template <layout L>
inline __m512i unpack(const std::uint8_t* row, std::int64_t c0, std::int64_t K, std::int64_t hi_off) {
  const bool full = K - c0 >= 64;
  if constexpr (L == layout::q8) {
    return full ? _mm512_loadu_si512(row + c0)
                : _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c0)));
  } else {
    __m512i u;
    if (full) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c0 / 2));
      const __m256i m = _mm256_set1_epi8(0x0F);
      u = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, m)),
                             _mm256_and_si256(_mm256_srli_epi16(v, 4), m), 1);
    } else {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c0 / 2));
      const __m128i m = _mm_set1_epi8(0x0F);
      const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, m)),
                                                _mm_and_si128(_mm_srli_epi16(v, 4), m), 1);
      u = _mm512_zextsi256_si512(h);
    }
    if constexpr (L == layout::q5) {
      std::uint64_t bits = 0;
      std::memcpy(&bits, row + hi_off + c0 / 8, full ? 8 : 4);
      u = _mm512_mask_add_epi8(u, _cvtu64_mask64(bits), u, _mm512_set1_epi8(16));
    }
    return u;
  }
}

template <layout L>
void gemv_t(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
            const out_view& o) {
  constexpr int RB = 16, TB = 8;
  alignas(64) float dots[TB * RB];
  const std::int64_t K = w.cols(), nb = w.blocks(), hi = w.hi_offset(), ldt = token_bytes(K);
  const __m512i neg_zp = _mm512_set1_epi32(-w.zero_point());
  const __m512i first_idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), two = _mm512_set1_epi32(2);
  const auto* acts = static_cast<const std::uint8_t*>(a.converted);
  for (std::int64_t rb = r0; rb < r1; rb += RB) {
    const int nr = static_cast<int>(std::min<std::int64_t>(RB, r1 - rb));
    for (std::int64_t t0 = 0; t0 < T; t0 += TB) {
      const std::int64_t nt = std::min<std::int64_t>(TB, T - t0);
      for (int i = 0; i < nr; i += 4) {
        const std::uint8_t* rows[4];
        const std::uint16_t* sc[4];
        for (int j = 0; j < 4; ++j) {  // a short group repeats its last row (extra dots unused)
          const std::int64_t r = rb + std::min(i + j, nr - 1);
          rows[j] = w.row(r);
          sc[j] = w.scales(r);
        }
        for (std::int64_t t = 0; t < nt; ++t) {
          const std::uint8_t* tok = acts + (t0 + t) * ldt;
          const auto* xq = reinterpret_cast<const std::int8_t*>(tok);
          const auto* xd = reinterpret_cast<const float*>(tok + kpad(K));
          const auto* xs = reinterpret_cast<const std::int32_t*>(xd + nbpad(K));
          __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
          for (std::int64_t sb = 0; sb < nb; sb += 16) {
            const auto m16 = static_cast<__mmask16>(nb - sb >= 16 ? 0xffff : (1u << (nb - sb)) - 1);
            const __m512 dx = _mm512_load_ps(xd + sb);
            const __m512i ninit = _mm512_mullo_epi32(_mm512_load_si512(xs + sb), neg_zp);
            __m512 S[4];
            for (int j = 0; j < 4; ++j) S[j] = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m16, sc[j] + sb)), dx);
            __m512i idx = first_idx;
            for (std::int64_t b = sb; b < std::min(nb, sb + 16); b += 2, idx = _mm512_add_epi32(idx, two)) {
              // The block correction enters once per block: in its first lane (0 and 8) only.
              const __m512i init = _mm512_maskz_permutexvar_epi32(0x0101, idx, ninit);
              const __m512i xv = _mm512_loadu_si512(xq + b * 32);
              for (int j = 0; j < 4; ++j) {
                const __m512i acc = _mm512_dpbusd_epi32(init, unpack<L>(rows[j], b * 32, K, hi), xv);
                f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_permutexvar_ps(idx, S[j]), f[j]);
              }
            }
          }
          _mm_storeu_ps(dots + t * RB + i, hsum4(f[0], f[1], f[2], f[3]));
        }
      }
      for (std::int64_t t = 0; t < nt; ++t)
        store_act(o.y + (t0 + t) * o.ldy + rb, _mm512_load_ps(dots + t * RB), nr, o.act, o.accumulate);
    }
  }
}

// --- gemm ------------------------------------------------------------------------------------------

// Packed activations, per group of NT tokens: q as [K/4 granules][NT] dwords, then d as
// [blocks][NT] floats, then s as [blocks][NT] ints.
std::int64_t group_bytes(std::int64_t K) { return (K / 4 * NT + 2 * (K / 32) * NT) * 4; }

void pack_acts(const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K, std::uint8_t* out,
               thread_scratch& s) {
  const std::int64_t G = K / 4, nb = K / 32;
  s.rows.reserve(static_cast<std::size_t>(token_bytes(K)));
  auto* q = reinterpret_cast<std::int8_t*>(s.rows.data());
  auto* d = reinterpret_cast<float*>(s.rows.data() + kpad(K));
  auto* sum = reinterpret_cast<std::int32_t*>(d + nbpad(K));
  for (std::int64_t g = 0; g * NT < T; ++g) {
    auto* oq = reinterpret_cast<std::int32_t*>(out + g * group_bytes(K));
    auto* od = reinterpret_cast<float*>(oq + G * NT);
    auto* os = reinterpret_cast<std::int32_t*>(od + nb * NT);
    for (int t = 0; t < NT; ++t) {
      const std::int64_t tt = g * NT + t;
      if (tt < T) quantize_row(x + tt * ldx, K, q, d, sum);
      const auto* qg = reinterpret_cast<const std::int32_t*>(q);
      for (std::int64_t j = 0; j < G; ++j) oq[j * NT + t] = tt < T ? qg[j] : 0;
      for (std::int64_t b = 0; b < nb; ++b) {
        od[b * NT + t] = tt < T ? d[b] : 0.0f;
        os[b * NT + t] = tt < T ? sum[b] : 0;
      }
    }
  }
}

template <layout L>
void pack_tile(const cpu_weight& w, std::int64_t rb, int nr, std::uint8_t* tq, float* ts) {
  const std::int64_t K = w.cols(), nb = w.blocks(), hi = w.hi_offset();
  for (int z = 0; z < 2; ++z) {
    for (std::int64_t c0 = 0; c0 < K; c0 += 64) {
      __m512 v[16];
      for (int i = 0; i < 16; ++i) {
        const int row = z * 16 + i;
        v[i] = row < nr ? _mm512_castsi512_ps(unpack<L>(w.row(rb + row), c0, K, hi)) : _mm512_setzero_ps();
      }
      transpose(v);
      const std::int64_t ng = std::min<std::int64_t>(16, (K - c0) / 4);
      for (std::int64_t j = 0; j < ng; ++j) _mm512_store_ps(reinterpret_cast<float*>(tq + ((c0 / 4 + j) * 2 + z) * 64), v[j]);
    }
    for (std::int64_t b0 = 0; b0 < nb; b0 += 16) {
      const auto m16 = static_cast<__mmask16>(nb - b0 >= 16 ? 0xffff : (1u << (nb - b0)) - 1);
      __m512 v[16];
      for (int i = 0; i < 16; ++i) {
        const int row = z * 16 + i;
        v[i] = row < nr ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m16, w.scales(rb + row) + b0)) : _mm512_setzero_ps();
      }
      transpose(v);
      for (std::int64_t j = 0; j < std::min<std::int64_t>(16, nb - b0); ++j) _mm512_store_ps(ts + (b0 + j) * 32 + z * 16, v[j]);
    }
  }
}

template <int N>
void kernel(const std::uint8_t* tq, const float* ts, std::int64_t nb, int zp, const std::uint8_t* xg, std::int64_t K,
            float* y, std::int64_t ldy, int nr, const out_view& o) {
  const auto* xq = reinterpret_cast<const std::int32_t*>(xg);
  const auto* xd = reinterpret_cast<const float*>(xq + K / 4 * NT);
  const auto* xs = reinterpret_cast<const std::int32_t*>(xd + nb * NT);
  __m512 f0[N], f1[N];
#pragma GCC unroll 6
  for (int t = 0; t < N; ++t) f0[t] = f1[t] = _mm512_setzero_ps();
  for (std::int64_t b = 0; b < nb; ++b) {
    __m512i a0[N], a1[N];
#pragma GCC unroll 6
    for (int t = 0; t < N; ++t) a0[t] = a1[t] = _mm512_set1_epi32(-zp * xs[b * NT + t]);
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      const std::int64_t G = b * 8 + g;
      const __m512i w0 = _mm512_load_si512(tq + G * 128), w1 = _mm512_load_si512(tq + G * 128 + 64);
#pragma GCC unroll 6
      for (int t = 0; t < N; ++t) {
        const __m512i xv = _mm512_set1_epi32(xq[G * NT + t]);
        a0[t] = _mm512_dpbusd_epi32(a0[t], w0, xv);
        a1[t] = _mm512_dpbusd_epi32(a1[t], w1, xv);
      }
    }
    const __m512 s0 = _mm512_load_ps(ts + b * 32), s1 = _mm512_load_ps(ts + b * 32 + 16);
#pragma GCC unroll 6
    for (int t = 0; t < N; ++t) {
      const __m512 dx = _mm512_set1_ps(xd[b * NT + t]);
      f0[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a0[t]), s0), dx, f0[t]);
      f1[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a1[t]), s1), dx, f1[t]);
    }
  }
  for (int t = 0; t < N; ++t) {
    store_act(y + t * ldy, f0[t], std::min(16, nr), o.act, o.accumulate);
    if (nr > 16) store_act(y + t * ldy + 16, f1[t], nr - 16, o.act, o.accumulate);
  }
}

using kernel_fn = void (*)(const std::uint8_t*, const float*, std::int64_t, int, const std::uint8_t*, std::int64_t,
                           float*, std::int64_t, int, const out_view&);
template <int... I>
constexpr std::array<kernel_fn, sizeof...(I)> make_kernels(std::integer_sequence<int, I...>) {
  return {&kernel<I + 1>...};
}
constexpr auto kernels = make_kernels(std::make_integer_sequence<int, NT>{});

template <layout L>
void gemm_t(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
            const out_view& o, thread_scratch& s) {
  const std::int64_t K = w.cols(), nb = w.blocks();
  const std::size_t qbytes = static_cast<std::size_t>(K / 4 * 128);
  s.tile.reserve(qbytes + static_cast<std::size_t>(nb * 32) * 4);
  std::uint8_t* tq = s.tile.data();
  auto* ts = reinterpret_cast<float*>(tq + qbytes);
  const auto* acts = static_cast<const std::uint8_t*>(a.converted);
  for (std::int64_t rb = r0; rb < r1; rb += MR) {
    const int nr = static_cast<int>(std::min<std::int64_t>(MR, r1 - rb));
    pack_tile<L>(w, rb, nr, tq, ts);
    for (std::int64_t t0 = 0; t0 < T; t0 += NT) {
      const auto nt = static_cast<int>(std::min<std::int64_t>(NT, T - t0));
      kernels[static_cast<std::size_t>(nt - 1)](tq, ts, nb, w.zero_point(), acts + t0 / NT * group_bytes(K), K,
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
    thread_local thread_scratch scratch;  // one token row; grown once per thread
    pack_acts(x, ldx, T, K, o, scratch);
    return;
  }
  for (std::int64_t t = 0; t < T; ++t) {
    std::uint8_t* tok = o + t * token_bytes(K);
    auto* d = reinterpret_cast<float*>(tok + kpad(K));
    quantize_row(x + t * ldx, K, reinterpret_cast<std::int8_t*>(tok), d, reinterpret_cast<std::int32_t*>(d + nbpad(K)));
  }
}

void int8_gemv(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch&) {
  switch (w.lay()) {
    case layout::q8: return gemv_t<layout::q8>(w, a, T, r0, r1, o);
    case layout::q5: return gemv_t<layout::q5>(w, a, T, r0, r1, o);
    default: return gemv_t<layout::q4>(w, a, T, r0, r1, o);
  }
}

void int8_gemm(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s) {
  switch (w.lay()) {
    case layout::q8: return gemm_t<layout::q8>(w, a, T, r0, r1, o, s);
    case layout::q5: return gemm_t<layout::q5>(w, a, T, r0, r1, o, s);
    default: return gemm_t<layout::q4>(w, a, T, r0, r1, o, s);
  }
}

}  // namespace rwkv::kernels::cpu::avx512
