// Matrix products of every backend on this machine (every ISA, both precisions) against the
// scalar reference: all weight types, odd shapes, strided inputs/outputs, T from 1 to 100.
//
// Tolerances, per output, in units of scale = sum_k |w_k x_k| (the size of the terms summed):
//  * exact precision: fp32 sums of K products in another order differ by at most ~K * 2^-24 *
//    scale; K <= 544 here, and we allow 2e-5 * scale.
//  * fast precision must equal the reference run on the same rounded inputs (the rounding is
//    emulated in scalar code: bf16 round-to-nearest-even, or ggml's q8_0 / q8_1 quantization) to the
//    same 2e-5 * scale; and against the unrounded reference the difference must stay within the
//    rounding bound sum_k |w_k| |x_k - round(x_k)| (plus the same accumulation slack). bf16 weights
//    from fp16 files are rounded to bf16 in fast precision, which the emulation includes. bf16
//    matrices of at most 256 columns are stored by columns (cpu_weight.hpp) and multiply fp32
//    activations: only their weights are rounded; fp16 matrices that short keep their weights and
//    round the activations to fp16, as ggml does.
//  * a sequence (T = 100) and the same tokens one at a time agree bit for bit: the kernels compute
//    each (row, token) with the same operations in the same order whatever T is.
#include "backend_test_util.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <span>

using namespace rwkv::kernels;
using namespace rwkv::test;

namespace {

enum class path { exact, bf16, bf16_weights, f16_activations, int8 };

// Which arithmetic a backend uses for a weight type (mirrors cpu_backend::path_for and the
// column layout's choice in cpu_weight.cpp).
path path_of(const backend_info& i, dtype t, int cols = 1 << 20) {
  if (i.precision != precision::fast || i.name != "cpu") return path::exact;
  if (t == dtype::f16 && cols <= 256 && i.isa != "scalar") return path::f16_activations;
  if ((t == dtype::bf16 || t == dtype::f16) && i.isa.find("bf16") != std::string::npos)
    return cols <= 256 ? path::bf16_weights : path::bf16;
  if ((t == dtype::q8_0 || t == dtype::q6_k || t == dtype::q4_0 || t == dtype::q4_1 || t == dtype::q5_0 || t == dtype::q5_1) &&
      i.isa.find("vnni") != std::string::npos)
    return path::int8;
  return path::exact;
}

// y[t][r] = sum_k w[r][k] x[t][k] in double, and the scale sum_k |w x|.
void dense(const std::vector<float>& w, const std::vector<float>& x, int rows, int cols, int T, std::vector<double>& y,
           std::vector<double>& scale) {
  y.assign(static_cast<std::size_t>(T * rows), 0);
  scale.assign(static_cast<std::size_t>(T * rows), 0);
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < rows; ++r) {
      double s = 0, a = 0;
      for (int k = 0; k < cols; ++k) {
        const double p = static_cast<double>(w[static_cast<std::size_t>(r * cols + k)]) * x[static_cast<std::size_t>(t * cols + k)];
        s += p;
        a += std::fabs(p);
      }
      y[static_cast<std::size_t>(t * rows + r)] = s;
      scale[static_cast<std::size_t>(t * rows + r)] = a;
    }
}

// The int8 path's products emulated: the weights w (em decoded) times x rounded as ggml's q8_0 /
// q8_1 do, in double; q4_1 / q5_1 blocks take their minimum times q8_1's s, not times
// fp16(d) * sum(q) as products on the rounded inputs do. Returns the rounded x.
std::vector<float> emulate_int8(const encoded_matrix& em, const std::vector<float>& w, const std::vector<float>& x,
                                int T, std::vector<double>& y, std::vector<double>& scale) {
  auto q = round_q8(x);
  const std::int64_t rows = em.m.rows, cols = em.m.cols, nb = cols / 32;
  dense(w, q.x, static_cast<int>(rows), static_cast<int>(cols), T, y, scale);
  if (em.m.type == dtype::q4_1 || em.m.type == dtype::q5_1) {
    const auto mins = block_minimums(em);
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t b = 0; b < nb; ++b)
          y[static_cast<std::size_t>(t * rows + r)] +=
              static_cast<double>(mins[static_cast<std::size_t>(r * nb + b)]) * q.s_error[static_cast<std::size_t>(t * nb + b)];
  }
  return std::move(q.x);
}

