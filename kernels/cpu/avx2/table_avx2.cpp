// The AVX2+FMA kernel table: the generic kernels (simd/*.inc) compiled for 8 lanes. AVX2 has no
// bf16 or int8 dot instruction worth using here, so both precisions compute as "exact" (fp32 FMA
// on dequantized weights) — which keeps T = 1 and T > 1 consistent trivially.
#include "simd/vec_avx2.hpp"
#define RWKV_CPU_ISA avx2
#include "simd/vec_math.hpp"
// The generic kernels, instantiated for this ISA's namespace.
#include "simd/elementwise.inc"
#include "simd/matmul_f32.inc"
#include "simd/wkv.inc"

namespace rwkv::kernels::cpu {

namespace avx2 {
namespace {

std::size_t act_bytes(dot_path, bool, std::int64_t, std::int64_t) {
  return 0;  // fp32 rows are read in place
}

void convert_acts(dot_path, bool, const float*, std::int64_t, std::int64_t, std::int64_t, void*) {}

void gemv(const cpu_weight& w, dot_path, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
          const out_view& o, thread_scratch& s) {
  f32mm::rows(w, a, T, r0, r1, o, s, 1 << 30);
}

void gemm(const cpu_weight& w, dot_path, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
          const out_view& o, thread_scratch& s) {
  f32mm::rows(w, a, T, r0, r1, o, s, 0);
}

}  // namespace
}  // namespace avx2

const kernel_table* avx2_kernels() {
  static const kernel_table table = [] {
    kernel_table k;
    k.isa = "avx2-fma";
    k.f16_panels = true;
    k.gemv = avx2::gemv;
    k.gemm = avx2::gemm;
    k.gemm_min_tokens = 4;
    k.gemm_rows = 48;
    k.act_bytes = avx2::act_bytes;
    k.convert_acts = avx2::convert_acts;
    k.layer_norm = avx2::ew::layer_norm;
    k.group_norm = avx2::ew::group_norm;
    k.token_shift = avx2::ew::token_shift;
    k.mix = avx2::ew::mix;
    k.mix_dynamic = avx2::ew::mix_dynamic;
    k.mul = avx2::ew::mul;
    k.add_mul = avx2::ew::add_mul;
    k.rwkv6_decay = avx2::ew::rwkv6_decay;
    k.rwkv7_prepare = avx2::ew::rwkv7_prepare;
    k.rwkv7_finish = avx2::ew::rwkv7_finish;
    k.wkv4 = avx2::wkv::wkv4;
    k.wkv5 = avx2::wkv::wkv5;
    k.wkv7 = avx2::wkv::wkv7;
    return k;
  }();
  return &table;
}

}  // namespace rwkv::kernels::cpu
