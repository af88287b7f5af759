// Scalar conversions and the reference (de)quantizers for every weight encoding.
#include "kernels/dtype.hpp"
#include "kernels/quant.hpp"

#include <algorithm>
#include <cmath>

namespace rwkv::kernels {

namespace {

struct dtype_desc {
  std::string_view name;
  std::int64_t block_elems;
  std::int64_t block_bytes;
};

constexpr dtype_desc descs[dtype_count] = {
    {"f32", 1, 4},
    {"f16", 1, 2},
    {"bf16", 1, 2},
    {"q8_0", qk32, sizeof(block_q8_0)},
    {"q4_0", qk32, sizeof(block_q4_0)},
    {"q4_1", qk32, sizeof(block_q4_1)},
    {"q5_0", qk32, sizeof(block_q5_0)},
    {"q5_1", qk32, sizeof(block_q5_1)},
    {"q4_k", qk_k, sizeof(block_q4_k)},
    {"q5_k", qk_k, sizeof(block_q5_k)},
    {"q6_k", qk_k, sizeof(block_q6_k)},
};

const dtype_desc& desc(dtype t) noexcept { return descs[static_cast<int>(t)]; }

inline float h2f(std::uint16_t h) noexcept { return f16_to_f32(h); }

void get_scale_min_k4(int j, const std::uint8_t* q, std::uint8_t& d, std::uint8_t& m) noexcept {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void dequant_q8_0(const block_q8_0* b, float* y, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, y += qk32) {
    float d = h2f(b[i].d);
    for (int j = 0; j < qk32; ++j) y[j] = b[i].qs[j] * d;
  }
}

void dequant_q4_0(const block_q4_0* b, float* y, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, y += qk32) {
    float d = h2f(b[i].d);
    for (int j = 0; j < qk32 / 2; ++j) {
      y[j] = ((b[i].qs[j] & 0xF) - 8) * d;
      y[j + qk32 / 2] = ((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequant_q4_1(const block_q4_1* b, float* y, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, y += qk32) {
    float d = h2f(b[i].d), m = h2f(b[i].m);
    for (int j = 0; j < qk32 / 2; ++j) {
      y[j] = (b[i].qs[j] & 0xF) * d + m;
      y[j + qk32 / 2] = (b[i].qs[j] >> 4) * d + m;
    }
  }
}

template <class Block>
std::uint32_t high_bits(const Block& b) noexcept {
  std::uint32_t qh;
  std::memcpy(&qh, b.qh, sizeof qh);
  return qh;
}

void dequant_q5_0(const block_q5_0* b, float* y, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, y += qk32) {
    float d = h2f(b[i].d);
    std::uint32_t qh = high_bits(b[i]);
    for (int j = 0; j < qk32 / 2; ++j) {
      int lo = (b[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = (lo - 16) * d;
      y[j + qk32 / 2] = (hi - 16) * d;
    }
  }
}

void dequant_q5_1(const block_q5_1* b, float* y, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, y += qk32) {
    float d = h2f(b[i].d), m = h2f(b[i].m);
    std::uint32_t qh = high_bits(b[i]);
    for (int j = 0; j < qk32 / 2; ++j) {
      int lo = (b[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = lo * d + m;
      y[j + qk32 / 2] = hi * d + m;
    }
  }
}

void dequant_q4_k(const block_q4_k* b, float* y, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i) {
    const std::uint8_t* q = b[i].qs;
    float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
    int is = 0;
    for (int j = 0; j < qk_k; j += 64) {
      std::uint8_t sc, m;
      get_scale_min_k4(is, b[i].scales, sc, m);
      float d1 = d * sc, m1 = dmin * m;
      get_scale_min_k4(is + 1, b[i].scales, sc, m);
      float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
      q += 32;
      is += 2;
    }
  }
}

void dequant_q5_k(const block_q5_k* b, float* y, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i) {
    const std::uint8_t* ql = b[i].qs;
    const std::uint8_t* qh = b[i].qh;
    float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
    int is = 0;
    std::uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < qk_k; j += 64) {
      std::uint8_t sc, m;
      get_scale_min_k4(is, b[i].scales, sc, m);
      float d1 = d * sc, m1 = dmin * m;
      get_scale_min_k4(is + 1, b[i].scales, sc, m);
      float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 = static_cast<std::uint8_t>(u1 << 2);
      u2 = static_cast<std::uint8_t>(u2 << 2);
    }
  }
}

}  // namespace

void q6_k_quants(const block_q6_k& b, std::uint8_t* u) noexcept {
  // Each half of 128 values: ql[l] holds values l (low nibble) and l + 64 (high), ql[l + 32]
  // values l + 32 and l + 96; qh[l] the two high bits of all four, in that order.
  for (int n = 0; n < 2; ++n) {
    const std::uint8_t* ql = b.ql + 64 * n;
    const std::uint8_t* qh = b.qh + 32 * n;
    std::uint8_t* v = u + 128 * n;
    for (int l = 0; l < 32; ++l) {
      v[l] = static_cast<std::uint8_t>((ql[l] & 0xF) | ((qh[l] & 3) << 4));
      v[l + 32] = static_cast<std::uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
      v[l + 64] = static_cast<std::uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      v[l + 96] = static_cast<std::uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
}

namespace {

void dequant_q6_k(const block_q6_k* b, float* y, std::int64_t nb) noexcept {
  std::uint8_t u[qk_k];
  for (std::int64_t i = 0; i < nb; ++i, y += qk_k) {
    const float d = h2f(b[i].d);
    q6_k_quants(b[i], u);
    for (int e = 0; e < qk_k; ++e) y[e] = d * b[i].scales[e / 16] * (u[e] - 32);
  }
}

// --- quantizers (ggml reference rounding) -------------------------------------------------------

void quant_q8_0(const float* x, block_q8_0* b, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, x += qk32) {
    float amax = 0;
    for (int j = 0; j < qk32; ++j) amax = std::max(amax, std::fabs(x[j]));
    float d = amax / 127.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < qk32; ++j) b[i].qs[j] = static_cast<std::int8_t>(std::lround(x[j] * id));
  }
}

// Signed value of largest magnitude (ggml's q4_0/q5_0 scale reference).
float signed_absmax(const float* x) noexcept {
  float amax = 0, max = 0;
  for (int j = 0; j < qk32; ++j)
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max;
}

void quant_q4_0(const float* x, block_q4_0* b, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, x += qk32) {
    float d = signed_absmax(x) / -8.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < qk32 / 2; ++j) {
      int q0 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j] * id + 8.5f)));
      int q1 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j + qk32 / 2] * id + 8.5f)));
      b[i].qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
  }
}

