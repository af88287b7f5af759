// Internal to the engine: the GGUF container (v2/v3), parsed and validated, independent of what
// model it holds. Shared by the GGUF reader (gguf_reader.cpp) and the tests.
//
// Layout (ggml/src/gguf.cpp, docs/gguf.md): "GGUF", u32 version, u64 tensor count, u64 key/value
// count; key/values (string key, u32 type, value; arrays are u32 element type, u64 count,
// elements); tensor infos (string name, u32 n_dims, u64 ne[n_dims] innermost first, u32 ggml type,
// u64 offset); padding to `general.alignment` (default 32); the data section, where every tensor
// offset is relative to its start and a multiple of the alignment. Strings are u64 length + bytes.
//
// Every count, length and offset is checked against the real file size before anything is
// allocated for it, so a header claiming 10^12 tensors fails at once with bad_format.
#pragma once

#include "kernels/dtype.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine::formats {

enum class gguf_type : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};

struct gguf_value {
  gguf_type type = gguf_type::u32;
  gguf_type element = gguf_type::u32;  // arrays only
  std::int64_t integer = 0;            // integer and boolean scalars
  double number = 0;                   // every numeric scalar, also as double
  std::string_view text;               // strings (borrowed from the file)
  std::vector<std::string_view> strings;  // string arrays
  std::vector<double> numbers;            // numeric and boolean arrays
  std::uint64_t count = 0;                // array length

  bool is_integer() const noexcept;
};

struct gguf_tensor_info {
  std::string name;
  kernels::dtype type = kernels::dtype::f32;
  std::vector<std::int64_t> ne;  // ggml order: innermost first
  std::uint64_t offset = 0;      // relative to the data section
  std::uint64_t nbytes = 0;
  const std::uint8_t* data = nullptr;
};

struct gguf_file {
  std::uint32_t version = 0;
  std::uint32_t alignment = 32;
  std::map<std::string, gguf_value, std::less<>> kv;
  std::vector<gguf_tensor_info> tensors;  // in file order
  std::uint64_t data_offset = 0;

  const gguf_value* find(std::string_view key) const;
};

// Throws engine::error: bad_format for corrupt or hostile bytes, unsupported for GGUF v1,
// big-endian files and tensor types rwkv-lsp does not implement (named in the message).
gguf_file parse_gguf(std::span<const std::uint8_t> bytes, const std::string& source);

// ggml's numbering of tensor types, both ways (GGUF stores these ids).
std::optional<kernels::dtype> dtype_from_ggml(std::uint32_t ggml_type) noexcept;
std::uint32_t ggml_type_of(kernels::dtype t) noexcept;
// "Q4_K", "IQ2_XS", ... for messages.
std::string ggml_type_name(std::uint32_t ggml_type);

}  // namespace rwkv::engine::formats
