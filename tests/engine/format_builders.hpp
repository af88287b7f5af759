// Builders for model-file fixtures: rwkv.cpp records (and rwkv.cpp's converter redone in C++),
// GGUF byte images with every field under the test's control, and safetensors images — so tests
// make valid and hostile files at run time instead of committing binaries.
#pragma once

#include "engine/tensor_store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace rwkv::test {

using bytes = std::vector<std::uint8_t>;

bytes read_file_bytes(const std::string& path);
void write_file_bytes(const std::string& path, const bytes& data);

// --- rwkv.cpp ----------------------------------------------------------------------------------

// rwkv.cpp type codes: 0 FP32, 1 FP16, 2 Q4_0, 3 Q4_1, 7 Q5_0, 8 Q5_1, 9 Q8_0.
struct rwkvcpp_tensor {
  std::string name;
  std::uint32_t type = 0;
  std::vector<std::uint32_t> ne;  // ggml order
  bytes data;
};

struct rwkvcpp_image {
  std::uint32_t version = 101, n_vocab = 0, n_embed = 0, n_layer = 0, data_type = 0;
  std::vector<rwkvcpp_tensor> tensors;
};

bytes write_rwkvcpp(const rwkvcpp_image& image);
rwkvcpp_image parse_rwkvcpp(const bytes& file);  // a valid file; REQUIREs on anything else
std::uint32_t rwkvcpp_type_code(kernels::dtype t);

// rwkv.cpp's quantizer: 2-D FP32/FP16 tensors except emb and head are quantized with ggml's
// reference rounding, the rest is copied. Which 2-D tensors: rwkv_quantize.inc as read through
// search quantizes all of them, but the expected sums of rwkv.cpp's RWKV-7 test are those of files
// whose LoRA matrices (att.w1 .. att.g2) and att.r_k stayed as they were: quantizing only the
// ".weight" matrices reproduces all ten of its quantized sums to within 0.3%, quantizing the
// LoRAs too moves them by up to 0.0066 (q4_1: 0.0045 against 0.0026; see
// test_formats_rwkvcpp.cpp). `all_2d` quantizes every 2-D tensor.
rwkvcpp_image quantize_rwkvcpp(const rwkvcpp_image& in, kernels::dtype type, bool all_2d = false);

// rwkv.cpp's converter (python/convert_pytorch_to_ggml.py, with the RWKV-7 changes seen in its
// test models) applied to a BlinkDL state dict: squeezed .time_* tensors, v4 -exp(time_decay),
// v5 exp(-exp(time_decay)), v6 transposes, v7 x_rwkvag and transposed LoRAs. `fp16` stores
// matrices (not .time_* tensors) as FP16, as the converter does.
rwkvcpp_image rwkvcpp_from_blinkdl(const engine::tensor_store& store, bool fp16);

// --- GGUF --------------------------------------------------------------------------------------

class gguf_builder {
 public:
  gguf_builder& u32(const std::string& key, std::uint32_t v);
  gguf_builder& str(const std::string& key, const std::string& v);
  gguf_builder& strings(const std::string& key, const std::vector<std::string>& v);
  // Appends raw bytes as one key/value record (type and value written by the caller).
  gguf_builder& raw_kv(const std::string& key, std::uint32_t type, const bytes& value);
  // A tensor whose data follows the previous one at the next aligned offset (or at `offset`).
  gguf_builder& tensor(const std::string& name, std::uint32_t ggml_type, std::vector<std::uint64_t> ne, const bytes& data,
                       std::int64_t offset = -1);

  // Counts default to the real ones; `alignment` must match general.alignment if that key is set.
  bytes build(std::uint32_t version = 3, std::uint32_t alignment = 32, std::int64_t tensor_count = -1,
              std::int64_t kv_count = -1) const;

 private:
  struct info {
    std::string name;
    std::uint32_t type;
    std::vector<std::uint64_t> ne;
    bytes data;
    std::int64_t offset;
  };
  bytes kv_;
  std::uint64_t n_kv_ = 0;
  std::vector<info> tensors_;
};

// --- safetensors -------------------------------------------------------------------------------

// u64 header length + header text + data.
bytes safetensors_image(const std::string& header_json, const bytes& data);

// A tensor's values as fp32 (any stored type), row-major.
std::vector<float> values_of(const engine::tensor& t);

}  // namespace rwkv::test