// Runs a product on `b` with strided x/y (ldx = cols + 3, ldy = rows + 2) and checks that the
// padding was not touched; returns y as [T][rows].
std::vector<float> run(backend& b, const weight& w, const std::vector<float>& x, int rows, int cols, int T,
                       activation act, bool acc, const std::vector<float>& y0) {
  const int ldx = cols + 3, ldy = rows + 2;
  std::vector<float> xs(static_cast<std::size_t>(T * ldx), 1e30f), ys(static_cast<std::size_t>(T * ldy), -7.0f);
  for (int t = 0; t < T; ++t) {
    std::copy_n(x.begin() + t * cols, cols, xs.begin() + t * ldx);
    std::copy_n(y0.begin() + t * rows, rows, ys.begin() + t * ldy);
  }
  dev dx(b, xs), dy(b, ys);
  b.matmul(w, dx.p, ldx, dy.p, ldy, T, act, acc);
  auto out = dy.host();
  std::vector<float> y(static_cast<std::size_t>(T * rows));
  for (int t = 0; t < T; ++t) {
    for (int r = rows; r < ldy; ++r) REQUIRE(out[static_cast<std::size_t>(t * ldy + r)] == -7.0f);
    std::copy_n(out.begin() + t * ldy, rows, y.begin() + t * rows);
  }
  return y;
}

struct shape {
  int rows, cols;
};

std::vector<shape> shapes_for(dtype t) {
  // 512, 768 and 1024 columns (16, 24, 32 blocks) take the int8 kernels' fixed-width paths.
  if (dtype_is_quantized(t)) return {{7, 64}, {33, 96}, {130, 544}, {5, 32}, {19, 160}, {40, 512}, {17, 768}, {9, 1024}};
  return {{7, 37}, {33, 96}, {130, 67}, {64, 512}, {3, 1}};
}

}  // namespace

TEST_CASE("matmul matches the reference for every weight type, precision and token count", "[kernels][matmul]") {
  auto ref = create_reference_backend();
  const auto opts = candidates();
  std::vector<std::unique_ptr<backend>> backends;
  for (const auto& o : opts) backends.push_back(create_backend(o));
  int variant = 0;
  for (dtype t : {dtype::f32, dtype::f16, dtype::bf16, dtype::q8_0, dtype::q4_0, dtype::q4_1, dtype::q5_0, dtype::q5_1}) {
    for (auto [rows, cols] : shapes_for(t)) {
      const auto wf = random_vec(static_cast<std::size_t>(rows * cols), 1);
      const encoded_matrix em(t, wf, rows, cols);
      const auto wdec = em.decoded();
      // fp16 weights in fast precision become bf16: emulate that too.
      std::vector<float> wbf(wdec);
      for (auto& v : wbf) v = bf16_to_f32(f32_to_bf16(v));
      for (int T : {1, 2, 3, 16, 100}) {
        INFO(dtype_name(t) << " " << rows << "x" << cols << " T=" << T);
        const auto x = random_vec(static_cast<std::size_t>(T * cols), 2 + static_cast<std::uint32_t>(T));
        const auto y0 = random_vec(static_cast<std::size_t>(T * rows), 3);
        const activation act = std::array{activation::none, activation::relu_sq, activation::sigmoid, activation::tanh,
                                          activation::silu}[static_cast<std::size_t>(variant % 5)];
        const bool acc = variant % 2 == 1;
        ++variant;
        // Reference with the activation (relative check) and the plain products (scaled checks).
        auto rw = ref->prepare(em.m);
        std::vector<float> want = y0;
        ref->matmul(*rw, x.data(), cols, want.data(), rows, T, act, acc);
        std::vector<double> exact, scale;
        dense(wdec, x, rows, cols, T, exact, scale);

        for (std::size_t bi = 0; bi < backends.size(); ++bi) {
          backend& be = *backends[bi];
          INFO("backend " << describe(be));
          auto bw = be.prepare(em.m);
          const path p = path_of(be.info(), t, cols);
          if (p == path::exact) CHECK(max_rel_diff(run(be, *bw, x, rows, cols, T, act, acc, y0), want) < 2e-4f);

          const auto y = run(be, *bw, x, rows, cols, T, activation::none, false, y0);
          // The emulated inputs of this backend's path, and the exact products on them.
          std::vector<float> xr = x;
          const std::vector<float>* wr = &wdec;
          std::vector<double> emu, emu_scale;
          if (p == path::bf16 || p == path::bf16_weights) {
            if (p == path::bf16) xr = round_bf16(x);
            if (t == dtype::f16) wr = &wbf;
            dense(*wr, xr, rows, cols, T, emu, emu_scale);
          } else if (p == path::f16_activations) {
            xr = round_f16(x);
            dense(*wr, xr, rows, cols, T, emu, emu_scale);
          } else if (p == path::int8) {
            xr = emulate_int8(em, wdec, x, T, emu, emu_scale);
          } else {
            dense(*wr, xr, rows, cols, T, emu, emu_scale);
          }
          double worst_emu = 0, worst_bound = 0;
          for (int tt = 0; tt < T; ++tt)
            for (int r = 0; r < rows; ++r) {
              const auto i = static_cast<std::size_t>(tt * rows + r);
              const double e = std::fabs(y[i] - emu[i]) / (emu_scale[i] + 1e-6);
              worst_emu = std::max(worst_emu, e);
              double bound = 2e-5 * scale[i] + 1e-6;  // rounding of the inputs
              for (int k = 0; k < cols; ++k) {
                const auto wi = static_cast<std::size_t>(r * cols + k), xi = static_cast<std::size_t>(tt * cols + k);
                bound += std::fabs((*wr)[wi] * xr[xi] - wdec[wi] * x[xi]);
              }
              worst_bound = std::max(worst_bound, (std::fabs(y[i] - exact[i]) - bound) / (scale[i] + 1e-6));
            }
          CHECK(worst_emu < 2e-5);
          CHECK(worst_bound <= 0);
        }
      }
    }
  }
}

