// Random-weight models with the real key names and shapes of every architecture, built in memory.
//
// Used by `rwkv-lsp bench --random-shape` (benchmarks without downloads) and by tests that check
// shapes, dtypes and sequence lengths the golden files do not cover. Values are scaled so that
// activations stay in the range real models have (no overflow in long sequences).
#pragma once

#include "engine/model.hpp"
#include "engine/tensor_store.hpp"
#include "kernels/dtype.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace rwkv::engine {

struct random_model_spec {
  architecture arch = architecture::v7;
  int n_layer = 2;
  int n_embd = 128;
  int n_vocab = 512;
  int n_ffn = 0;        // 0 = the architecture's default (3.5x for v5/v6, 4x otherwise)
  int head_size = 64;
  int lora_mix = 32, lora_decay = 64, lora_aaa = 64, lora_value = 32, lora_gate = 128;
  kernels::dtype matrix_type = kernels::dtype::f32;  // large matrices; vectors are always f32
  std::uint64_t seed = 1;
};

// The RWKV-7 shapes people run: "0.1b" (12x768), "0.4b" (24x1024), "1.5b" (24x2048), "2.9b"
// (32x2560), all with vocab 65536. nullopt for an unknown name.
std::optional<random_model_spec> random_model_shape(const std::string& name);

tensor_store make_random_model(const random_model_spec& spec);

}  // namespace rwkv::engine