void quant_q4_1(const float* x, block_q4_1* b, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, x += qk32) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < qk32; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
    float d = (mx - mn) / 15.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    b[i].m = f32_to_f16(mn);
    for (int j = 0; j < qk32 / 2; ++j) {
      int q0 = std::min(15, static_cast<int>(static_cast<std::int8_t>((x[j] - mn) * id + 0.5f)));
      int q1 = std::min(15, static_cast<int>(static_cast<std::int8_t>((x[j + qk32 / 2] - mn) * id + 0.5f)));
      b[i].qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
  }
}

void quant_q5_0(const float* x, block_q5_0* b, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, x += qk32) {
    float d = signed_absmax(x) / -16.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    std::uint32_t qh = 0;
    for (int j = 0; j < qk32 / 2; ++j) {
      int q0 = std::min(31, static_cast<int>(static_cast<std::int8_t>(x[j] * id + 16.5f)));
      int q1 = std::min(31, static_cast<int>(static_cast<std::int8_t>(x[j + qk32 / 2] * id + 16.5f)));
      b[i].qs[j] = static_cast<std::uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= static_cast<std::uint32_t>((q0 >> 4) & 1) << j;
      qh |= static_cast<std::uint32_t>((q1 >> 4) & 1) << (j + qk32 / 2);
    }
    std::memcpy(b[i].qh, &qh, sizeof qh);
  }
}