TEST_CASE("fp16 column panels round activations to fp16 where fp16 holds them", "[kernels][matmul]") {
  // ggml rounds the activations of fp16 weights to fp16; values beyond fp16's range would become
  // infinities there and stay fp32 here.
  const int rows = 70, cols = 40;
  const auto wf = random_vec(rows * cols, 13);
  const encoded_matrix em(dtype::f16, wf, rows, cols);
  auto x = random_vec(2 * cols, 14);
  x[3] = 1e5f, x[17] = -7e4f, x[cols + 5] = 65519.0f, x[cols + 6] = 1e-6f;
  std::vector<double> want, scale;
  dense(em.decoded(), round_f16(x), rows, cols, 2, want, scale);
  for (const auto& o : candidates()) {
    auto be = create_backend(o);
    if (path_of(be->info(), dtype::f16, cols) != path::f16_activations) continue;
    INFO("backend " << describe(*be));
    auto w = be->prepare(em.m);
    const auto y = run(*be, *w, x, rows, cols, 2, activation::none, false, std::vector<float>(2 * rows));
    for (std::size_t i = 0; i < y.size(); ++i) {
      CHECK(std::isfinite(y[i]));
      CHECK(std::fabs(y[i] - want[i]) <= 2e-5 * scale[i] + 1e-6);
    }
  }
}

TEST_CASE("a sequence and the same tokens one at a time give bit-identical products", "[kernels][matmul]") {
  const int T = 100;
  for (const auto& o : candidates()) {
    auto be = create_backend(o);
    INFO("backend " << describe(*be));
    for (dtype t : {dtype::f32, dtype::f16, dtype::bf16, dtype::q8_0, dtype::q4_0, dtype::q4_1, dtype::q5_0, dtype::q5_1}) {
      // 200 columns: bf16, and fp16 in fast precision, go to column panels (cpu_weight.hpp).
      for (const int cols : dtype_is_quantized(t) ? std::vector<int>{288, 768} : std::vector<int>{200, 290}) {
        const int rows = 70;
        INFO(dtype_name(t) << " cols " << cols);
        const auto wf = random_vec(static_cast<std::size_t>(rows * cols), 4);
        const encoded_matrix em(t, wf, rows, cols);
        auto w = be->prepare(em.m);
        const auto x = random_vec(static_cast<std::size_t>(T * cols), 5);
        std::vector<float> seq(static_cast<std::size_t>(T * rows)), one(seq.size());
        be->matmul(*w, x.data(), cols, seq.data(), rows, T, activation::none, false);
        for (int tt = 0; tt < T; ++tt)
          be->matmul(*w, x.data() + tt * cols, cols, one.data() + tt * rows, rows, 1, activation::none, false);
        CHECK(seq == one);
      }
    }
  }
}

