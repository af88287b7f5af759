// The portable kernel table: what the CPU backend runs on a machine without AVX2 (or when asked
// for isa "scalar"). Products dequantize each row once and reuse it for all T tokens, in fp32 —
// both precisions compute as "exact". Element-wise operations fall back to the reference.
#include "kernel_table.hpp"
#include "reference_backend.hpp"

namespace rwkv::kernels::cpu {

namespace {

void rows_fp32(const cpu_weight& w, dot_path, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s) {
  const std::int64_t K = w.cols();
  s.rows.reserve(static_cast<std::size_t>(K) * sizeof(float));
  auto* row = reinterpret_cast<float*>(s.rows.data());
  for (std::int64_t r = r0; r < r1; ++r) {
    w.decode_row(r, row);
    for (std::int64_t t = 0; t < T; ++t) {
      const float* xt = a.x + t * a.ldx;
      float acc = 0;
      for (std::int64_t c = 0; c < K; ++c) acc += row[c] * xt[c];
      const float v = apply_activation(o.act, acc);
      float& out = o.y[t * o.ldy + r];
      out = o.accumulate ? out + v : v;
    }
  }
}

std::size_t no_bytes(dot_path, bool, std::int64_t, std::int64_t) { return 0; }
void no_conversion(dot_path, bool, const float*, std::int64_t, std::int64_t, std::int64_t, void*) {}

}  // namespace

const kernel_table& scalar_kernels() {
  static const kernel_table table = [] {
    kernel_table k;
    k.isa = "scalar";
    k.gemv = rows_fp32;
    k.gemm = rows_fp32;
    k.act_bytes = no_bytes;
    k.convert_acts = no_conversion;
    return k;
  }();
  return table;
}

}  // namespace rwkv::kernels::cpu
