// The operations one instruction set implements for the CPU backend: a table of plain functions,
// filled by the translation units compiled for that ISA (avx512/, avx2/) and by the portable
// fallback, and chosen once at start-up by CPU feature detection (cpu_features.hpp).
//
// Null element-wise entries mean "use the scalar reference"; matmul entries are always set.
// Every function here is noexcept in spirit: kernels never throw and never allocate, except that
// a thread's scratch grows the first time a larger shape arrives.
#pragma once

#include "cpu_weight.hpp"
#include "kernels/backend.hpp"

#include <cstdint>

namespace rwkv::kernels::cpu {

// The arithmetic a product uses, chosen per weight from its layout and the precision policy.
enum class dot_path : std::uint8_t {
  f32,   // fp32 FMA on dequantized weights (exact precision; fp32 weights)
  bf16,  // vdpbf16ps: bf16 weights x activations rounded to bf16
  int8,  // vpdpbusd: q8/q5/q4 quants x activations quantized to int8 per token and 32-block
};

// A product's activations: fp32 as given, and (for the dot paths and for gemm) the form the
// kernels read, converted once per product by the ISA's `convert_acts` into backend scratch.
// The converted layout is private to the ISA's kernels. What matters outside is the rounding:
//  * bf16 path: every value rounded to the nearest bf16 (ties to even);
//  * int8 path: per token and block of 32 values, d = max|x| / 127 and q = round_even(x * (1/d))
//    (q = 0 when the block is all zeros); the product then uses x ~ q * d.
// Both are the same for gemv and gemm, which is what keeps T = 1 and T > 1 consistent.
struct act_view {
  const float* x = nullptr;
  std::int64_t ldx = 0;
  const void* converted = nullptr;
};

struct out_view {
  float* y = nullptr;
  std::int64_t ldy = 0;
  activation act = activation::none;
  bool accumulate = false;
};

// Per-thread scratch of the matmul kernels (packed tiles, decoded rows), grown at first use.
struct thread_scratch {
  aligned_bytes tile;
  aligned_bytes rows;
};

// Rows [r0, r1) of y[t] = act(W x[t]) for t < T.
using matmul_fn = void (*)(const cpu_weight& w, dot_path path, const act_view& a, std::int64_t T, std::int64_t r0,
                           std::int64_t r1, const out_view& o, thread_scratch& s);

struct kernel_table {
  const char* isa = "scalar";
  bool bf16_dot = false;  // has a bf16 dot path (AVX512_BF16)
  bool int8_dot = false;  // has an int8 dot path (AVX512_VNNI)
  bool f16_panels = false;  // runs fp16 column panels, activations rounded to fp16 (cpu_weight.hpp)

  // gemv: row dot products straight from the stored rows, several rows at a time; best for few
  // tokens (generation). gemm: packs `gemm_rows` rows into a tile in cache and runs a
  // register-tiled kernel over all T tokens; best from `gemm_min_tokens` on. Both compute the
  // same dot products with the same input rounding (bit-identical results); r0 of a gemm call is
  // a multiple of the path's task rows.
  matmul_fn gemv = nullptr;
  matmul_fn gemm = nullptr;
  std::int64_t gemm_min_tokens = 1 << 30;
  std::int64_t gemm_rows = 32;        // rows per gemm task on the int8 path (its packed tile)
  std::int64_t gemm_rows_dense = 48;  // rows per gemm task on the f32/bf16 paths (whole register tiles)

  // Bytes of converted activations for a product over T tokens of K columns (0: none needed),
  // and the conversion itself into `out` (64-byte aligned, at least act_bytes long).
  std::size_t (*act_bytes)(dot_path path, bool gemm, std::int64_t T, std::int64_t K) = nullptr;
  void (*convert_acts)(dot_path path, bool gemm, const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K,
                       void* out) = nullptr;
  // Converted activations are laid out in token groups that divide this: converting tokens
  // [t0, t1) with t0 a multiple of it writes at out + act_bytes(path, gemm, t0, K), so the backend
  // may split a long conversion across threads.
  std::int64_t act_group = 48;

  // Element-wise operations, same contracts as kernels::backend.
  void (*layer_norm)(const float* x, const float* w, const float* b, float* y, std::int64_t T, std::int64_t C,
                     float eps) = nullptr;
  void (*group_norm)(const float* x, const float* w, const float* b, float* y, std::int64_t T, std::int64_t C,
                     std::int64_t G, float eps) = nullptr;
  void (*token_shift)(const float* x, float* prev, float* dx, std::int64_t T, std::int64_t C) = nullptr;
  void (*mix)(const float* x, const float* dx, const float* const* mixes, float* const* outs, int n, std::int64_t T,
              std::int64_t C) = nullptr;
  void (*mix_dynamic)(const float* x, const float* dx, const float* mix, const float* dyn, std::int64_t ld_dyn,
                      float* out, std::int64_t T, std::int64_t C) = nullptr;
  void (*mul)(const float* a, const float* b, float* y, std::int64_t n) = nullptr;
  void (*add_mul)(const float* a, const float* b, float* y, std::int64_t n) = nullptr;
  void (*wkv4)(std::int64_t T, std::int64_t C, const float* decay, const float* first, const float* k,
               const float* v, float* aa, float* bb, float* pp, float* y) = nullptr;
  void (*rwkv6_decay)(float* w, const float* time_decay, std::int64_t T, std::int64_t C) = nullptr;
  void (*rwkv7_prepare)(const backend::rwkv7_prepare_args& args) = nullptr;
  void (*rwkv7_finish)(float* y, const float* r, const float* k, const float* v, const float* r_k, const float* g,
                       std::int64_t T, std::int64_t H, std::int64_t N) = nullptr;
  // The recurrences for heads [h0, h1) only, so the backend can split heads across threads.
  void (*wkv5)(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* k, const float* v,
               const float* w, bool w_per_token, const float* u, float* state, float* y, std::int64_t h0,
               std::int64_t h1) = nullptr;
  void (*wkv7)(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* w, const float* k,
               const float* v, const float* a, const float* b, float* state, float* y, std::int64_t h0,
               std::int64_t h1) = nullptr;
};

// The portable table (plain C++ loops; matmul by dequantized rows, fp32).
const kernel_table& scalar_kernels();
// The tables of the SIMD builds; null when this build lacks them (non-x86 compilers).
const kernel_table* avx2_kernels();
const kernel_table* avx512_kernels();

}  // namespace rwkv::kernels::cpu
