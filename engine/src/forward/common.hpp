// Internal to the engine: what every architecture's forward pass shares — weight loading with
// shape checks, backend-resident vectors, scratch buffers and the per-architecture interface.
#pragma once

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/model.hpp"
#include "kernels/backend.hpp"

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace rwkv::engine {

// An fp32 vector living in backend memory.
class device_vector {
 public:
  device_vector() = default;
  device_vector(kernels::backend& b, const std::vector<float>& host);
  device_vector(device_vector&& o) noexcept : backend_(o.backend_), data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
  }
  device_vector& operator=(device_vector&& o) noexcept;
  ~device_vector();

  const float* get() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  kernels::backend* backend_ = nullptr;
  float* data_ = nullptr;
  std::size_t size_ = 0;
};

// Growable scratch buffers in backend memory, addressed by slot.
struct context::scratch {
  explicit scratch(kernels::backend& b) : backend(b) {}
  ~scratch();
  float* get(std::size_t slot, std::size_t n);

  kernels::backend& backend;
  std::vector<std::pair<float*, std::size_t>> slots;
};

// Fetches tensors by canonical name with the shape checks and the messages users see.
class weight_loader {
 public:
  weight_loader(const tensor_store& store, kernels::backend& backend, const model_config& config,
                std::optional<kernels::dtype> prefer);

  bool has(const std::string& name) const { return store_.contains(name); }
  // Tensor with exactly `numel` elements whatever its shape (RWKV stores vectors as [1,1,C], [H,N]...).
  const tensor& require(const std::string& name, std::int64_t numel);
  // Tensor with exactly this shape.
  const tensor& require_shape(const std::string& name, const std::vector<std::int64_t>& shape);

  device_vector vec(const std::string& name, std::int64_t numel);
  device_vector vec_from(std::vector<float> host);
  std::vector<float> host_vec(const std::string& name, std::int64_t numel);
  // A large matrix [rows][cols] used as stored (memory-mapped) or converted to the preferred type.
  std::unique_ptr<kernels::weight> matrix(const std::string& name, std::int64_t rows, std::int64_t cols);
  // The head: like `matrix`, counted apart (it runs only where logits are asked for).
  std::unique_ptr<kernels::weight> head_matrix(const std::string& name, std::int64_t rows, std::int64_t cols);
  // A small matrix [in][out] (x @ W convention, canonical shape) as [out][in]. BlinkDL files store
  // it [in][out]: it is transposed, keeping its element type (fp32/fp16/bf16; block formats become
  // fp32). Linear-layout files store it [out][in] (`tensor::transposed`): it is used as stored,
  // except block-quantized rows shorter than 256 values, which become fp32 (see below).
  // A requested block type gives these LoRA matrices q8_0: they are small (a few % of the bytes)
  // and feed exponentials (decay), where 4-bit errors would show. Rows shorter than 256 values (the
  // second LoRA stages, 32-128 wide in 0.1B-0.4B models) take bf16 instead: the int8 kernels work
  // in superblocks of 512 values, mostly empty there (0.1B, one thread: 10 us per 768 x 64
  // product in q8_0 against 4 us in bf16).
  std::unique_ptr<kernels::weight> matrix_transposed(const std::string& name, std::int64_t in, std::int64_t out);
  // A matrix that is a slice of a 3-D tensor [n][in][out], transposed to [out][in] as above.
  std::unique_ptr<kernels::weight> matrix_slice_transposed(const std::string& name, std::int64_t n, std::int64_t index,
                                                           std::int64_t in, std::int64_t out);
  // The embedding, used as stored (rows are looked up, never multiplied).
  kernels::matrix embedding(const std::string& name, std::int64_t rows, std::int64_t cols);

  // Throws when the file has tensors that no part of the architecture used (an unknown variant).
  void check_all_used() const;

  std::int64_t params() const noexcept { return params_; }
  kernels::dtype stored_type() const noexcept { return stored_type_; }
  std::size_t owned_bytes() const noexcept { return owned_bytes_; }
  std::size_t bytes_per_token() const noexcept { return bytes_per_token_; }
  // Weights multiplied per token in sequence mode (all matrices but the head), and the head's.
  std::int64_t matmul_params() const noexcept { return matmul_params_; }
  std::int64_t head_params() const noexcept { return head_params_; }
  // Encoding of the large matrices in memory (after any conversion the backend made).
  kernels::dtype memory_type() const noexcept { return memory_type_; }

