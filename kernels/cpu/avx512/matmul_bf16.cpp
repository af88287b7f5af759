// bf16 weights x bf16-rounded activations with vdpbf16ps ("fast" precision, AVX512_BF16).
//
// vdpbf16ps multiplies pairs of bf16 (exact in fp32) and adds both products to an fp32 lane, so a
// row-major bf16 row is already in the instruction's pair format: rows are read straight from the
// (memory-mapped) matrix, generation and prefill alike. The register tile is 6 rows x 4 tokens of
// accumulators, each lane summing its column pairs in column order, then a fixed reduction tree
// per row — the same operations in the same order for one token or many (see matmul_f32.inc), so
// single-token and sequence mode give bit-identical products. Few tokens go row by row (one
// ascending memory stream: see matmul_f32.inc on prefetchers); the tile prefetches its next rows. Activations are rounded once per
// product with vcvtne2ps2bf16 (round to nearest even) into rows padded with zeros to 32 values.
#include "avx512/dot_kernels.hpp"
#include "simd/vec_avx512.hpp"
#define RWKV_CPU_ISA avx512
#include "simd/vec_math.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace rwkv::kernels::cpu::avx512 {

namespace {

// 24 accumulators + 6 rows + 1 activation of the 32 registers; 4x6, 5x5 and 3x8 measured slower.
constexpr int R = 6;  // rows per register tile
constexpr int N = 4;  // tokens per register tile

std::int64_t row16(std::int64_t K) { return (K + 31) / 32 * 32; }

// GCC 12 has no cast intrinsics for __m512bh; vector casts reinterpret the bits.
inline __m512bh as_bh(__m512i v) { return (__m512bh)v; }
inline __m512i as_i(__m512bh v) { return (__m512i)v; }

// x rounded to bf16, zero-padded to row16(K).
void round_row(const float* x, std::int64_t K, std::uint16_t* out) {
  for (std::int64_t c = 0; c < row16(K); c += 32) {
    const int n = static_cast<int>(std::clamp<std::int64_t>(K - c, 0, 32));
    const __m512 lo = _mm512_maskz_loadu_ps(tail_mask(std::min(n, 16)), x + c);
    const __m512 hi = n > 16 ? _mm512_maskz_loadu_ps(tail_mask(n - 16), x + c + 16) : _mm512_setzero_ps();
    _mm512_storeu_si512(out + c, as_i(_mm512_cvtne2ps_pbh(hi, lo)));
  }
}

// out[t * 8 + r] = row_r . x_t for R rows and NT tokens.
template <int NT>
void tile(const std::uint16_t* const (&rows)[R], std::int64_t K, const std::uint16_t* const (&xs)[N], float* out) {
  __m512 acc[R][NT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_setzero_ps();
  const std::int64_t Kv = K / 32 * 32;
  for (std::int64_t c = 0; c < Kv; c += 32) {
    __m512bh w[R];
    for (int r = 0; r < R; ++r) w[r] = as_bh(_mm512_loadu_si512(rows[r] + c));
    for (int t = 0; t < NT; ++t) {
      const __m512bh xv = as_bh(_mm512_loadu_si512(xs[t] + c));
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], w[r], xv);
    }
  }
  if (Kv < K) {  // masked: never read past a row (or the mapped file)
    const auto m = static_cast<__mmask32>((1ull << (K - Kv)) - 1);
    __m512bh w[R];
    for (int r = 0; r < R; ++r) w[r] = as_bh(_mm512_maskz_loadu_epi16(m, rows[r] + Kv));
    for (int t = 0; t < NT; ++t) {
      const __m512bh xv = as_bh(_mm512_loadu_si512(xs[t] + Kv));  // zero-padded
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], w[r], xv);
    }
  }
  for (int t = 0; t < NT; ++t) {
    _mm_storeu_ps(out + t * 8, hsum4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]));
    if constexpr (R > 4) _mm_storeu_ps(out + t * 8 + 4, hsum4(acc[4 % R][t], acc[5 % R][t], acc[5 % R][t], acc[5 % R][t]));
  }
}

// out[t * ld] = row . x_t for one row and NT tokens: the tile's arithmetic for one of its rows.
template <int NT>
void row1(const std::uint16_t* row, std::int64_t K, const std::uint16_t* const (&xs)[N], float* out, int ld) {
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  const std::int64_t Kv = K / 32 * 32;
  for (std::int64_t c = 0; c < Kv; c += 32) {
    const __m512bh w = as_bh(_mm512_loadu_si512(row + c));
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_dpbf16_ps(acc[t], w, as_bh(_mm512_loadu_si512(xs[t] + c)));
  }
  if (Kv < K) {
    const __m512bh w = as_bh(_mm512_maskz_loadu_epi16(static_cast<__mmask32>((1ull << (K - Kv)) - 1), row + Kv));
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_dpbf16_ps(acc[t], w, as_bh(_mm512_loadu_si512(xs[t] + Kv)));
  }
  for (int t = 0; t < NT; ++t) out[t * ld] = _mm_cvtss_f32(hsum4(acc[t], acc[t], acc[t], acc[t]));
}