void quant_q5_1(const float* x, block_q5_1* b, std::int64_t nb) noexcept {
  for (std::int64_t i = 0; i < nb; ++i, x += qk32) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < qk32; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
    float d = (mx - mn) / 31.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    b[i].m = f32_to_f16(mn);
    std::uint32_t qh = 0;
    for (int j = 0; j < qk32 / 2; ++j) {
      int q0 = static_cast<int>((x[j] - mn) * id + 0.5f);
      int q1 = static_cast<int>((x[j + qk32 / 2] - mn) * id + 0.5f);
      b[i].qs[j] = static_cast<std::uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= static_cast<std::uint32_t>((q0 >> 4) & 1) << j;
      qh |= static_cast<std::uint32_t>((q1 >> 4) & 1) << (j + qk32 / 2);
    }
    std::memcpy(b[i].qh, &qh, sizeof qh);
  }
}

// --- K-quant quantizers (the searches of ggml's reference quantizers, without importance weights)

int nearest_int(float v) noexcept { return static_cast<int>(std::lrintf(v)); }  // ties to even

constexpr float group_max_eps = 1e-15f;

// Symmetric quants l in [-nmax, nmax) for n values and their scale, chosen among 19 candidates
// near -nmax / max (max: the value of largest magnitude) to minimize sum x^2 (x - scale * l)^2;
// the scale returned is that fit's least-squares scale. L receives l + nmax.
float symmetric_scale(int n, int nmax, const float* x, std::uint8_t* L) noexcept {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  if (amax < group_max_eps) {
    std::fill(L, L + n, std::uint8_t{0});
    return 0.0f;
  }
  auto fit = [&](float iscale, float& sumlx, float& suml2) {
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
  };
  auto assign = [&](float iscale) {
    for (int i = 0; i < n; ++i) L[i] = static_cast<std::uint8_t>(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
  };
  float iscale = -nmax / max, sumlx, suml2;
  fit(iscale, sumlx, suml2);
  assign(iscale);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f, best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    fit(iscale, sumlx, suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      assign(iscale);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Quants l in [0, nmax] with x ~ scale * l - min for n values: starting from the range
// [min(x, 0), max(x)], nstep + 1 candidate scales (nmax + rmin + rdelta * k steps over the range)
// each get the weighted least-squares scale and minimum for their quants, and the one with the
// smallest weighted squared error wins. Returns the scale; *the_min receives min >= 0.
float scale_and_min(int n, int nmax, const float* x, const float* weights, std::uint8_t* L, float* the_min, float rmin,
                    float rdelta, int nstep) noexcept {
  float min = x[0], max = x[0], sum_w = weights[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, std::uint8_t{0});
    *the_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min), scale = 1 / iscale, best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<std::uint8_t>(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * L[i] + min - x[i];
    best_error += weights[i] * diff * diff;
  }
  std::uint8_t trial[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      trial[i] = static_cast<std::uint8_t>(l);
      sum_l += weights[i] * l;
      sum_l2 += weights[i] * l * l;
      sum_xl += weights[i] * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D, this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * trial[i] + this_min - x[i];
      error += weights[i] * diff * diff;
    }
    if (error < best_error) {
      std::copy(trial, trial + n, L);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

// Q4_K / Q5_K: per sub-block of 32 a scale and a minimum (weights |x| + rms of the sub-block),
// both quantized to 6 bits against the super-block's largest (fp16 d and dmin), then the quants
// recomputed with the stored scales. L receives the 256 quants.
void kquant_scales_mins(const float* x, int nmax, float rmin, int nstep, std::uint16_t& d16, std::uint16_t& dmin16,
                        std::uint8_t* packed, std::uint8_t* L) noexcept {
  float scales[8], mins[8], weights[32], max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = scale_and_min(32, nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f, inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  std::fill(packed, packed + 12, std::uint8_t{0});
  for (int j = 0; j < 8; ++j) {  // the inverse of get_scale_min_k4
    const auto ls = static_cast<std::uint8_t>(std::min(63, nearest_int(inv_scale * scales[j])));
    const auto lm = static_cast<std::uint8_t>(std::min(63, nearest_int(inv_min * mins[j])));
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = static_cast<std::uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      packed[j - 4] |= static_cast<std::uint8_t>((ls >> 4) << 6);
      packed[j] |= static_cast<std::uint8_t>((lm >> 4) << 6);
    }
  }
  d16 = f32_to_f16(max_scale / 63.0f);
  dmin16 = f32_to_f16(max_min / 63.0f);
  for (int j = 0; j < 8; ++j) {
    std::uint8_t sc, m;
    get_scale_min_k4(j, packed, sc, m);
    const float d = h2f(d16) * sc;
    if (d == 0) continue;
    const float dm = h2f(dmin16) * m;
    for (int l = 0; l < 32; ++l) L[32 * j + l] = static_cast<std::uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / d), 0, nmax));
  }
}

void quant_q4_k(const float* x, block_q4_k* b, std::int64_t nb) noexcept {
  std::uint8_t L[qk_k];
  for (std::int64_t i = 0; i < nb; ++i, x += qk_k) {
    kquant_scales_mins(x, 15, -1.0f, 20, b[i].d, b[i].dmin, b[i].scales, L);
    for (int j = 0; j < qk_k / 64; ++j)  // sub-blocks 2j (low nibbles) and 2j + 1 (high) share 32 bytes
      for (int l = 0; l < 32; ++l) b[i].qs[32 * j + l] = static_cast<std::uint8_t>(L[64 * j + l] | (L[64 * j + l + 32] << 4));
  }
}

void quant_q5_k(const float* x, block_q5_k* b, std::int64_t nb) noexcept {
  std::uint8_t L[qk_k];
  for (std::int64_t i = 0; i < nb; ++i, x += qk_k) {
    kquant_scales_mins(x, 31, -0.5f, 15, b[i].d, b[i].dmin, b[i].scales, L);
    std::fill(std::begin(b[i].qh), std::end(b[i].qh), std::uint8_t{0});
    for (int j = 0; j < qk_k / 64; ++j)  // as Q4_K, plus the fifth bit of sub-block s in bit s of qh[l]
      for (int l = 0; l < 32; ++l) {
        const int l1 = L[64 * j + l], l2 = L[64 * j + l + 32];
        b[i].qs[32 * j + l] = static_cast<std::uint8_t>((l1 & 0xF) | ((l2 & 0xF) << 4));
        b[i].qh[l] = static_cast<std::uint8_t>(b[i].qh[l] | ((l1 >> 4) << (2 * j)) | ((l2 >> 4) << (2 * j + 1)));
      }
  }
}

// Q6_K: per sub-block of 16 a symmetric scale, quantized to int8 against the super-block's largest
// (fp16 d = -max_scale / 128), then the quants recomputed with the stored scales.
void quant_q6_k(const float* x, block_q6_k* b, std::int64_t nb) noexcept {
  std::uint8_t L[qk_k];
  for (std::int64_t i = 0; i < nb; ++i, x += qk_k) {
    float scales[16], max_scale = 0, max_abs = 0;
    for (int s = 0; s < 16; ++s) {
      scales[s] = symmetric_scale(16, 32, x + 16 * s, L + 16 * s);
      if (std::fabs(scales[s]) > max_abs) max_abs = std::fabs(scales[s]), max_scale = scales[s];
    }
    b[i] = block_q6_k{};
    if (max_abs < group_max_eps) continue;  // all zero: d = 0
    const float iscale = -128.0f / max_scale;
    b[i].d = f32_to_f16(1 / iscale);
    for (int s = 0; s < 16; ++s) b[i].scales[s] = static_cast<std::int8_t>(std::min(127, nearest_int(iscale * scales[s])));
    for (int s = 0; s < 16; ++s) {
      const float d = h2f(b[i].d) * b[i].scales[s];
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l) L[16 * s + l] = static_cast<std::uint8_t>(std::clamp(nearest_int(x[16 * s + l] / d), -32, 31) + 32);
    }
    // The inverse of q6_k_quants.
    for (int n = 0; n < 2; ++n) {
      const std::uint8_t* v = L + 128 * n;
      std::uint8_t* ql = b[i].ql + 64 * n;
      std::uint8_t* qh = b[i].qh + 32 * n;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<std::uint8_t>((v[l] & 0xF) | ((v[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<std::uint8_t>((v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
        qh[l] = static_cast<std::uint8_t>((v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) | ((v[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace

std::string_view dtype_name(dtype t) noexcept { return desc(t).name; }

std::optional<dtype> dtype_from_name(std::string_view name) noexcept {
  for (int i = 0; i < dtype_count; ++i)
    if (descs[i].name == name) return static_cast<dtype>(i);
  if (name == "fp32" || name == "float32") return dtype::f32;
  if (name == "fp16" || name == "float16") return dtype::f16;
  if (name == "bfloat16") return dtype::bf16;
  if (name == "q4_K") return dtype::q4_k;
  if (name == "q5_K") return dtype::q5_k;
  if (name == "q6_K") return dtype::q6_k;
  return std::nullopt;
}

std::int64_t dtype_block_elems(dtype t) noexcept { return desc(t).block_elems; }
std::int64_t dtype_block_bytes(dtype t) noexcept { return desc(t).block_bytes; }
bool dtype_is_quantized(dtype t) noexcept { return desc(t).block_elems > 1; }

std::int64_t dtype_row_bytes(dtype t, std::int64_t n) noexcept {
  const auto& d = desc(t);
  if (n < 0 || n % d.block_elems != 0) return -1;
  return n / d.block_elems * d.block_bytes;
}

float f16_to_f32(std::uint16_t h) noexcept {
  std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      u = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | (exp + (127 - 15)) << 23 | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

std::uint16_t f32_to_f16(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  std::uint32_t sign = (u >> 16) & 0x8000u;
  std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // result is subnormal or zero
    if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);
    std::uint32_t e = abs >> 23;
    std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    std::uint32_t shift = 126 - e;  // 14 + (113 - e)
    std::uint32_t half_bits = m >> shift;
    std::uint32_t rem = m & ((1u << shift) - 1);
    std::uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_bits & 1))) ++half_bits;
    return static_cast<std::uint16_t>(sign | half_bits);
  }
  std::uint32_t bits = abs - 0x38000000u;  // rebias exponent 127 -> 15
  std::uint32_t rem = bits & 0x1fffu;
  bits >>= 13;
  if (rem > 0x1000u || (rem == 0x1000u && (bits & 1))) ++bits;
  return static_cast<std::uint16_t>(sign | bits);
}

void dequantize_row(dtype t, const void* src, float* dst, std::int64_t n) noexcept {
  switch (t) {
    case dtype::f32: std::memcpy(dst, src, static_cast<std::size_t>(n) * 4); return;
    case dtype::f16: {
      auto* s = static_cast<const std::uint16_t*>(src);
      for (std::int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case dtype::bf16: {
      auto* s = static_cast<const std::uint16_t*>(src);
      for (std::int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case dtype::q8_0: dequant_q8_0(static_cast<const block_q8_0*>(src), dst, n / qk32); return;
    case dtype::q4_0: dequant_q4_0(static_cast<const block_q4_0*>(src), dst, n / qk32); return;
    case dtype::q4_1: dequant_q4_1(static_cast<const block_q4_1*>(src), dst, n / qk32); return;
    case dtype::q5_0: dequant_q5_0(static_cast<const block_q5_0*>(src), dst, n / qk32); return;
    case dtype::q5_1: dequant_q5_1(static_cast<const block_q5_1*>(src), dst, n / qk32); return;
    case dtype::q4_k: dequant_q4_k(static_cast<const block_q4_k*>(src), dst, n / qk_k); return;
    case dtype::q5_k: dequant_q5_k(static_cast<const block_q5_k*>(src), dst, n / qk_k); return;
    case dtype::q6_k: dequant_q6_k(static_cast<const block_q6_k*>(src), dst, n / qk_k); return;
  }
}

std::optional<dtype> kquant_legacy_type(dtype t) noexcept {
  if (t == dtype::q4_k) return dtype::q4_1;
  if (t == dtype::q5_k) return dtype::q5_1;
  return std::nullopt;
}

bool kquant_to_legacy_row(dtype t, const void* src, void* dst, std::int64_t n) noexcept {
  if (!kquant_legacy_type(t)) return false;
  const bool five = t == dtype::q5_k;
  const std::int64_t nsb = n / qk_k;
  auto* q41 = static_cast<block_q4_1*>(dst);
  auto* q51 = static_cast<block_q5_1*>(dst);
  for (std::int64_t i = 0; i < nsb; ++i) {
    // The K-quant fields shared by both types (Q5_K adds qh between scales and qs).
    std::uint16_t d16, dmin16;
    const std::uint8_t *scales, *qs, *qh = nullptr;
    if (five) {
      const auto& b = static_cast<const block_q5_k*>(src)[i];
      d16 = b.d, dmin16 = b.dmin, scales = b.scales, qs = b.qs, qh = b.qh;
    } else {
      const auto& b = static_cast<const block_q4_k*>(src)[i];
      d16 = b.d, dmin16 = b.dmin, scales = b.scales, qs = b.qs;
    }
    const float d = h2f(d16), dmin = h2f(dmin16);
    for (int s = 0; s < qk_k / qk32; ++s) {  // sub-block s: nibble (s % 2) of qs[(s / 2) * 32 + l]
      std::uint8_t sc, m;
      get_scale_min_k4(s, scales, sc, m);
      std::uint8_t u[qk32];
      const std::uint8_t* q = qs + (s / 2) * 32;
      for (int l = 0; l < qk32; ++l) u[l] = s % 2 ? q[l] >> 4 : q[l] & 0xF;
      std::uint32_t bits = 0;
      if (five)
        for (int l = 0; l < qk32; ++l) bits |= static_cast<std::uint32_t>((qh[l] >> s) & 1) << l;
      std::uint8_t* packed = five ? q51[i * 8 + s].qs : q41[i * 8 + s].qs;  // element l low, l + 16 high
      for (int l = 0; l < qk32 / 2; ++l) packed[l] = static_cast<std::uint8_t>(u[l] | (u[l + 16] << 4));
      const std::uint16_t scale = f32_to_f16(d * sc), minimum = f32_to_f16(-(dmin * m));
      if (five) {
        q51[i * 8 + s].d = scale, q51[i * 8 + s].m = minimum;
        std::memcpy(q51[i * 8 + s].qh, &bits, 4);
      } else {
        q41[i * 8 + s].d = scale, q41[i * 8 + s].m = minimum;
      }
    }
  }
  return true;
}

bool quantize_row(dtype t, const float* src, void* dst, std::int64_t n) noexcept {
  switch (t) {
    case dtype::f32: std::memcpy(dst, src, static_cast<std::size_t>(n) * 4); return true;
    case dtype::f16: {
      auto* d = static_cast<std::uint16_t*>(dst);
      for (std::int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return true;
    }
    case dtype::bf16: {
      auto* d = static_cast<std::uint16_t*>(dst);
      for (std::int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return true;
    }
    case dtype::q8_0: quant_q8_0(src, static_cast<block_q8_0*>(dst), n / qk32); return true;
    case dtype::q4_0: quant_q4_0(src, static_cast<block_q4_0*>(dst), n / qk32); return true;
    case dtype::q4_1: quant_q4_1(src, static_cast<block_q4_1*>(dst), n / qk32); return true;
    case dtype::q5_0: quant_q5_0(src, static_cast<block_q5_0*>(dst), n / qk32); return true;
    case dtype::q5_1: quant_q5_1(src, static_cast<block_q5_1*>(dst), n / qk32); return true;
    case dtype::q4_k: quant_q4_k(src, static_cast<block_q4_k*>(dst), n / qk_k); return true;
    case dtype::q5_k: quant_q5_k(src, static_cast<block_q5_k*>(dst), n / qk_k); return true;
    case dtype::q6_k: quant_q6_k(src, static_cast<block_q6_k*>(dst), n / qk_k); return true;
  }
  return false;
}

}  // namespace rwkv::kernels
