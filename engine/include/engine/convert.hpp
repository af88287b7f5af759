// Writing a model read in any format (tensor_store, canonical BlinkDL vocabulary) to another file:
//
// * GGUF in llama.cpp's layout for its "rwkv6" and "rwkv7" architectures — the tensor names,
//   shapes, fused lerp tensors, metadata keys and 32-byte alignment its converter
//   (convert_hf_to_gguf.py) produces, so llama.cpp can load what we write and we read it back.
//   llama.cpp has no RWKV-4 or RWKV-5 architecture: those models are refused for GGUF.
// * safetensors with BlinkDL key names and shapes (any RWKV version).
//
// Encodings per tensor (GGUF): the large projection matrices take `dtype`; the embedding and head
// take `head_dtype`; norms, mixing vectors, decays and time_first stay fp32. The LoRA matrices
// take f32 or bf16 when `dtype` is one of those, else f16: never a block type (they are small and
// feed exponentials, and llama.cpp's own quantizer leaves them alone), but not fp32 either, which
// would make them 14% of a q8_0 0.1B model's bytes per token (f16: 7%; BlinkDL's checkpoints hold
// them in bf16). A matrix whose rows do not fit the block size falls back to f16.
//
// Called from one thread; the source store is only read.
#pragma once

#include "engine/tensor_store.hpp"
#include "kernels/dtype.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace rwkv::engine {

enum class output_format : std::uint8_t { gguf, safetensors };

struct convert_options {
  output_format format = output_format::gguf;
  // Large matrices: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1 (GGUF); f32, f16, bf16 (safetensors).
  kernels::dtype dtype = kernels::dtype::f32;
  // Embedding and head; unset: `dtype` when it is a float type, q8_0 when `dtype` is quantized
  // (the head is the most quantization-sensitive matrix; llama.cpp keeps it at higher precision).
  std::optional<kernels::dtype> head_dtype;
  // A World vocabulary file to embed in GGUF (tokenizer.ggml.model "rwkv"). Unset: the source's
  // own embedded vocabulary, else rwkv_vocab_v20230424.txt found beside the source for 65536-token
  // models, else none.
  std::string vocab_path;
  // Called after each tensor is written: (tensors done, tensor count, name). May be empty.
  std::function<void(std::size_t, std::size_t, const std::string&)> progress;
};

struct convert_summary {
  std::size_t tensors = 0;
  std::uint64_t bytes = 0;                         // file size
  std::map<std::string, std::size_t> tensor_types;  // encoding name -> count
  bool vocabulary = false;                          // a vocabulary was embedded (GGUF)
};

// Writes `source` to `path` (replaced atomically: written beside it, then renamed). Throws
// engine::error: unsupported (a version or encoding the format cannot hold), bad_argument,
// bad_model (the tensors are not a model), io.
convert_summary write_model(const tensor_store& source, const std::string& path, const convert_options& options);

}  // namespace rwkv::engine
