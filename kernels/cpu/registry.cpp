// Backend registry: maps a backend name to a constructor, scoring what this machine can run.
#include "cpu_backend.hpp"
#include "reference_backend.hpp"

namespace rwkv::kernels {

std::unique_ptr<backend> create_reference_backend() { return std::make_unique<cpu::reference_backend>(); }

std::unique_ptr<backend> create_backend(const backend_options& options, std::string* error) {
  if (options.name == "cpu-reference") return create_reference_backend();
  if (options.name == "auto" || options.name == "cpu") return std::make_unique<cpu::cpu_backend>(options.threads);
  if (error) {
    if (options.name == "cuda")
      *error = "this build has no CUDA backend; configure with -DRWKV_LSP_CUDA=ON on a machine with the CUDA Toolkit";
    else
      *error = "unknown backend '" + options.name + "' (expected auto, cpu, cpu-reference or cuda)";
  }
  return nullptr;
}

}  // namespace rwkv::kernels
