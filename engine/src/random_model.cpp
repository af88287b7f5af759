#include "engine/random_model.hpp"

#include "engine/error.hpp"

#include <cmath>
#include <vector>

namespace rwkv::engine {

namespace {

// Small, fast, deterministic generator: multi-GB models are filled in a second or two.
class rng {
 public:
  explicit rng(std::uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>(next() >> 40) * 0x1p-24f; }
  // Roughly normal (sum of uniforms), mean 0, standard deviation `sd`.
  float normal(float sd) {
    float s = 0;
    for (int i = 0; i < 4; ++i) s += uniform(-1.0f, 1.0f);
    return s * sd * 0.8660254f;
  }

 private:
  std::uint64_t s_;
};

class builder {
 public:
  builder(tensor_store& store, const random_model_spec& spec) : store_(store), spec_(spec), rng_(spec.seed) {}

  void vec(const std::string& name, std::vector<std::int64_t> shape, float lo, float hi) {
    std::vector<float> v(static_cast<std::size_t>(numel(shape)));
    for (float& x : v) x = rng_.uniform(lo, hi);
    store_.add_owned_f32(name, std::move(shape), std::move(v));
  }
  void constant(const std::string& name, std::vector<std::int64_t> shape, float value) {
    store_.add_owned_f32(name, shape, std::vector<float>(static_cast<std::size_t>(numel(shape)), value));
  }
  // A matrix [rows][cols] with entries ~ N(0, scale^2 / cols), in the spec's type. Small ones
  // (LoRAs) share it when it is a plain float type, as in BlinkDL's bf16/fp16 files, else f32.
  void mat(const std::string& name, std::int64_t rows, std::int64_t cols, float scale, bool large = true) {
    const kernels::dtype m = spec_.matrix_type;
    const bool plain = m == kernels::dtype::f32 || m == kernels::dtype::f16 || m == kernels::dtype::bf16;
    const kernels::dtype t = large || plain ? m : kernels::dtype::f32;
    const float sd = scale / std::sqrt(static_cast<float>(cols));
    const std::int64_t row_bytes = kernels::dtype_row_bytes(t, cols);
    if (row_bytes < 0)
      throw error(errc::bad_argument, name + ": " + std::to_string(cols) + " columns do not fit " +
                                          std::string(kernels::dtype_name(t)) + " blocks");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(row_bytes * rows));
    std::vector<float> row(static_cast<std::size_t>(cols));
    for (std::int64_t r = 0; r < rows; ++r) {
      for (float& x : row) x = rng_.normal(sd);
      kernels::quantize_row(t, row.data(), bytes.data() + r * row_bytes, cols);
    }
    store_.add_owned(name, t, {rows, cols}, std::move(bytes));
  }
  // A 3-D tensor [n][rows][cols] in f32 (v6 time_maa_w2).
  void mat3(const std::string& name, std::int64_t n, std::int64_t rows, std::int64_t cols, float sd) {
    std::vector<float> v(static_cast<std::size_t>(n * rows * cols));
    for (float& x : v) x = rng_.normal(sd);
    store_.add_owned_f32(name, {n, rows, cols}, std::move(v));
  }

 private:
  static std::int64_t numel(const std::vector<std::int64_t>& s) {
    std::int64_t n = 1;
    for (auto d : s) n *= d;
    return n;
  }
  tensor_store& store_;
  const random_model_spec& spec_;
  rng rng_;
};

}  // namespace

