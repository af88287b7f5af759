// Helpers shared by the backend tests: the backends under test (every CPU ISA this machine runs,
// in both precisions), device buffers, random data, and the error measures.
#pragma once

#include "kernels/backend.hpp"
#include "kernels/dtype.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace rwkv::test {

inline std::vector<float> random_vec(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// max |a - b| / max(1, |b|)
inline float max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    float d = std::fabs(a[i] - b[i]) / std::max(1.0f, std::fabs(b[i]));
    if (std::isnan(d)) return INFINITY;
    m = std::max(m, d);
  }
  return m;
}

// The backends under test: every CPU ISA this machine supports (plus what "auto" picks), each in
// both precisions. Element-wise operations do not depend on the precision.
inline std::vector<kernels::backend_options> candidates(bool both_precisions = true) {
  std::vector<kernels::backend_options> out;
  for (const char* isa : {"auto", "avx512", "avx2", "scalar"}) {
    for (auto p : {kernels::precision::exact, kernels::precision::fast}) {
      if (p == kernels::precision::fast && !both_precisions) continue;
      kernels::backend_options o;
      o.name = "cpu";
      o.threads = 2;
      o.isa = isa;
      o.precision = p;
      std::string err;
      if (kernels::create_backend(o, &err)) out.push_back(o);
    }
  }
  return out;
}

inline std::string describe(const kernels::backend& b) {
  auto i = b.info();
  return i.name + " " + i.isa + " " + kernels::precision_name(i.precision);
}

// A buffer in a backend's memory, filled from host data.
struct dev {
  kernels::backend& b;
  float* p;
  std::size_t n;
  dev(kernels::backend& be, const std::vector<float>& host) : b(be), p(be.alloc(host.size())), n(host.size()) {
    be.upload(p, host.data(), n);
  }
  ~dev() { b.release(p); }
  dev(const dev&) = delete;
  dev& operator=(const dev&) = delete;
  std::vector<float> host() const {
    std::vector<float> h(n);
    b.download(h.data(), p, n);
    return h;
  }
};

// A weight matrix encoded as `t` from fp32 values (rows x cols), or given as encoded bytes.
struct encoded_matrix {
  std::vector<std::uint8_t> bytes;
  kernels::matrix m;
  encoded_matrix(kernels::dtype t, std::vector<std::uint8_t> encoded, std::int64_t rows, std::int64_t cols)
      : bytes(std::move(encoded)), m{t, rows, cols, bytes.data()} {}
  encoded_matrix(kernels::dtype t, const std::vector<float>& w, std::int64_t rows, std::int64_t cols) {
    const std::int64_t rb = kernels::dtype_row_bytes(t, cols);
    REQUIRE(rb > 0);
    bytes.resize(static_cast<std::size_t>(rb * rows));
    for (std::int64_t r = 0; r < rows; ++r) REQUIRE(kernels::quantize_row(t, w.data() + r * cols, bytes.data() + r * rb, cols));
    m = kernels::matrix{t, rows, cols, bytes.data()};
  }
  // The values the kernels see (decoded), row-major.
  std::vector<float> decoded() const {
    std::vector<float> out(static_cast<std::size_t>(m.rows * m.cols));
    const std::int64_t rb = kernels::dtype_row_bytes(m.type, m.cols);
    for (std::int64_t r = 0; r < m.rows; ++r)
      kernels::dequantize_row(m.type, bytes.data() + r * rb, out.data() + r * m.cols, m.cols);
    return out;
  }
};

// The input rounding of fast precision, emulated in scalar code (see kernels::precision):
// bf16 round-to-nearest-even, fp16 round-to-nearest-even (values fp16 cannot hold kept), or
// ggml's q8_0 / q8_1: per 32-block d = max|x|/127, q = round_even(x * (1/d)), d kept as fp16, and
// q8_1's s = fp16(d * sum(q)) (both fp32 where fp16 cannot hold them).
inline std::vector<float> round_bf16(std::vector<float> x) {
  for (auto& v : x) v = kernels::bf16_to_f32(kernels::f32_to_bf16(v));
  return x;
}
inline std::vector<float> round_f16(std::vector<float> x) {
  for (auto& v : x) {
    const float r = kernels::f16_to_f32(kernels::f32_to_f16(v));
    if (std::fabs(r) <= 65504.0f) v = r;
  }
  return x;
}
struct q8_rounding {
  std::vector<float> x;        // q * fp16(d): what q8_0 products see
  std::vector<float> s_error;  // per block: s - fp16(d) * sum(q), what q8_1's s adds to a minimum's term
};
inline q8_rounding round_q8(std::vector<float> x) {
  auto f16 = [](float v) { return kernels::f16_to_f32(kernels::f32_to_f16(v)); };
  std::vector<float> s_error(x.size() / 32);
  for (std::size_t b = 0; b < x.size(); b += 32) {
    float amax = 0;
    for (std::size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b + j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    float sum = 0;
    for (std::size_t j = 0; j < 32; ++j) sum += std::nearbyint(x[b + j] * id);
    float d16 = f16(d), s16 = f16(sum * d);
    if (!(d16 > 0.0f && std::isfinite(d16) && std::isfinite(s16))) d16 = d, s16 = d * sum;  // beyond fp16: fp32
    for (std::size_t j = 0; j < 32; ++j) x[b + j] = std::nearbyint(x[b + j] * id) * d16;
    s_error[b / 32] = s16 - d16 * sum;
  }
  return {std::move(x), std::move(s_error)};
}

// The fp16 block minimums of a q4_1 / q5_1 row-major matrix, [rows][cols / 32].
inline std::vector<float> block_minimums(const encoded_matrix& em) {
  const std::int64_t rb = kernels::dtype_row_bytes(em.m.type, em.m.cols), nb = em.m.cols / 32, block = rb / nb;
  std::vector<float> m(static_cast<std::size_t>(em.m.rows * nb));
  for (std::int64_t r = 0; r < em.m.rows; ++r)
    for (std::int64_t b = 0; b < nb; ++b) {
      std::uint16_t h;  // after the scale: {d, m, ...} in both block types
      std::memcpy(&h, em.bytes.data() + r * rb + b * block + 2, 2);
      m[static_cast<std::size_t>(r * nb + b)] = kernels::f16_to_f32(h);
    }
  return m;
}

}  // namespace rwkv::test
