#include "cpu_features.hpp"

namespace rwkv::kernels::cpu {

const cpu_features& detect_cpu_features() noexcept {
  static const cpu_features f = [] {
    cpu_features r;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV).
    __builtin_cpu_init();
    r.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    r.avx512 = r.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    r.avx512_bf16 = r.avx512 && __builtin_cpu_supports("avx512bf16");
    r.avx512_vnni = r.avx512 && __builtin_cpu_supports("avx512vnni");
#endif
    return r;
  }();
  return f;
}

}  // namespace rwkv::kernels::cpu