 private:
  std::string what() const;
  // The type a requested weight type gives a LoRA matrix with rows of `in` values (see above).
  std::optional<kernels::dtype> lora_type(std::int64_t in) const;
  // Tensor `name` ([rows][cols]) prepared in the preferred type, counted as `prepare` does.
  std::unique_ptr<kernels::weight> stored_matrix(const std::string& name, std::int64_t rows, std::int64_t cols);
  // A matrix for the backend, in `want` or as it is, counted (parameters, memory, bytes per
  // token); `stored`'s file pages are released when the backend made its own copy.
  std::unique_ptr<kernels::weight> prepare(const kernels::matrix& m, std::optional<kernels::dtype> want,
                                           const tensor* stored);

  const tensor_store& store_;
  kernels::backend& backend_;
  const model_config& config_;
  std::optional<kernels::dtype> prefer_;
  std::set<std::string> used_;
  std::vector<std::shared_ptr<std::vector<float>>> owned_f32_;
  std::int64_t params_ = 0;
  std::size_t owned_bytes_ = 0;
  std::size_t bytes_per_token_ = 0;
  std::int64_t matmul_params_ = 0, head_params_ = 0;
  kernels::dtype stored_type_ = kernels::dtype::f32;
  kernels::dtype memory_type_ = kernels::dtype::f32;
  bool stored_type_set_ = false;

  friend class model;

 public:
  // Keeps converted host copies (transposed LoRAs) alive for borrowed weights.
  std::vector<std::shared_ptr<std::vector<float>>> take_owned() { return std::move(owned_f32_); }
};

// One architecture's weights and forward pass.
struct model::impl {
  virtual ~impl() = default;

  // Runs T tokens through the network starting from `state` (backend memory, updated in place).
  // When `logits` is non-null, writes logits for the last token (all_rows false) or every token.
  virtual void forward(context::scratch& s, const std::int32_t* ids, std::int64_t T, float* state, float* logits,
                       bool all_rows) const = 0;

  std::size_t bytes_per_token = 0;
  std::size_t owned_bytes = 0;
  std::int64_t matmul_params = 0, head_params = 0;
  std::vector<std::shared_ptr<std::vector<float>>> host_copies;
};

// Shared tail of every architecture: embedding (+ ln0) at the start, ln_out + head at the end.
struct io_weights {
  kernels::matrix emb;
  device_vector ln0_w, ln0_b, ln_out_w, ln_out_b;
  std::unique_ptr<kernels::weight> head;

  void load(weight_loader& l, const model_config& c);
  // x[T][C] = ln0(emb[ids])
  void embed(kernels::backend& b, const std::int32_t* ids, std::int64_t T, std::int64_t C, float* x) const;
  // logits = head(ln_out(x)) for the last row or every row; `tmp` holds T×C floats.
  void head_logits(kernels::backend& b, const float* x, std::int64_t T, std::int64_t C, float* tmp, float* logits,
                   bool all_rows) const;
};

// The channel mix of RWKV-4/5/6: x += sigmoid(Wr xr) * Wv relu(Wk xk)^2, with token-shift mixes.
// `complement_mix` turns RWKV-4/5 time_mix (x*m + prev*(1-m)) into the x + (prev-x)*m form.
struct receptance_ffn {
  device_vector mix_k, mix_r;
  std::unique_ptr<kernels::weight> key, receptance, value;

  void load(weight_loader& l, const model_config& c, const std::string& prefix, const std::string& mix_name,
            bool complement_mix);
  // Uses scratch slots first_slot .. first_slot+4.
  void forward(kernels::backend& b, context::scratch& s, std::size_t first_slot, float* x, const float* ln_w,
               const float* ln_b, float* prev, std::int64_t T, std::int64_t C, std::int64_t F) const;
};

// 1 - v, element-wise (RWKV-4/5 time_mix to the shift-difference form).
std::vector<float> complement(std::vector<float> v);

std::unique_ptr<model::impl> make_v4(weight_loader& l, const model_config& c, kernels::backend& b);
std::unique_ptr<model::impl> make_v5_v6(weight_loader& l, const model_config& c, kernels::backend& b);
std::unique_ptr<model::impl> make_v7(weight_loader& l, const model_config& c, kernels::backend& b);

inline constexpr float layer_norm_eps = 1e-5f;
inline constexpr float group_norm_eps = 64e-5f;

}  // namespace rwkv::engine