TEST_CASE("matmul_many equals the products one by one", "[kernels][matmul]") {
  for (const auto& o : candidates()) {
    auto be = create_backend(o);
    INFO("backend " << describe(*be));
    for (int T : {1, 3, 40}) {
      const int C = 96;
      const auto w1 = random_vec(64 * C, 6), w2 = random_vec(96 * C, 7), w3 = random_vec(32 * C, 8);
      const encoded_matrix a(dtype::bf16, w1, 64, C), b(dtype::q8_0, w2, 96, C), c(dtype::f32, w3, 32, C);
      auto wa = be->prepare(a.m), wb = be->prepare(b.m), wc = be->prepare(c.m);
      const auto x1 = random_vec(static_cast<std::size_t>(T * C), 9), x2 = random_vec(static_cast<std::size_t>(T * C), 10);
      std::vector<float> ya(static_cast<std::size_t>(T * 64)), yb(static_cast<std::size_t>(T * 96), 1.0f),
          yc(static_cast<std::size_t>(T * 32));
      auto ya1 = ya, yb1 = yb, yc1 = yc;
      const matmul_job jobs[] = {{wa.get(), x1.data(), C, ya.data(), 64, activation::tanh, false},
                                 {wb.get(), x1.data(), C, yb.data(), 96, activation::none, true},
                                 {wc.get(), x2.data(), C, yc.data(), 32, activation::sigmoid, false}};
      be->matmul_many(jobs, T);
      be->matmul(*wa, x1.data(), C, ya1.data(), 64, T, activation::tanh, false);
      be->matmul(*wb, x1.data(), C, yb1.data(), 96, T, activation::none, true);
      be->matmul(*wc, x2.data(), C, yc1.data(), 32, T, activation::sigmoid, false);
      CHECK(ya == ya1);
      CHECK(yb == yb1);
      CHECK(yc == yc1);
    }
  }
}

TEST_CASE("weights converted at load report their memory and keep their values", "[kernels][matmul]") {
  for (const auto& o : candidates()) {
    auto be = create_backend(o);
    INFO("backend " << describe(*be));
    const int rows = 40, cols = 128;
    const auto wf = random_vec(rows * cols, 11);
    const encoded_matrix f32m(dtype::f32, wf, rows, cols);
    for (dtype want : {dtype::bf16, dtype::q8_0, dtype::q4_0, dtype::q4_1, dtype::q5_0, dtype::q5_1}) {
      INFO(dtype_name(want));
      auto w = be->prepare(f32m.m, want);
      CHECK(w->type() == want);
      // bf16 rows this short are stored by columns, in panels of 64 rows (the last one padded).
      const int stored_rows = want == dtype::bf16 ? 64 : rows;
      CHECK(w->owned_bytes() >= static_cast<std::size_t>(dtype_row_bytes(want, cols) * stored_rows));
      CHECK(w->bytes_per_pass() == static_cast<std::size_t>(dtype_row_bytes(want, cols) * stored_rows));
      // Same products as the reference on the same conversion (exact precision only: fast adds
      // its input rounding, covered above).
      if (be->info().precision == precision::exact) {
        auto ref = create_reference_backend();
        auto rw = ref->prepare(f32m.m, want);
        const auto x = random_vec(3 * cols, 12);
        std::vector<float> y(3 * rows), yr(3 * rows);
        be->matmul(*w, x.data(), cols, y.data(), rows, 3, activation::none, false);
        ref->matmul(*rw, x.data(), cols, yr.data(), rows, 3, activation::none, false);
        CHECK(max_rel_diff(y, yr) < 1e-4f);
      }
    }
    auto borrowed = be->prepare(f32m.m);
    CHECK(borrowed->owned_bytes() == 0);
  }
}

