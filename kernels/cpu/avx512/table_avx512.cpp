// The AVX-512 kernel table: the generic kernels (simd/*.inc) compiled for 16 lanes, plus the
// bf16 and int8 dot products (matmul_bf16.cpp, matmul_int8.cpp) when the CPU has them.
#include "avx512/dot_kernels.hpp"
#include "cpu_features.hpp"
#include "simd/vec_avx512.hpp"
#define RWKV_CPU_ISA avx512
#include "simd/vec_math.hpp"
// The generic kernels, instantiated for this ISA's namespace.
#include "simd/elementwise.inc"
#include "simd/matmul_f32.inc"
#include "simd/wkv.inc"

namespace rwkv::kernels::cpu {

namespace avx512 {
namespace {

// Rows of quantized layouts as fp32 for the fp32 products: the interleaved layouts' vectorized
// decoder lives in the VNNI-flagged file (used only where VNNI exists), K-quants have their own.
bool int8_decoder = false;
void decoder(const cpu_weight& w, std::int64_t r, float* out) {
  const layout l = w.lay();
  if (is_int8_layout(l)) {
    if (int8_decoder && l != layout::q6) return int8_decode_row(w, r, out);
    return w.decode_row(r, out);  // q6 exists only where its int8 kernels run
  }
  kquant_decode_row(w, r, out);
}

std::size_t act_bytes(dot_path path, bool gemm, std::int64_t T, std::int64_t K) {
  switch (path) {
    case dot_path::bf16: return bf16_act_bytes(gemm, T, K);
    case dot_path::int8: return int8_act_bytes(gemm, T, K);
    default: return 0;  // fp32 rows are read in place
  }
}

void convert_acts(dot_path path, bool gemm, const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K,
                  void* out) {
  switch (path) {
    case dot_path::bf16: return bf16_convert(gemm, x, ldx, T, K, out);
    case dot_path::int8: return int8_convert(gemm, x, ldx, T, K, out);
    default: return;
  }
}

void gemv(const cpu_weight& w, dot_path path, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
          const out_view& o, thread_scratch& s) {
  switch (path) {
    case dot_path::bf16: return bf16_gemv(w, a, T, r0, r1, o, s);
    case dot_path::int8: return int8_gemv(w, a, T, r0, r1, o, s);
    default: return f32mm::rows(w, a, T, r0, r1, o, s, 1 << 30, decoder);
  }
}

void gemm(const cpu_weight& w, dot_path path, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
          const out_view& o, thread_scratch& s) {
  switch (path) {
    case dot_path::bf16: return bf16_gemm(w, a, T, r0, r1, o, s);
    case dot_path::int8: return int8_gemm(w, a, T, r0, r1, o, s);
    default: return f32mm::rows(w, a, T, r0, r1, o, s, 0, decoder);
  }
}

}  // namespace
}  // namespace avx512

const kernel_table* avx512_kernels() {
  static const kernel_table table = [] {
    const cpu_features f = detect_cpu_features();
    kernel_table k;
    k.bf16_dot = f.avx512_bf16;
    k.int8_dot = f.avx512_vnni;
    k.f16_panels = true;
    avx512::int8_decoder = k.int8_dot;
    k.isa = k.bf16_dot && k.int8_dot ? "avx512-bf16-vnni" : k.bf16_dot ? "avx512-bf16" : k.int8_dot ? "avx512-vnni" : "avx512";
    k.gemv = avx512::gemv;
    k.gemm = avx512::gemm;
    k.gemm_min_tokens = 4;
    k.gemm_rows = 32;
    k.act_bytes = avx512::act_bytes;
    k.convert_acts = avx512::convert_acts;
    k.layer_norm = avx512::ew::layer_norm;
    k.group_norm = avx512::ew::group_norm;
    k.token_shift = avx512::ew::token_shift;
    k.mix = avx512::ew::mix;
    k.mix_dynamic = avx512::ew::mix_dynamic;
    k.mul = avx512::ew::mul;
    k.add_mul = avx512::ew::add_mul;
    k.rwkv6_decay = avx512::ew::rwkv6_decay;
    k.rwkv7_prepare = avx512::ew::rwkv7_prepare;
    k.rwkv7_finish = avx512::ew::rwkv7_finish;
    k.wkv4 = avx512::wkv::wkv4;
    k.wkv5 = avx512::wkv::wkv5;
    k.wkv7 = avx512::wkv::wkv7;
    return k;
  }();
  return &table;
}

}  // namespace rwkv::kernels::cpu