std::optional<random_model_spec> random_model_shape(const std::string& name) {
  random_model_spec s;
  s.arch = architecture::v7;
  s.n_vocab = 65536;
  s.head_size = 64;
  s.matrix_type = kernels::dtype::bf16;
  if (name == "0.1b") {
    s.n_layer = 12, s.n_embd = 768;
    s.lora_decay = 64, s.lora_aaa = 64, s.lora_value = 32, s.lora_gate = 128;
  } else if (name == "0.4b") {
    s.n_layer = 24, s.n_embd = 1024;
    s.lora_decay = 64, s.lora_aaa = 64, s.lora_value = 32, s.lora_gate = 128;
  } else if (name == "1.5b") {
    s.n_layer = 24, s.n_embd = 2048;
    s.lora_decay = 96, s.lora_aaa = 96, s.lora_value = 64, s.lora_gate = 256;
  } else if (name == "2.9b") {
    s.n_layer = 32, s.n_embd = 2560;
    s.lora_decay = 96, s.lora_aaa = 96, s.lora_value = 64, s.lora_gate = 320;
  } else {
    return std::nullopt;
  }
  s.n_ffn = 4 * s.n_embd;
  return s;
}

tensor_store make_random_model(const random_model_spec& spec) {
  tensor_store store;
  store.format = "random";
  store.source = "<random model>";
  builder b(store, spec);
  const std::int64_t C = spec.n_embd, V = spec.n_vocab;
  const bool v4 = spec.arch == architecture::v4;
  const std::int64_t N = spec.head_size, H = v4 ? 0 : C / N;
  std::int64_t F = spec.n_ffn;
  const bool v5 = spec.arch == architecture::v5_0 || spec.arch == architecture::v5_1 || spec.arch == architecture::v5_2;
  if (F == 0) F = (v5 || spec.arch == architecture::v6) ? C * 7 / 2 / 32 * 32 : 4 * C;
  if (!v4 && (N <= 0 || C % N != 0))
    throw error(errc::bad_argument, "embedding size must be a multiple of the head size");

  b.mat("emb.weight", V, C, 1.0f * std::sqrt(static_cast<float>(C)) * 0.1f);
  b.vec("blocks.0.ln0.weight", {C}, 0.8f, 1.2f);
  b.vec("blocks.0.ln0.bias", {C}, -0.1f, 0.1f);
  for (int i = 0; i < spec.n_layer; ++i) {
    const std::string p = "blocks." + std::to_string(i) + ".";
    const std::string a = p + "att.", f = p + "ffn.";
    b.vec(p + "ln1.weight", {C}, 0.8f, 1.2f);
    b.vec(p + "ln1.bias", {C}, -0.1f, 0.1f);
    b.vec(p + "ln2.weight", {C}, 0.8f, 1.2f);
    b.vec(p + "ln2.bias", {C}, -0.1f, 0.1f);
    switch (spec.arch) {
      case architecture::v4:
        b.vec(a + "time_decay", {C}, -2.0f, 2.0f);
        b.vec(a + "time_first", {C}, -1.0f, 1.0f);
        for (const char* m : {"time_mix_k", "time_mix_v", "time_mix_r"}) b.vec(a + m, {1, 1, C}, 0.0f, 1.0f);
        b.mat(a + "key.weight", C, C, 1.0f);
        b.mat(a + "value.weight", C, C, 1.0f);
        b.mat(a + "receptance.weight", C, C, 1.0f);
        b.mat(a + "output.weight", C, C, 0.5f);
        break;
      case architecture::v5_0:
      case architecture::v5_1:
      case architecture::v5_2:
      case architecture::v6:
        if (v5) {
          const bool gated = spec.arch != architecture::v5_0, per_head = spec.arch != architecture::v5_2;
          for (const char* m : {"time_mix_k", "time_mix_v", "time_mix_r"}) b.vec(a + m, {1, 1, C}, 0.0f, 1.0f);
          if (gated) b.vec(a + "time_mix_g", {1, 1, C}, 0.0f, 1.0f);
          if (per_head) {
            b.vec(a + "time_decay", {H}, -3.0f, 1.0f);
            b.vec(a + "time_first", {H}, -1.0f, 0.5f);  // the bonus is exp(time_first)
          } else {
            b.vec(a + "time_decay", {H, N}, -3.0f, 1.0f);
          }
        } else {
          for (const char* m : {"time_maa_x", "time_maa_w", "time_maa_k", "time_maa_v", "time_maa_r", "time_maa_g"})
            b.vec(a + m, {1, 1, C}, 0.0f, 1.0f);
          b.mat(a + "time_maa_w1", C, 5 * spec.lora_mix, 0.5f, false);
          b.mat3(a + "time_maa_w2", 5, spec.lora_mix, C, 0.1f);
          b.vec(a + "time_decay", {1, 1, C}, -3.0f, 1.0f);
          b.mat(a + "time_decay_w1", C, spec.lora_decay, 0.5f, false);
          b.mat(a + "time_decay_w2", spec.lora_decay, C, 0.5f, false);
        }
        if (spec.arch == architecture::v5_2 || spec.arch == architecture::v6) b.vec(a + "time_faaaa", {H, N}, -0.5f, 0.5f);
        b.mat(a + "receptance.weight", C, C, 1.0f);
        b.mat(a + "key.weight", C, C, 1.0f);
        b.mat(a + "value.weight", C, C, 1.0f);
        b.mat(a + "output.weight", C, C, 0.5f);
        if (spec.arch != architecture::v5_0) b.mat(a + "gate.weight", C, C, 1.0f);
        b.vec(a + "ln_x.weight", {C}, 0.8f, 1.2f);
        b.vec(a + "ln_x.bias", {C}, -0.1f, 0.1f);
        break;
      case architecture::v7:
        for (const char* m : {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g"}) b.vec(a + m, {1, 1, C}, 0.0f, 1.0f);
        b.vec(a + "w0", {1, 1, C}, -3.0f, 0.5f);
        b.mat(a + "w1", C, spec.lora_decay, 0.5f, false);
        b.mat(a + "w2", spec.lora_decay, C, 0.5f, false);
        b.vec(a + "a0", {1, 1, C}, -1.0f, 1.0f);
        b.mat(a + "a1", C, spec.lora_aaa, 0.5f, false);
        b.mat(a + "a2", spec.lora_aaa, C, 0.5f, false);
        if (i > 0) {
          b.vec(a + "v0", {1, 1, C}, -1.0f, 1.0f);
          b.mat(a + "v1", C, spec.lora_value, 0.5f, false);
          b.mat(a + "v2", spec.lora_value, C, 0.5f, false);
        }
        b.mat(a + "g1", C, spec.lora_gate, 0.5f, false);
        b.mat(a + "g2", spec.lora_gate, C, 0.5f, false);
        b.vec(a + "k_k", {1, 1, C}, 0.5f, 1.5f);
        b.vec(a + "k_a", {1, 1, C}, 0.0f, 1.0f);
        b.vec(a + "r_k", {H, N}, -0.5f, 0.5f);
        b.mat(a + "receptance.weight", C, C, 1.0f);
        b.mat(a + "key.weight", C, C, 1.0f);
        b.mat(a + "value.weight", C, C, 1.0f);
        b.mat(a + "output.weight", C, C, 0.5f);
        b.vec(a + "ln_x.weight", {C}, 0.8f, 1.2f);
        b.vec(a + "ln_x.bias", {C}, -0.1f, 0.1f);
        break;
    }
    if (spec.arch == architecture::v7) {
      b.vec(f + "x_k", {1, 1, C}, 0.0f, 1.0f);
    } else {
      const std::string mix = spec.arch == architecture::v6 ? "time_maa" : "time_mix";
      b.vec(f + mix + "_k", {1, 1, C}, 0.0f, 1.0f);
      b.vec(f + mix + "_r", {1, 1, C}, 0.0f, 1.0f);
      b.mat(f + "receptance.weight", C, C, 1.0f);
    }
    b.mat(f + "key.weight", F, C, 1.0f);
    b.mat(f + "value.weight", C, F, 0.5f);
  }
  b.vec("ln_out.weight", {C}, 0.8f, 1.2f);
  b.vec("ln_out.bias", {C}, -0.1f, 0.1f);
  b.mat("head.weight", V, C, 1.0f);
  return store;
}

}  // namespace rwkv::engine