TEST_CASE("K-quant weights (random blocks) give the reference's products in every backend", "[kernels][matmul][kquant]") {
  // Random bytes are valid K-quant blocks once their fp16 super-block scales are sane: every
  // quant, six-bit scale and minimum (Q4_K/Q5_K) or int8 scale (Q6_K) is then exercised.
  // Exact precision uses them as stored. Fast precision with int8 dots runs Q6_K exactly (its
  // own layout) and Q4_K / Q5_K as q4_1 / q5_1 (the same quants, fp16 sub-block scales and
  // minimums): checked here against the K-quant values, the products against the emulated int8
  // arithmetic, and a sequence against the same tokens one at a time (bit for bit).
  auto ref = create_reference_backend();
  std::mt19937 rng(42);
  for (dtype t : {dtype::q4_k, dtype::q5_k, dtype::q6_k}) {
    const dtype legacy = t == dtype::q4_k ? dtype::q4_1 : t == dtype::q5_k ? dtype::q5_1 : dtype::q6_k;
    for (auto [rows, cols] : {shape{5, 256}, shape{33, 768}, shape{17, 1024}}) {
      const std::int64_t rb = dtype_row_bytes(t, cols), nb = cols / 256;
      const std::size_t block = static_cast<std::size_t>(rb / nb);
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>(rb * rows));
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
      for (std::size_t off = 0; off < bytes.size(); off += block) {
        const std::uint16_t d = f32_to_f16(0.001f + 0.002f * static_cast<float>(rng() % 100) / 100.0f);
        const std::uint16_t dmin = f32_to_f16(0.002f);
        if (t == dtype::q6_k) {
          std::memcpy(bytes.data() + off + block - 2, &d, 2);  // d is the block's last field
        } else {
          std::memcpy(bytes.data() + off, &d, 2);
          std::memcpy(bytes.data() + off + 2, &dmin, 2);
        }
      }
      const matrix m{t, rows, cols, bytes.data()};
      std::vector<float> wk(static_cast<std::size_t>(rows * cols));
      for (int r = 0; r < rows; ++r) dequantize_row(t, bytes.data() + r * rb, wk.data() + r * cols, cols);

      // The encoding fast precision uses, and how far its values are from the K-quant's.
      const std::int64_t lb = dtype_row_bytes(legacy, cols);
      std::vector<std::uint8_t> lbytes = legacy == t ? bytes : std::vector<std::uint8_t>(static_cast<std::size_t>(lb * rows));
      if (legacy != t)
        for (int r = 0; r < rows; ++r) REQUIRE(kquant_to_legacy_row(t, bytes.data() + r * rb, lbytes.data() + r * lb, cols));
      const encoded_matrix lm{legacy, lbytes, rows, cols};
      const auto wl = lm.decoded();
      for (std::size_t b0 = 0; b0 < wk.size(); b0 += 32) {
        float amax = 0, worst = 0;
        for (std::size_t j = b0; j < b0 + 32; ++j) amax = std::max(amax, std::fabs(wk[j])), worst = std::max(worst, std::fabs(wl[j] - wk[j]));
        // Q4_K/Q5_K: fp16 rounding of the sub-block's scale and minimum, at most 2^-11 of
        // (31 x scale + |minimum|) <= 2^-11 x 3 x (max|w| + 0.002 x 63). Q6_K: none.
        const float bound = legacy == t ? 0.0f : 3.0f * (amax + 0.002f * 63) / 2048.0f;
        INFO(dtype_name(t) << " block " << b0 / 32);
        REQUIRE(worst <= bound);
      }

      for (int T : {1, 3, 16}) {
        INFO(dtype_name(t) << " " << rows << "x" << cols << " T=" << T);
        const auto x = random_vec(static_cast<std::size_t>(T * cols), 7 + static_cast<std::uint32_t>(T));
        auto rw = ref->prepare(m);
        std::vector<float> want(static_cast<std::size_t>(T * rows));
        ref->matmul(*rw, x.data(), cols, want.data(), rows, T, activation::none, false);
        for (const auto& o : candidates()) {
          auto be = create_backend(o);
          INFO("backend " << describe(*be));
          auto w = be->prepare(m);
          std::vector<float> y(static_cast<std::size_t>(T * rows));
          be->matmul(*w, x.data(), cols, y.data(), rows, T, activation::none, false);
          if (path_of(be->info(), legacy) != path::int8) {
            CHECK(w->type() == t);  // used as stored
            CHECK(w->owned_bytes() == 0);
            CHECK(max_rel_diff(y, want) < 2e-4f);
            continue;
          }
          CHECK(w->type() == legacy);
          // Q6_K: 8 bits per quant, the fp16 scale and two int8 half scales per 32 values.
          if (t == dtype::q6_k) CHECK(w->bytes_per_pass() == static_cast<std::size_t>(rows * cols * 9 / 8));
          std::vector<double> emu, scale;
          emulate_int8(lm, wl, x, T, emu, scale);
          double worst = 0;
          for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(y[i] - emu[i]) / (scale[i] + 1e-6));
          CHECK(worst < 2e-5);
          std::vector<float> one(y.size());
          for (int tt = 0; tt < T; ++tt)
            be->matmul(*w, x.data() + tt * cols, cols, one.data() + tt * rows, rows, 1, activation::none, false);
          CHECK(one == y);
        }
      }
    }
  }
}

