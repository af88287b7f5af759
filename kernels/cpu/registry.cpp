// Backend registry: maps a backend name to a constructor, scoring what this machine can run.
#include "cpu_backend.hpp"
#include "cpu_features.hpp"
#include "reference_backend.hpp"

namespace rwkv::kernels {

const char* precision_name(precision p) noexcept { return p == precision::fast ? "fast" : "exact"; }

std::unique_ptr<backend> create_reference_backend() { return std::make_unique<cpu::reference_backend>(); }

namespace {

// The kernel table for an ISA request: "auto" takes the widest this CPU runs.
const cpu::kernel_table* cpu_kernels(const std::string& isa, std::string* error) {
  const auto& f = cpu::detect_cpu_features();
  auto fail = [&](const std::string& why) -> const cpu::kernel_table* {
    if (error) *error = why;
    return nullptr;
  };
  if (isa == "auto") {
    if (f.avx512 && cpu::avx512_kernels()) return cpu::avx512_kernels();
    if (f.avx2 && cpu::avx2_kernels()) return cpu::avx2_kernels();
    return &cpu::scalar_kernels();
  }
  if (isa == "avx512") {
    if (!f.avx512 || !cpu::avx512_kernels()) return fail("this CPU (or build) has no AVX-512 F/BW/VL/DQ; use --isa auto");
    return cpu::avx512_kernels();
  }
  if (isa == "avx2") {
    if (!f.avx2 || !cpu::avx2_kernels()) return fail("this CPU (or build) has no AVX2+FMA+F16C; use --isa auto");
    return cpu::avx2_kernels();
  }
  if (isa == "scalar") return &cpu::scalar_kernels();
  return fail("unknown isa '" + isa + "' (expected auto, avx512, avx2 or scalar)");
}

}  // namespace

std::unique_ptr<backend> create_backend(const backend_options& options, std::string* error) {
  if (options.name == "cpu-reference") return create_reference_backend();
  if (options.name == "auto" || options.name == "cpu") {
    const cpu::kernel_table* k = cpu_kernels(options.isa, error);
    if (!k) return nullptr;
    return std::make_unique<cpu::cpu_backend>(options.threads, *k, options.precision, options.huge_page_weights);
  }
  if (error) {
    if (options.name == "cuda")
      *error = "rwkv-lsp has no CUDA backend yet; use auto or cpu";
    else
      *error = "unknown backend '" + options.name + "' (expected auto, cpu or cpu-reference)";
  }
  return nullptr;
}

}  // namespace rwkv::kernels
