#include "reference_backend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace rwkv::kernels::cpu {

std::size_t reference_weight::bytes_per_pass() const noexcept {
  return static_cast<std::size_t>(dtype_row_bytes(m_.type, m_.cols) * m_.rows);
}

float apply_activation(activation act, float x) noexcept {
  switch (act) {
    case activation::none: return x;
    case activation::tanh: return std::tanh(x);
    case activation::sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case activation::relu_sq: {
      float r = x > 0 ? x : 0;
      return r * r;
    }
    case activation::silu: return x / (1.0f + std::exp(-x));
  }
  return x;
}

backend_info reference_backend::info() const { return {"cpu-reference", "scalar", 1}; }

float* reference_backend::alloc(std::size_t n) {
  std::size_t bytes = (std::max<std::size_t>(n, 1) * sizeof(float) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  return static_cast<float*>(p);
}

void reference_backend::release(float* p) noexcept { std::free(p); }

void reference_backend::upload(float* dst, const float* host_src, std::size_t n) {
  if (n) std::memcpy(dst, host_src, n * sizeof(float));
}

void reference_backend::download(float* host_dst, const float* src, std::size_t n) {
  if (n) std::memcpy(host_dst, src, n * sizeof(float));
}

std::unique_ptr<weight> reference_backend::prepare(const matrix& m, dtype prefer) {
  const std::int64_t row_bytes = dtype_row_bytes(prefer, m.cols);
  if (prefer == m.type || row_bytes < 0) return std::make_unique<reference_weight>(m);
  // Converted at load (e.g. --dtype q8_0): decode each row, encode it with ggml's rounding.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(row_bytes * m.rows));
  std::vector<float> row(static_cast<std::size_t>(m.cols));
  const std::int64_t src_bytes = dtype_row_bytes(m.type, m.cols);
  for (std::int64_t r = 0; r < m.rows; ++r) {
    dequantize_row(m.type, static_cast<const std::uint8_t*>(m.data) + r * src_bytes, row.data(), m.cols);
    quantize_row(prefer, row.data(), bytes.data() + r * row_bytes, m.cols);
  }
  matrix converted = m;
  converted.type = prefer;
  return std::make_unique<reference_weight>(converted, std::move(bytes));
}

void reference_backend::matmul(const weight& w, const float* x, std::int64_t ldx, float* y, std::int64_t ldy,
                               std::int64_t T, activation act, bool accumulate) {
  const matrix& m = static_cast<const reference_weight&>(w).source();
  std::vector<float> row(static_cast<std::size_t>(m.cols));
  std::int64_t row_bytes = dtype_row_bytes(m.type, m.cols);
  for (std::int64_t r = 0; r < m.rows; ++r) {
    dequantize_row(m.type, static_cast<const std::uint8_t*>(m.data) + r * row_bytes, row.data(), m.cols);
    for (std::int64_t t = 0; t < T; ++t) {
      const float* xt = x + t * ldx;
      float acc = 0;
      for (std::int64_t c = 0; c < m.cols; ++c) acc += row[c] * xt[c];
      float v = apply_activation(act, acc);
      float& out = y[t * ldy + r];
      out = accumulate ? out + v : v;
    }
  }
}

void reference_backend::embed(const matrix& e, const std::int32_t* ids, std::int64_t T, float* y) {
  std::int64_t row_bytes = dtype_row_bytes(e.type, e.cols);
  for (std::int64_t t = 0; t < T; ++t)
    dequantize_row(e.type, static_cast<const std::uint8_t*>(e.data) + ids[t] * row_bytes, y + t * e.cols, e.cols);
}

namespace {

void normalize(const float* x, const float* w, const float* b, float* y, std::int64_t n, float eps) {
  double mean = 0;
  for (std::int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double var = 0;
  for (std::int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<double>(n);
  float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
  float mu = static_cast<float>(mean);
  for (std::int64_t i = 0; i < n; ++i) y[i] = (x[i] - mu) * inv * w[i] + b[i];
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

}  // namespace

void reference_backend::layer_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T,
                                   std::int64_t C, float eps) {
  for (std::int64_t t = 0; t < T; ++t) normalize(x + t * C, w, b, y + t * C, C, eps);
}

void reference_backend::group_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T,
                                   std::int64_t C, std::int64_t G, float eps) {
  std::int64_t n = C / G;
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t g = 0; g < G; ++g) normalize(x + t * C + g * n, w + g * n, b + g * n, y + t * C + g * n, n, eps);
}

void reference_backend::token_shift(const float* x, float* prev, float* dx, std::int64_t T, std::int64_t C) {
  for (std::int64_t t = 0; t < T; ++t) {
    const float* before = t == 0 ? prev : x + (t - 1) * C;
    for (std::int64_t c = 0; c < C; ++c) dx[t * C + c] = before[c] - x[t * C + c];
  }
  if (T > 0) std::memcpy(prev, x + (T - 1) * C, static_cast<std::size_t>(C) * sizeof(float));
}

void reference_backend::mix(const float* x, const float* dx, const float* const* mixes, float* const* outs, int n,
                            std::int64_t T, std::int64_t C) {
  for (int j = 0; j < n; ++j)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t c = 0; c < C; ++c) outs[j][t * C + c] = x[t * C + c] + dx[t * C + c] * mixes[j][c];
}

void reference_backend::mix_dynamic(const float* x, const float* dx, const float* mix, const float* dyn,
                                    std::int64_t ld_dyn, float* out, std::int64_t T, std::int64_t C) {
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t c = 0; c < C; ++c)
      out[t * C + c] = x[t * C + c] + dx[t * C + c] * (mix[c] + dyn[t * ld_dyn + c]);
}