TEST_CASE("int8 activations beyond fp16's range keep fp32 scales instead of inf or zero", "[kernels][matmul]") {
  // Blocks whose scale max|x| / 127 overflows fp16 (or whose q8_1 sum does) or underflows it.
  const int rows = 9, cols = 128;
  std::vector<float> x = random_vec(cols, 31);
  for (int j = 0; j < 32; ++j) x[static_cast<std::size_t>(j)] *= 3e7f;        // d ~ 2e5: beyond fp16
  for (int j = 32; j < 64; ++j) x[static_cast<std::size_t>(j)] *= 5e3f;       // d fits, s may not
  for (int j = 64; j < 96; ++j) x[static_cast<std::size_t>(j)] *= 1e-12f;     // d below fp16's subnormals
  for (dtype t : {dtype::q8_0, dtype::q4_1}) {
    INFO(dtype_name(t));
    const encoded_matrix em(t, random_vec(static_cast<std::size_t>(rows * cols), 32), rows, cols);
    const auto wdec = em.decoded();
    for (const auto& o : candidates()) {
      auto be = create_backend(o);
      INFO("backend " << describe(*be));
      auto w = be->prepare(em.m);
      std::vector<float> y(rows);
      be->matmul(*w, x.data(), cols, y.data(), rows, 1, activation::none, false);
      for (float v : y) CHECK(std::isfinite(v));
      if (path_of(be->info(), t) != path::int8) continue;
      std::vector<double> emu, scale;
      emulate_int8(em, wdec, x, 1, emu, scale);
      for (int r = 0; r < rows; ++r) CHECK(std::fabs(y[static_cast<std::size_t>(r)] - emu[static_cast<std::size_t>(r)]) <= 2e-5 * scale[static_cast<std::size_t>(r)]);
    }
  }
}

TEST_CASE("weights converted to a K-quant at load run as a file of that K-quant would", "[kernels][matmul][kquant]") {
  // --dtype q4_k|q5_k|q6_k: the matrix is encoded by the K-quant encoder and then treated as if
  // stored that way (fast precision: Q6_K in its own layout, Q4_K / Q5_K as q4_1 / q5_1), so its
  // products are bit-identical to those of the encoded bytes loaded directly.
  const int rows = 33, cols = 768, T = 5;
  const auto wf = random_vec(static_cast<std::size_t>(rows * cols), 21);
  const auto x = random_vec(static_cast<std::size_t>(T * cols), 22);
  const encoded_matrix f32m(dtype::f32, wf, rows, cols);
  for (dtype t : {dtype::q4_k, dtype::q5_k, dtype::q6_k}) {
    const encoded_matrix stored(t, wf, rows, cols);
    for (const auto& o : candidates()) {
      auto be = create_backend(o);
      INFO(dtype_name(t) << " backend " << describe(*be));
      auto converted = be->prepare(f32m.m, t), direct = be->prepare(stored.m);
      CHECK(converted->type() == direct->type());
      CHECK(converted->bytes_per_pass() == direct->bytes_per_pass());
      std::vector<float> a(static_cast<std::size_t>(T * rows)), b(a.size());
      be->matmul(*converted, x.data(), cols, a.data(), rows, T, activation::none, false);
      be->matmul(*direct, x.data(), cols, b.data(), rows, T, activation::none, false);
      CHECK(a == b);
    }
  }
}
