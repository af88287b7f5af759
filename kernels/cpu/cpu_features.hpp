// What this x86-64 CPU (and its OS) can run, detected once at start-up.
//
// The kernel tables of the wider ISAs are compiled per file with their own target flags and are
// only ever called after this says the CPU has those instructions; the rest of the project is
// built for baseline x86-64, so the same binary runs everywhere.
#pragma once

namespace rwkv::kernels::cpu {

struct cpu_features {
  bool avx2 = false;         // AVX2 + FMA + F16C
  bool avx512 = false;       // AVX-512 F/BW/VL/DQ (+ AVX2 set)
  bool avx512_bf16 = false;  // vdpbf16ps, vcvtne2ps2bf16
  bool avx512_vnni = false;  // vpdpbusd
};

// Cached after the first call.
const cpu_features& detect_cpu_features() noexcept;

}  // namespace rwkv::kernels::cpu
