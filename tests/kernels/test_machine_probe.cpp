// The machine probes `rwkv-lsp bench` reports: plausible, positive figures on this machine (the
// values themselves depend on the machine and its load, so only their sanity is pinned down).
#include "kernels/machine_probe.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace rwkv::kernels;

TEST_CASE("the read-bandwidth probe measures a plausible figure", "[kernels][probe]") {
  const double gb_s = measure_read_gb_s(1, std::size_t{64} << 20, 2);
  CHECK(gb_s > 0.5);    // any machine streams faster than this
  CHECK(gb_s < 2000);   // and none this fast from DRAM
}

TEST_CASE("the dot-instruction probes report what the CPU can run", "[kernels][probe]") {
  const double fma = measure_peak_gflop_s(dot_instruction::fma_f32, 1);
  const double bf16 = measure_peak_gflop_s(dot_instruction::bf16_dot, 1);
  const double int8 = measure_peak_gflop_s(dot_instruction::int8_dot, 1);
  CHECK(fma >= 0);
  CHECK(bf16 >= 0);
  CHECK(int8 >= 0);
  // Where a probe runs, the wider dot instructions do at least as many operations per instruction.
  if (fma > 0 && bf16 > 0) CHECK(bf16 > 0.5 * fma);
  CHECK(std::string(dot_instruction_name(dot_instruction::bf16_dot)) == "vdpbf16ps");
}