void reference_backend::mul(const float* a, const float* b, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

void reference_backend::add_mul(const float* a, const float* b, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] += a[i] * b[i];
}

void reference_backend::wkv4(std::int64_t T, std::int64_t C, const float* decay, const float* first, const float* k,
                             const float* v, float* aa, float* bb, float* pp, float* y) {
  for (std::int64_t t = 0; t < T; ++t) {
    for (std::int64_t c = 0; c < C; ++c) {
      float kt = k[t * C + c], vt = v[t * C + c];
      float ww = first[c] + kt;
      float p = std::max(pp[c], ww);
      float e1 = std::exp(pp[c] - p), e2 = std::exp(ww - p);
      y[t * C + c] = (e1 * aa[c] + e2 * vt) / (e1 * bb[c] + e2);
      ww = decay[c] + pp[c];
      p = std::max(ww, kt);
      e1 = std::exp(ww - p);
      e2 = std::exp(kt - p);
      aa[c] = e1 * aa[c] + e2 * vt;
      bb[c] = e1 * bb[c] + e2;
      pp[c] = p;
    }
  }
}

void reference_backend::wkv5(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* k,
                             const float* v, const float* w, bool w_per_token, const float* u, float* state,
                             float* y) {
  const std::int64_t C = H * N;
  for (std::int64_t t = 0; t < T; ++t) {
    const float* wt = w_per_token ? w + t * C : w;
    for (std::int64_t h = 0; h < H; ++h) {
      float* S = state + h * N * N;
      const std::int64_t o = t * C + h * N;
      for (std::int64_t j = 0; j < N; ++j) y[o + j] = 0;
      for (std::int64_t i = 0; i < N; ++i) {
        float ki = k[o + i], ri = r[o + i], ui = u[h * N + i], wi = wt[h * N + i];
        for (std::int64_t j = 0; j < N; ++j) {
          float kv = ki * v[o + j];
          y[o + j] += ri * (ui * kv + S[i * N + j]);
          S[i * N + j] = kv + wi * S[i * N + j];
        }
      }
    }
  }
}

void reference_backend::rwkv6_decay(float* w, const float* time_decay, std::int64_t T, std::int64_t C) {
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t c = 0; c < C; ++c) w[t * C + c] = std::exp(-std::exp(time_decay[c] + w[t * C + c]));
}

void reference_backend::rwkv7_prepare(const rwkv7_prepare_args& p) {
  const std::int64_t C = p.H * p.N;
  for (std::int64_t t = 0; t < p.T; ++t) {
    const std::int64_t o = t * C;
    for (std::int64_t c = 0; c < C; ++c) {
      float wl = -softplus(-(p.w0[c] + p.w[o + c])) - 0.5f;
      p.w[o + c] = std::exp(-std::exp(wl));
      if (p.v_gate)
        p.v[o + c] += (p.v_first[o + c] - p.v[o + c]) * sigmoid(p.v0[c] + p.v_gate[o + c]);
      else
        p.v_first[o + c] = p.v[o + c];
    }
    for (std::int64_t h = 0; h < p.H; ++h) {
      const std::int64_t hb = o + h * p.N;
      double norm = 0;
      for (std::int64_t i = 0; i < p.N; ++i) {
        float kk = p.k[hb + i] * p.k_k[h * p.N + i];
        norm += static_cast<double>(kk) * kk;
      }
      float inv = 1.0f / std::max(static_cast<float>(std::sqrt(norm)), 1e-12f);
      for (std::int64_t i = 0; i < p.N; ++i) {
        const std::int64_t c = h * p.N + i;
        float kk = p.k[hb + i] * p.k_k[c] * inv;
        float a = sigmoid(p.a0[c] + p.a[hb + i]);
        p.a[hb + i] = -kk;
        p.b[hb + i] = kk * a;
        p.k[hb + i] *= 1.0f + (a - 1.0f) * p.k_a[c];
      }
    }
  }
}

void reference_backend::wkv7(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* w,
                             const float* k, const float* v, const float* a, const float* b, float* state,
                             float* y) {
  const std::int64_t C = H * N;
  for (std::int64_t t = 0; t < T; ++t) {
    for (std::int64_t h = 0; h < H; ++h) {
      float* S = state + h * N * N;
      const std::int64_t o = t * C + h * N;
      for (std::int64_t i = 0; i < N; ++i) {
        float* Si = S + i * N;
        float sa = 0;
        for (std::int64_t j = 0; j < N; ++j) sa += Si[j] * a[o + j];
        float vi = v[o + i], acc = 0;
        for (std::int64_t j = 0; j < N; ++j) {
          Si[j] = Si[j] * w[o + j] + sa * b[o + j] + vi * k[o + j];
          acc += Si[j] * r[o + j];
        }
        y[o + i] = acc;
      }
    }
  }
}

void reference_backend::rwkv7_finish(float* y, const float* r, const float* k, const float* v, const float* r_k,
                                     const float* g, std::int64_t T, std::int64_t H, std::int64_t N) {
  const std::int64_t C = H * N;
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t h = 0; h < H; ++h) {
      const std::int64_t o = t * C + h * N;
      float s = 0;
      for (std::int64_t i = 0; i < N; ++i) s += r[o + i] * k[o + i] * r_k[h * N + i];
      for (std::int64_t i = 0; i < N; ++i) y[o + i] = (y[o + i] + s * v[o + i]) * g[o + i];
    }
}

}  // namespace rwkv::kernels::cpu
