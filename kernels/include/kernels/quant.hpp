// Block layouts of the ggml quantized encodings (byte-compatible with llama.cpp and rwkv.cpp).
//
// Each block covers `qk` consecutive elements of a row; the fp16 scales are stored as raw bits.
#pragma once

#include <cstdint>

namespace rwkv::kernels {

inline constexpr int qk32 = 32;   // elements per block of the legacy formats
inline constexpr int qk_k = 256;  // elements per super-block of the K-quants

struct block_q8_0 {
  std::uint16_t d;
  std::int8_t qs[qk32];
};
struct block_q4_0 {
  std::uint16_t d;
  std::uint8_t qs[qk32 / 2];  // element j in the low nibble of qs[j], element j+16 in the high
};
struct block_q4_1 {
  std::uint16_t d, m;
  std::uint8_t qs[qk32 / 2];
};
struct block_q5_0 {
  std::uint16_t d;
  std::uint8_t qh[4];  // fifth bit of element j is bit j
  std::uint8_t qs[qk32 / 2];
};
struct block_q5_1 {
  std::uint16_t d, m;
  std::uint8_t qh[4];
  std::uint8_t qs[qk32 / 2];
};
struct block_q4_k {
  std::uint16_t d, dmin;
  std::uint8_t scales[12];  // 8 six-bit scales and 8 six-bit mins, packed
  std::uint8_t qs[qk_k / 2];
};
struct block_q5_k {
  std::uint16_t d, dmin;
  std::uint8_t scales[12];
  std::uint8_t qh[qk_k / 8];
  std::uint8_t qs[qk_k / 2];
};
struct block_q6_k {
  std::uint8_t ql[qk_k / 2];
  std::uint8_t qh[qk_k / 4];
  std::int8_t scales[qk_k / 16];
  std::uint16_t d;
};

static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q4_0) == 18);
static_assert(sizeof(block_q4_1) == 20);
static_assert(sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q5_1) == 24);
static_assert(sizeof(block_q4_k) == 144);
static_assert(sizeof(block_q5_k) == 176);
static_assert(sizeof(block_q6_k) == 210);

// A Q6_K super-block's 256 six-bit quants in element order, unsigned (0..63): element e is
// d * scales[e / 16] * (u[e] - 32).
void q6_k_quants(const block_q6_k& b, std::uint8_t* u) noexcept;

}  // namespace rwkv::kernels
