// Internal to the engine: the file writers behind engine::write_model (convert.hpp), and what
// they share — a planned output tensor, encoding fp32 values into any writable type, and a file
// that replaces its target only once it is complete.
#pragma once

#include "engine/convert.hpp"

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace rwkv::engine::formats {

// One tensor of the output: its bytes are produced only when written, one tensor at a time.
struct planned_tensor {
  std::string name;
  kernels::dtype type = kernels::dtype::f32;
  std::vector<std::int64_t> shape;  // PyTorch order
  const tensor* as_stored = nullptr;  // copy these bytes unchanged (type and layout already match)
  std::function<std::vector<float>()> values;  // otherwise: fp32 values, encoded to `type`

  std::uint64_t nbytes() const;
  std::vector<std::uint8_t> encode() const;
};

// Writes to "<path>.partial" and renames it over `path` on commit(); removes it otherwise.
class output_file {
 public:
  explicit output_file(const std::string& path);
  ~output_file();
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;

  void write(const void* data, std::size_t n);
  void pad_to(std::uint64_t alignment);
  std::uint64_t size() const noexcept { return size_; }
  void commit();

 private:
  std::string path_, partial_;
  std::FILE* f_ = nullptr;
  std::uint64_t size_ = 0;
};

convert_summary write_gguf(const tensor_store& source, const std::string& path, const convert_options& options);
convert_summary write_safetensors(const tensor_store& source, const std::string& path, const convert_options& options);

}  // namespace rwkv::engine::formats
