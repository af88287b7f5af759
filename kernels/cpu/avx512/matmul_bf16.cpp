// bf16 weights x bf16-rounded activations with vdpbf16ps ("fast" precision, AVX512_BF16).
//
// vdpbf16ps multiplies pairs of bf16 (exact in fp32) and adds both products to an fp32 lane, so
// a row-major bf16 row is already in the instruction's pair format: generation runs row dot
// products straight on the (memory-mapped) rows. Sequence mode packs 32 rows into a tile of
// [K/2 pairs][32 rows] dwords (one 16x16 dword transpose per 16 rows x 32 columns) and runs a
// 2-vector x 12-token kernel that broadcasts activation pairs. gemv and gemm round activations
// with the same instruction (vcvtneps2bf16, round to nearest even), so they agree to fp32
// accumulation order.
#include "avx512/dot_kernels.hpp"
#include "simd/vec_avx512.hpp"
#define RWKV_CPU_ISA avx512
#include "simd/vec_math.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace rwkv::kernels::cpu::avx512 {

namespace {

constexpr int NT = 12;  // tokens per register tile
constexpr int MR = 32;  // rows per tile

std::int64_t row16(std::int64_t K) { return (K + 31) / 32 * 32; }

// GCC 12 has no cast intrinsics for __m512bh; vector casts reinterpret the bits.
inline __m512bh as_bh(__m512i v) { return (__m512bh)v; }
inline __m512i as_i(__m512bh v) { return (__m512i)v; }
std::int64_t pairs(std::int64_t K) { return (K + 1) / 2; }

// x rounded to bf16, zero-padded to row16(K).
void round_row(const float* x, std::int64_t K, std::uint16_t* out) {
  for (std::int64_t c = 0; c < row16(K); c += 32) {
    const int n = static_cast<int>(std::clamp<std::int64_t>(K - c, 0, 32));
    const __m512 lo = _mm512_maskz_loadu_ps(tail_mask(std::min(n, 16)), x + c);
    const __m512 hi = n > 16 ? _mm512_maskz_loadu_ps(tail_mask(n - 16), x + c + 16) : _mm512_setzero_ps();
    _mm512_storeu_si512(out + c, as_i(_mm512_cvtne2ps_pbh(hi, lo)));
  }
}

// Four rows x T tokens; dots[t * ldd + i].
void dot4(const std::uint16_t* const (&rows)[4], std::int64_t K, const std::uint16_t* x, std::int64_t ldx,
          std::int64_t T, float* dots, std::int64_t ldd) {
  const std::int64_t Kv = K / 32 * 32;
  for (std::int64_t t = 0; t < T; ++t) {
    const std::uint16_t* xt = x + t * ldx;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::int64_t c = 0; c < Kv; c += 32) {
      const __m512bh xv = as_bh(_mm512_loadu_si512(xt + c));
      a0 = _mm512_dpbf16_ps(a0, as_bh(_mm512_loadu_si512(rows[0] + c)), xv);
      a1 = _mm512_dpbf16_ps(a1, as_bh(_mm512_loadu_si512(rows[1] + c)), xv);
      a2 = _mm512_dpbf16_ps(a2, as_bh(_mm512_loadu_si512(rows[2] + c)), xv);
      a3 = _mm512_dpbf16_ps(a3, as_bh(_mm512_loadu_si512(rows[3] + c)), xv);
    }
    if (Kv < K) {  // masked: never read past the (mapped) matrix
      const auto m = static_cast<__mmask32>((1ull << (K - Kv)) - 1);
      const __m512bh xv = as_bh(_mm512_loadu_si512(xt + Kv));
      a0 = _mm512_dpbf16_ps(a0, as_bh(_mm512_maskz_loadu_epi16(m, rows[0] + Kv)), xv);
      a1 = _mm512_dpbf16_ps(a1, as_bh(_mm512_maskz_loadu_epi16(m, rows[1] + Kv)), xv);
      a2 = _mm512_dpbf16_ps(a2, as_bh(_mm512_maskz_loadu_epi16(m, rows[2] + Kv)), xv);
      a3 = _mm512_dpbf16_ps(a3, as_bh(_mm512_maskz_loadu_epi16(m, rows[3] + Kv)), xv);
    }
    _mm_storeu_ps(dots + t * ldd, hsum4(a0, a1, a2, a3));
  }
}

// Packed activations: [group of NT tokens][pairs][NT] dwords (a dword = two bf16 of one token).
void pack_acts(const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K, std::uint32_t* out) {
  const std::int64_t P = pairs(K);
  alignas(64) std::uint16_t row[8192 + 32];
  for (std::int64_t g = 0; g * NT < T; ++g) {
    std::uint32_t* o = out + g * P * NT;
    for (int t = 0; t < NT; ++t) {
      const std::int64_t tt = g * NT + t;
      for (std::int64_t c0 = 0; c0 < P; c0 += 4096) {  // 8192 columns at a time
        const std::int64_t pc = std::min<std::int64_t>(4096, P - c0);
        if (tt < T) round_row(x + tt * ldx + 2 * c0, std::min<std::int64_t>(2 * pc, K - 2 * c0), row);
        const auto* d = reinterpret_cast<const std::uint32_t*>(row);
        for (std::int64_t p = 0; p < pc; ++p) o[(c0 + p) * NT + t] = tt < T ? d[p] : 0u;
      }
    }
  }
}