using tile_fn = void (*)(const std::uint16_t* const (&)[R], std::int64_t, const std::uint16_t* const (&)[N], float*);
using row_fn = void (*)(const std::uint16_t*, std::int64_t, const std::uint16_t* const (&)[N], float*, int);
template <int... I>
constexpr std::array<tile_fn, sizeof...(I)> make_tiles(std::integer_sequence<int, I...>) {
  return {&tile<I + 1>...};
}
template <int... I>
constexpr std::array<row_fn, sizeof...(I)> make_rows(std::integer_sequence<int, I...>) {
  return {&row1<I + 1>...};
}
constexpr auto tiles = make_tiles(std::make_integer_sequence<int, N>{});
constexpr auto row_fns = make_rows(std::make_integer_sequence<int, N>{});

}  // namespace

std::size_t bf16_act_bytes(bool, std::int64_t T, std::int64_t K) { return static_cast<std::size_t>(T * row16(K)) * 2; }

void bf16_convert(bool, const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K, void* out) {
  for (std::int64_t t = 0; t < T; ++t) round_row(x + t * ldx, K, static_cast<std::uint16_t*>(out) + t * row16(K));
}

void bf16_gemv(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch&) {
  alignas(64) float out[N * 16];
  const std::int64_t K = w.cols(), ldx = row16(K);
  const auto* x = static_cast<const std::uint16_t*>(a.converted);
  for (std::int64_t rb = r0; rb < r1; rb += 16) {
    const int nr = static_cast<int>(std::min<std::int64_t>(16, r1 - rb));
    for (std::int64_t t0 = 0; t0 < T; t0 += N) {
      const int nt = static_cast<int>(std::min<std::int64_t>(N, T - t0));
      const std::uint16_t* xs[N];
      for (int t = 0; t < N; ++t) xs[t] = x + (t0 + std::min(t, nt - 1)) * ldx;
      for (int i = 0; i < nr; ++i)
        row_fns[static_cast<std::size_t>(nt - 1)](reinterpret_cast<const std::uint16_t*>(w.row(rb + i)), K, xs, out + i, 16);
      for (int t = 0; t < nt; ++t)
        store_act(o.y + (t0 + t) * o.ldy + rb, _mm512_load_ps(out + t * 16), nr, o.act, o.accumulate);
    }
  }
}

void bf16_gemm(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s) {
  alignas(64) float out[N * 8];
  const std::int64_t K = w.cols(), ldx = row16(K), nr_all = r1 - r0;
  const auto* x = static_cast<const std::uint16_t*>(a.converted);
  // The products of all rows of this task for all T tokens, stored once at the end in whole
  // vectors: writing 6 rows at a time made the next group's masked read of the same cache line
  // (accumulate) wait for the previous masked store.
  s.tile.reserve(static_cast<std::size_t>(T * nr_all) * sizeof(float));
  auto* dots = reinterpret_cast<float*>(s.tile.data());
  for (std::int64_t rg = r0; rg < r1; rg += R) {
    const int nr = static_cast<int>(std::min<std::int64_t>(R, r1 - rg));
    const std::uint16_t* rows[R];
    for (int i = 0; i < R; ++i)  // a short group repeats its last row; the extra dots are never stored
      rows[i] = reinterpret_cast<const std::uint16_t*>(w.row(rg + std::min(i, nr - 1)));
    if (rg + R < w.rows()) {  // the next group (or task), in address order, while this one computes
      const auto* p = w.row(rg + R);
      for (std::int64_t b = 0; b < std::min<std::int64_t>(R, w.rows() - rg - R) * w.row_bytes(); b += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p + b), _MM_HINT_T1);
    }
    for (std::int64_t t0 = 0; t0 < T; t0 += N) {
      const int nt = static_cast<int>(std::min<std::int64_t>(N, T - t0));
      const std::uint16_t* xs[N];
      for (int t = 0; t < N; ++t) xs[t] = x + (t0 + std::min(t, nt - 1)) * ldx;
      tiles[static_cast<std::size_t>(nt - 1)](rows, K, xs, out);
      const auto rows_mask = static_cast<__mmask8>((1u << nr) - 1);
      for (int t = 0; t < nt; ++t)
        _mm256_mask_storeu_ps(dots + (t0 + t) * nr_all + (rg - r0), rows_mask, _mm256_load_ps(out + t * 8));
    }
  }
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t v = 0; v < nr_all; v += 16) {
      const int n = static_cast<int>(std::min<std::int64_t>(16, nr_all - v));
      store_act(o.y + t * o.ldy + r0 + v, _mm512_maskz_loadu_ps(tail_mask(n), dots + t * nr_all + v), n, o.act,
                o.accumulate);
    }
}

}  // namespace rwkv::kernels::cpu::avx512
