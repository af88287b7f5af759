// Builds for other architectures or compilers: no SIMD tables, the portable one serves.
#include "kernel_table.hpp"

namespace rwkv::kernels::cpu {

const kernel_table* avx2_kernels() { return nullptr; }
const kernel_table* avx512_kernels() { return nullptr; }

}  // namespace rwkv::kernels::cpu