// tile[p][32 rows] dwords for rows rb .. rb+nr.
const std::uint32_t* pack_tile(const cpu_weight& w, std::int64_t rb, int nr, thread_scratch& s) {
  const std::int64_t K = w.cols(), P = pairs(K);
  s.tile.reserve(static_cast<std::size_t>((P + 16) * MR) * 4);
  auto* tile = reinterpret_cast<std::uint32_t*>(s.tile.data());
  for (int z = 0; z < 2; ++z) {
    for (std::int64_t pc = 0; pc < P; pc += 16) {
      const std::int64_t n = std::min<std::int64_t>(32, K - 2 * pc);  // bf16 values in this block
      const auto m = static_cast<__mmask32>(n >= 32 ? 0xffffffffu : (1u << n) - 1);
      __m512 v[16];
      for (int i = 0; i < 16; ++i) {
        const int row = z * 16 + i;
        v[i] = row < nr ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(
                              m, reinterpret_cast<const std::uint16_t*>(w.row(rb + row)) + 2 * pc))
                        : _mm512_setzero_ps();
      }
      transpose(v);
      const std::int64_t np = std::min<std::int64_t>(16, P - pc);
      for (std::int64_t j = 0; j < np; ++j) _mm512_store_ps(reinterpret_cast<float*>(tile + ((pc + j) * 2 + z) * 16), v[j]);
    }
  }
  return tile;
}

template <int N>
void kernel(const std::uint32_t* tile, std::int64_t P, const std::uint32_t* xp, float* y, std::int64_t ldy, int nr,
            const out_view& o) {
  __m512 c0[N], c1[N];
#pragma GCC unroll 12
  for (int t = 0; t < N; ++t) c0[t] = c1[t] = _mm512_setzero_ps();
  for (std::int64_t p = 0; p < P; ++p) {
    const __m512bh w0 = as_bh(_mm512_load_si512(tile + p * 32)), w1 = as_bh(_mm512_load_si512(tile + p * 32 + 16));
    const std::uint32_t* xk = xp + p * NT;
#pragma GCC unroll 12
    for (int t = 0; t < N; ++t) {
      const __m512bh b = as_bh(_mm512_set1_epi32(static_cast<int>(xk[t])));
      c0[t] = _mm512_dpbf16_ps(c0[t], w0, b);
      c1[t] = _mm512_dpbf16_ps(c1[t], w1, b);
    }
  }
  for (int t = 0; t < N; ++t) {
    store_act(y + t * ldy, c0[t], std::min(16, nr), o.act, o.accumulate);
    if (nr > 16) store_act(y + t * ldy + 16, c1[t], nr - 16, o.act, o.accumulate);
  }
}

using kernel_fn = void (*)(const std::uint32_t*, std::int64_t, const std::uint32_t*, float*, std::int64_t, int,
                           const out_view&);
template <int... I>
constexpr std::array<kernel_fn, sizeof...(I)> make_kernels(std::integer_sequence<int, I...>) {
  return {&kernel<I + 1>...};
}
constexpr auto kernels = make_kernels(std::make_integer_sequence<int, NT>{});

}  // namespace

std::size_t bf16_act_bytes(bool gemm, std::int64_t T, std::int64_t K) {
  if (gemm) return static_cast<std::size_t>((T + NT - 1) / NT * pairs(K) * NT) * 4;
  return static_cast<std::size_t>(T * row16(K)) * 2;
}

void bf16_convert(bool gemm, const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K, void* out) {
  if (gemm) {
    pack_acts(x, ldx, T, K, static_cast<std::uint32_t*>(out));
    return;
  }
  for (std::int64_t t = 0; t < T; ++t) round_row(x + t * ldx, K, static_cast<std::uint16_t*>(out) + t * row16(K));
}

void bf16_gemv(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch&) {
  constexpr int RB = 16, TB = 8;
  alignas(64) float dots[TB * RB];
  const std::int64_t K = w.cols(), ldx = row16(K);
  const auto* x = static_cast<const std::uint16_t*>(a.converted);
  auto row = [&](std::int64_t r) { return reinterpret_cast<const std::uint16_t*>(w.row(r)); };
  for (std::int64_t rb = r0; rb < r1; rb += RB) {
    const int nr = static_cast<int>(std::min<std::int64_t>(RB, r1 - rb));
    for (std::int64_t t0 = 0; t0 < T; t0 += TB) {
      const std::int64_t nt = std::min<std::int64_t>(TB, T - t0);
      int i = 0;
      for (; i < nr; i += 4) {
        // A short group repeats its last row; the extra dots are never stored.
        const std::uint16_t* rows[4];
        for (int j = 0; j < 4; ++j) rows[j] = row(rb + std::min(i + j, nr - 1));
        dot4(rows, K, x + t0 * ldx, ldx, nt, dots + i, RB);
      }
      for (std::int64_t t = 0; t < nt; ++t)
        store_act(o.y + (t0 + t) * o.ldy + rb, _mm512_load_ps(dots + t * RB), nr, o.act, o.accumulate);
    }
  }
}

void bf16_gemm(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s) {
  const std::int64_t P = pairs(w.cols());
  const auto* xp = static_cast<const std::uint32_t*>(a.converted);
  for (std::int64_t rb = r0; rb < r1; rb += MR) {
    const int nr = static_cast<int>(std::min<std::int64_t>(MR, r1 - rb));
    const std::uint32_t* tile = pack_tile(w, rb, nr, s);
    for (std::int64_t t0 = 0; t0 < T; t0 += NT) {
      const auto nt = static_cast<int>(std::min<std::int64_t>(NT, T - t0));
      kernels[static_cast<std::size_t>(nt - 1)](tile, P, xp + t0 * P, o.y + t0 * o.ldy + rb, o.ldy, nr, o);
    }
  }
}

}  // namespace rwkv::kernels::cpu::avx512
