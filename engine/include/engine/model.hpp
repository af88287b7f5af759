// A loaded RWKV model: hyper-parameters, weights prepared for a compute backend, and the state
// layout it evaluates with. Evaluation itself goes through engine::context (context.hpp).
//
// A model is immutable once loaded and is shared (std::shared_ptr<const model>) by every document
// and context; contexts serialize their use of the backend through the model's evaluation lock.
#pragma once

#include "engine/state.hpp"
#include "engine/tensor_store.hpp"
#include "kernels/backend.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace rwkv::engine {

// The numeric values are stored in state and session files: append, never reorder.
//   v5_0: RWKV-5.0 — per-head decay, time_first (u = exp(time_first)), no gate (rwkv.cpp calls it 5.1)
//   v5_1: RWKV-5.1 — as 5.0 plus the silu gate
//   v5_2: RWKV-5.2 "Eagle" — per-channel decay and time_faaaa, gate
enum class architecture : std::uint8_t { v4, v5_2, v6, v7, v5_0, v5_1 };

// "4", "5.0", "5.1", "5.2", "6", "7"
const char* architecture_name(architecture a) noexcept;

struct model_config {
  architecture arch = architecture::v7;
  int n_layer = 0;
  int n_embd = 0;
  int n_head = 0;     // 0 for v4 (no heads)
  int head_size = 0;  // 0 for v4
  int n_ffn = 0;
  int n_vocab = 0;
  // LoRA ranks, 0 where the architecture has none.
  int lora_mix = 0;    // v6 time_maa_w1 rank (per interpolation)
  int lora_decay = 0;  // v6 time_decay_w1, v7 w1
  int lora_aaa = 0;    // v7 a1
  int lora_value = 0;  // v7 v1
  int lora_gate = 0;   // v7 g1
};

// Recognises the architecture and hyper-parameters from tensors in the canonical (BlinkDL)
// vocabulary, as model::load does. Throws engine::error(bad_model / unsupported).
model_config config_from_tensors(const tensor_store& tensors);

struct load_options {
  kernels::backend_options backend;
  // Encoding of the large matrices in memory; unset keeps what the file stores (memory-mapped).
  std::optional<kernels::dtype> weight_type;
  // Called with (fraction 0..1) while weights are prepared; may be empty.
  std::function<void(float)> progress;
};

class model {
 public:
  // Reads any supported model file (format recognised by content) and prepares it for the
  // backend; "" or "builtin" is the model built into this build (engine/embedded_model.hpp).
  // Throws engine::error with a message telling the user what to do.
  static std::shared_ptr<const model> load(const std::string& path, const load_options& options = {});
  static std::shared_ptr<const model> from_store(tensor_store store, const load_options& options = {});

  ~model();
  model(const model&) = delete;
  model& operator=(const model&) = delete;

  const model_config& config() const noexcept { return config_; }
  const std::string& format() const noexcept { return store_.format; }
  const std::string& source() const noexcept { return store_.source; }
  const tensor_store& tensors() const noexcept { return store_; }
  // Stored type of the large matrices ("weights_dtype" in `info`).
  kernels::dtype weights_dtype() const noexcept { return stored_type_; }
  // Type the large matrices use in memory (differs when load_options::weight_type converted them).
  kernels::dtype compute_weights_dtype() const noexcept { return memory_type_; }
  std::int64_t n_params() const noexcept { return n_params_; }
  // Bytes read from weights for one generated token (all layer matrices + head).
  std::size_t bytes_per_token() const noexcept;
  // Memory the prepared weights added on top of the mapped file.
  std::size_t owned_weight_bytes() const noexcept;
  // Weights multiplied per token: 2x this is the matmul FLOPs of one token in sequence mode
  // (where the head runs only for the last token of a chunk) or, with the head, in generation.
  std::int64_t matmul_params(bool with_head) const noexcept;
  // Identifies the model for saved states: hash of the configuration and the weights' bytes.
  std::uint64_t fingerprint() const noexcept { return fingerprint_; }
  kernels::backend_info backend_info() const;

  state_layout layout() const noexcept;
  // The state before any token: zeros, except RWKV-4's pp = -1e30.
  state initial_state() const;

  struct impl;  // per-architecture weights and forward pass (engine/src/forward)

 private:
  friend class context;
  model(tensor_store store, const load_options& options);

  tensor_store store_;
  model_config config_;
  kernels::dtype stored_type_ = kernels::dtype::f32;
  kernels::dtype memory_type_ = kernels::dtype::f32;
  std::int64_t n_params_ = 0;
  std::uint64_t fingerprint_ = 0;
  std::unique_ptr<kernels::backend> backend_;
  std::unique_ptr<impl> impl_;
  mutable std::mutex eval_mutex_;  // one evaluation at a time on the backend
};

}  // namespace rwkv::engine
