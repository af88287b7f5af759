// Internal to the readers and writers: the few tensor transformations that undo (or redo) a
// format's pre-processing — views that reshape or slice borrowed bytes, fp32 copies, transposes,
// and checked shape arithmetic.
#pragma once

#include "engine/tensor_store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine::formats {

// Product of dims, or nullopt on overflow past 2^62 or a negative dimension.
std::optional<std::int64_t> checked_numel(const std::vector<std::int64_t>& shape);
// Bytes of a tensor of this type and shape (rows of shape.back() elements), or nullopt when the
// row length is not a multiple of the block size or the size overflows.
std::optional<std::uint64_t> checked_nbytes(kernels::dtype type, const std::vector<std::int64_t>& shape);

// The same bytes under another shape with the same element count.
tensor reshaped(const tensor& t, std::vector<std::int64_t> shape);
// Rows [first, first + count) of the outermost dimension, borrowed.
tensor outer_slice(const tensor& t, std::int64_t first, std::int64_t count);

// fp32 copy of any tensor (dequantized row by row), in canonical order.
std::vector<float> to_f32(const tensor& t);
// A matrix [a, b] as its transpose [b, a], borrowing the same bytes (marked `transposed`).
tensor transposed_view(const tensor& t);
// [rows][cols] -> [cols][rows]
std::vector<float> transpose(const std::vector<float>& v, std::int64_t rows, std::int64_t cols);
// [a][b][c] -> [a][c][b]
std::vector<float> swap_last_two(const std::vector<float>& v, std::int64_t a, std::int64_t b, std::int64_t c);

// A copy of `t` with every value multiplied by 2^exponent, in the same encoding (exact for the
// block formats: only their fp16 scales change). Used to undo llama.cpp's RWKV-6 layer rescaling.
std::vector<std::uint8_t> scaled_by_power_of_two(const tensor& t, int exponent);

// "[2, 64]"
std::string shape_text(const std::vector<std::int64_t>& shape);

// An RWKV-7 LoRA matrix by its BlinkDL name: blocks.N.att.{w,a,v,g}{1,2}.
bool is_v7_lora(std::string_view name);

}  // namespace rwkv::engine::formats
