// Microbenchmarks of the machine the kernels run on: the limits `rwkv-lsp bench` compares its
// figures with, measured in the same run (a VM's "58 GB/s" varies with its neighbours).
//
//  * read bandwidth: `threads` threads streaming through a buffer far larger than the last-level
//    cache — what bounds single-token generation (every weight read once per token);
//  * peak arithmetic of one dot instruction on `threads` threads — what bounds prefill.
//
// Both take a fraction of a second and allocate only for their own duration. Call them from one
// thread while no evaluation runs (they use all the threads they are given).
#pragma once

#include <cstddef>
#include <memory>

namespace rwkv::kernels {

enum class dot_instruction {
  fma_f32,   // vfmadd231ps: 2 flops per fp32 lane
  bf16_dot,  // vdpbf16ps: 4 flops per fp32 lane (two bf16 products, two adds)
  int8_dot,  // vpdpbusd: 8 ops per int32 lane (four byte products and their adds)
};

const char* dot_instruction_name(dot_instruction d) noexcept;  // "vfmadd231ps", "vdpbf16ps", "vpdpbusd"

// Best of `reps` passes, in GB/s (1e9 bytes). 0 when the buffer cannot be allocated. A shared
// machine only ever slows a pass (two vCPUs of a VM measured 35-56 GB/s in consecutive runs), so
// the best of many is the machine's figure.
double measure_read_gb_s(int threads, std::size_t bytes = std::size_t{256} << 20, int reps = 12);

// The same probe keeping its buffer (allocated and faulted in once), for readings taken between
// other work: what a VM gives moves within seconds (this one: 36 or 62 GB/s, minutes apart), so a
// generation run is best compared with the bandwidth measured right around it.
class read_probe {
 public:
  explicit read_probe(int threads, std::size_t bytes = std::size_t{256} << 20);
  ~read_probe();
  read_probe(const read_probe&) = delete;
  read_probe& operator=(const read_probe&) = delete;

  bool ok() const noexcept;       // false when the buffer could not be allocated
  double measure(int reps) const;  // best of `reps` passes in GB/s; 0 when !ok()

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

// Sustained GFLOP/s (GOP/s for int8) of the instruction at its widest vector form; 0 when this
// CPU lacks it.
double measure_peak_gflop_s(dot_instruction d, int threads);

}  // namespace rwkv::kernels
