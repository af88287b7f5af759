// Scalar conversions and the block quantizers: bit exactness where it is promised, bounded error
// where it is not.
#include "kernels/dtype.hpp"
#include "kernels/quant.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace rwkv::kernels;

TEST_CASE("fp16 round-trips every finite value exactly", "[kernels][dtype]") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    auto bits = static_cast<std::uint16_t>(h);
    float f = f16_to_f32(bits);
    if (std::isnan(f)) continue;
    REQUIRE(f32_to_f16(f) == bits);
  }
}

TEST_CASE("fp16 decodes known values", "[kernels][dtype]") {
  CHECK(f16_to_f32(0x3c00) == 1.0f);
  CHECK(f16_to_f32(0xc000) == -2.0f);
  CHECK(f16_to_f32(0x7bff) == 65504.0f);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(std::isinf(f16_to_f32(0x7c00)));
  CHECK(f32_to_f16(1e6f) == 0x7c00);                    // overflow to +inf
  CHECK(f32_to_f16(std::ldexp(1.0f, -26)) == 0x0000);   // below half the smallest subnormal
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie rounds to even
  CHECK(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
}

TEST_CASE("bf16 conversion rounds to nearest even and round-trips", "[kernels][dtype]") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    float f = bf16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    REQUIRE(f32_to_bf16(f) == h);
  }
  CHECK(f32_to_bf16(1.0f) == 0x3f80);
  float tie;
  std::uint32_t u = 0x3f808000u;  // exactly halfway between 0x3f80 and 0x3f81
  std::memcpy(&tie, &u, 4);
  CHECK(f32_to_bf16(tie) == 0x3f80);
}

TEST_CASE("dtype table describes every encoding", "[kernels][dtype]") {
  for (int i = 0; i < dtype_count; ++i) {
    auto t = static_cast<dtype>(i);
    auto back = dtype_from_name(dtype_name(t));
    REQUIRE(back.has_value());
    CHECK(*back == t);
    CHECK(dtype_block_bytes(t) > 0);
  }
  CHECK(dtype_row_bytes(dtype::q8_0, 64) == 68);
  CHECK(dtype_row_bytes(dtype::q8_0, 33) == -1);
  CHECK(dtype_row_bytes(dtype::q4_k, 512) == 288);
  CHECK(dtype_row_bytes(dtype::bf16, 3) == 6);
}

TEST_CASE("block quantizers stay within their resolution", "[kernels][dtype][quant]") {
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int n = 4096;
  std::vector<float> x(n), y(n);
  for (auto& v : x) v = dist(rng);
  // Largest error as a fraction of the block's largest magnitude: half a quantization step,
  // except q4_0/q5_0 whose asymmetric range (-8..7, -16..15) clamps the far end by a full step.
  struct expectation {
    dtype t;
    float max_frac;
  };
  for (auto [t, tol] : {expectation{dtype::q8_0, 0.5f / 127}, expectation{dtype::q5_0, 1.0f / 16},
                        expectation{dtype::q5_1, 1.0f / 31}, expectation{dtype::q4_0, 1.0f / 8},
                        expectation{dtype::q4_1, 1.0f / 15}, expectation{dtype::f16, 1.0f / 2048},
                        expectation{dtype::bf16, 1.0f / 256}}) {
    INFO(dtype_name(t));
    std::vector<std::uint8_t> q(static_cast<std::size_t>(dtype_row_bytes(t, n)));
    REQUIRE(quantize_row(t, x.data(), q.data(), n));
    dequantize_row(t, q.data(), y.data(), n);
    for (int b = 0; b < n; b += 32) {
      float amax = 0, err = 0;
      for (int j = b; j < b + 32; ++j) {
        amax = std::max(amax, std::fabs(x[j]));
        err = std::max(err, std::fabs(x[j] - y[j]));
      }
      // Plus the fp16 rounding of the stored scale and minimum.
      REQUIRE(err <= amax * (tol + 2e-3f) + 1e-6f);
    }
  }
}

TEST_CASE("K-quant blocks decode by their documented layout", "[kernels][dtype][quant]") {
  // q6_K: value = d * scale[is] * (q - 32); build a block with q = 33 everywhere, d = 0.5, scales 2.
  block_q6_k b{};
  for (auto& v : b.ql) v = 0x11;  // low nibbles 1
  for (auto& v : b.qh) v = 0xAA;  // high pairs 2 -> q = 1 | 2 << 4 = 33
  for (auto& s : b.scales) s = 2;
  b.d = f32_to_f16(0.5f);
  std::vector<float> y(qk_k);
  dequantize_row(dtype::q6_k, &b, y.data(), qk_k);
  for (float v : y) REQUIRE(v == Approx(0.5f * 2 * 1));

  // q4_K: value = d * sc * q - dmin * m with 6-bit scales; scale 1, min 0 for the first sub-blocks.
  block_q4_k k{};
  k.d = f32_to_f16(1.0f);
  k.dmin = f32_to_f16(1.0f);
  for (int j = 0; j < 4; ++j) k.scales[j] = 1;  // scales 0-3 = 1, mins 0-3 = 0
  for (auto& v : k.qs) v = 0x53;                // low nibble 3, high 5
  dequantize_row(dtype::q4_k, &k, y.data(), qk_k);
  CHECK(y[0] == 3.0f);   // sub-block 0 uses low nibbles, scale 1
  CHECK(y[32] == 5.0f);  // sub-block 1 uses high nibbles, scale 1
}
