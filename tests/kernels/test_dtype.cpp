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

TEST_CASE("K-quant encoders: their error sits between the neighbouring legacy types'", "[kernels][dtype][quant]") {
  // Gaussian values; relative RMS error of a round trip. The K-quants' fitted scales (and for
  // Q4_K / Q5_K, minimums) beat the legacy min/max blocks of the same width, and Q6_K sits between
  // 5 and 8 bits.
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int n = 256 * 512;
  std::vector<float> x(n), y(n);
  for (auto& v : x) v = dist(rng);
  auto error = [&](dtype t) {
    std::vector<std::uint8_t> q(static_cast<std::size_t>(dtype_row_bytes(t, n)));
    REQUIRE(quantize_row(t, x.data(), q.data(), n));
    dequantize_row(t, q.data(), y.data(), n);
    double e = 0, s = 0;
    for (int i = 0; i < n; ++i) e += (x[i] - y[i]) * (x[i] - y[i]), s += x[i] * x[i];
    return std::sqrt(e / s);
  };
  const double q8 = error(dtype::q8_0), q6k = error(dtype::q6_k), q5k = error(dtype::q5_k), q51 = error(dtype::q5_1),
               q4k = error(dtype::q4_k), q41 = error(dtype::q4_1);
  INFO("q8_0 " << q8 << " q6_k " << q6k << " q5_k " << q5k << " q5_1 " << q51 << " q4_k " << q4k << " q4_1 " << q41);
  CHECK(q8 < q6k);
  CHECK(q6k < q5k);
  CHECK(q5k < q51);
  CHECK(q51 < q4k);
  CHECK(q4k < q41);
  CHECK(q6k < 0.02);  // 6 bits: about 2^-6 of the range
}

TEST_CASE("K-quant encoders reproduce values their format holds exactly", "[kernels][dtype][quant]") {
  std::vector<float> x(qk_k), y(qk_k);
  SECTION("Q6_K: sub-block s holds 0.01 (s + 1) q, q in [-32, 31]") {
    for (int s = 0; s < 16; ++s)
      for (int l = 0; l < 16; ++l) x[16 * s + l] = 0.01f * (s + 1) * static_cast<float>(l == 0 ? -32 : (l * 7 + s) % 64 - 32);
    block_q6_k b{};
    REQUIRE(quantize_row(dtype::q6_k, x.data(), &b, qk_k));
    std::uint8_t u[qk_k];
    q6_k_quants(b, u);
    for (int s = 0; s < 16; ++s) {
      CHECK(b.scales[s] == -8 * (s + 1));  // d = -max_scale / 128 (fp16), so sub-block scales -8 (s + 1)
      for (int l = 0; l < 16; ++l) CHECK(u[16 * s + l] - 32 == std::lrintf(x[16 * s + l] / (0.01f * (s + 1))));
    }
    dequantize_row(dtype::q6_k, &b, y.data(), qk_k);
    for (int i = 0; i < qk_k; ++i) CHECK(y[i] == Approx(x[i]).epsilon(1e-3).margin(1e-6));  // d's fp16 rounding
  }
  SECTION("Q4_K / Q5_K: sub-block j holds 0.01 (63 - 4j) q - 0.02 j, q in [0, 15] or [0, 31]") {
    // Scales and minimums are multiples of the largest / 63, which 6 bits hold exactly.
    for (dtype t : {dtype::q4_k, dtype::q5_k}) {
      const int top = t == dtype::q4_k ? 15 : 31;
      for (int j = 0; j < 8; ++j)
        for (int l = 0; l < 32; ++l)
          x[32 * j + l] = 0.01f * (63 - 4 * j) * static_cast<float>(l == 0 ? 0 : l == 1 ? top : (l * 5 + j) % (top + 1)) - 0.02f * j;
      std::vector<std::uint8_t> b(static_cast<std::size_t>(dtype_row_bytes(t, qk_k)));
      REQUIRE(quantize_row(t, x.data(), b.data(), qk_k));
      dequantize_row(t, b.data(), y.data(), qk_k);
      for (int i = 0; i < qk_k; ++i) CHECK(y[i] == Approx(x[i]).epsilon(1e-3).margin(1e-3));  // d and dmin in fp16
    }
  }
  SECTION("all-zero blocks stay zero") {
    std::fill(x.begin(), x.end(), 0.0f);
    for (dtype t : {dtype::q4_k, dtype::q5_k, dtype::q6_k}) {
      std::vector<std::uint8_t> b(static_cast<std::size_t>(dtype_row_bytes(t, qk_k)), 0xFF);
      REQUIRE(quantize_row(t, x.data(), b.data(), qk_k));
      dequantize_row(t, b.data(), y.data(), qk_k);
      for (float v : y) REQUIRE(v == 0.0f);
    }
  }
}
