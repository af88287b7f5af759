// Element types of stored weights and the scalar conversions between them.
//
// This header owns the list of weight encodings the kernels understand and the bit-exact scalar
// conversions (fp16/bf16 <-> fp32) every backend and file reader shares. Block-quantized encodings
// (q8_0, q4_0, ...) are described in kernels/quant.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace rwkv::kernels {

enum class dtype : std::uint8_t {
  f32,
  f16,
  bf16,
  q8_0,  // ggml block of 32: fp16 scale + 32 x int8
  q4_0,  // ggml block of 32: fp16 scale + 16 bytes of 4-bit values (offset 8)
  q4_1,  // ggml block of 32: fp16 scale, fp16 min + 16 bytes of 4-bit values
  q5_0,  // ggml block of 32: fp16 scale + 32 high bits + 16 bytes of low nibbles (offset 16)
  q5_1,  // ggml block of 32: fp16 scale, fp16 min + 32 high bits + 16 bytes of low nibbles
  q4_k,  // ggml super-block of 256
  q5_k,  // ggml super-block of 256
  q6_k,  // ggml super-block of 256
};

inline constexpr int dtype_count = 11;

// Name as used on the command line and in `info` ("f32", "bf16", "q8_0", ...).
std::string_view dtype_name(dtype t) noexcept;
std::optional<dtype> dtype_from_name(std::string_view name) noexcept;

// Elements per block (1 for plain types) and bytes per block.
std::int64_t dtype_block_elems(dtype t) noexcept;
std::int64_t dtype_block_bytes(dtype t) noexcept;
bool dtype_is_quantized(dtype t) noexcept;

// Bytes used by a row of `n` elements, or -1 when n is not a multiple of the block size.
std::int64_t dtype_row_bytes(dtype t, std::int64_t n) noexcept;

// --- scalar conversions (bit exact, round-to-nearest-even) ----------------------------------------

inline float bf16_to_f32(std::uint16_t h) noexcept {
  std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline std::uint16_t f32_to_bf16(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

float f16_to_f32(std::uint16_t h) noexcept;
std::uint16_t f32_to_f16(float f) noexcept;

// Converts n elements of a plain or quantized row to fp32 (n must be a multiple of the block size).
void dequantize_row(dtype t, const void* src, float* dst, std::int64_t n) noexcept;

// Encodes n fp32 values into a row of type t (n a multiple of the block size), as ggml's reference
// quantizers do (for the K-quants: their scale searches, without importance weights) so files we
// write load in llama.cpp. False only for a value outside the dtype enumeration.
bool quantize_row(dtype t, const float* src, void* dst, std::int64_t n) noexcept;

// The legacy type a K-quant's 32-element sub-blocks are, up to fp16 rounding of their scale and
// minimum: q4_1 for Q4_K, q5_1 for Q5_K; none for Q6_K (sub-blocks of 16) and other types.
std::optional<dtype> kquant_legacy_type(dtype t) noexcept;
// One Q4_K (Q5_K) row of n elements rewritten as q4_1 (q5_1) blocks, for kernels without a K-quant
// path: each sub-block becomes such a block, with scale d * sc and minimum -dmin * m rounded to
// fp16 (a relative 2^-11, far below the 4/5-bit step). False where kquant_legacy_type has none.
bool kquant_to_legacy_row(dtype t, const void* src, void* dst, std::int64_t n) noexcept;

}  // namespace rwkv::kernels
