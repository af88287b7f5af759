// RWKV-5.0 and 5.1 checkpoints: one decay and one bonus per head (the bonus stored as time_first,
// used as exp(time_first)), and for 5.0 no gate. The golden set has only 5.2, so these tests carry
// their own yardstick: a plain single-token RWKV-5 forward written straight from the definition
// (ChatRWKV's att_one_v5 / att_one_v5_1 / 5.2 formulas), first checked against BlinkDL's 5.2 logits,
// then run on 5.0/5.1 models derived from the golden 5.2 weights.
#include "engine/context.hpp"
#include "engine/convert.hpp"
#include "engine/error.hpp"
#include "engine/model.hpp"
#include "engine/random_model.hpp"
#include "format_builders.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace rwkv;
using engine::architecture;

namespace {

using vec = std::vector<double>;

// Single-token RWKV-5.x in double precision, loops only. Reads the variant from the tensors:
// time_faaaa [H,N] (5.2) or time_first [H] (bonus exp(time_first)); gate.weight present or not.
class v5_reference {
 public:
  explicit v5_reference(const engine::tensor_store& s) : s_(s) {
    const auto& emb = *s.find("emb.weight");
    V_ = emb.shape[0];
    C_ = emb.shape[1];
    while (s.contains("blocks." + std::to_string(L_) + ".ln1.weight")) ++L_;
    H_ = s.find("blocks.0.att.time_decay")->numel();
    per_head_ = !s.contains("blocks.0.att.time_faaaa");
    if (!per_head_) H_ = s.find("blocks.0.att.time_faaaa")->shape[0];
    N_ = C_ / H_;
    gated_ = s.contains("blocks.0.att.gate.weight");
    state_.assign(static_cast<std::size_t>(L_ * (2 * C_ + H_ * N_ * N_)), 0.0);
  }

  std::vector<float> step(std::int32_t token) {
    vec x = row("emb.weight", token, C_);
    x = layer_norm(x, "blocks.0.ln0");
    const std::int64_t layer_size = 2 * C_ + H_ * N_ * N_;
    for (std::int64_t i = 0; i < L_; ++i) {
      const std::string p = "blocks." + std::to_string(i) + ".", a = p + "att.", f = p + "ffn.";
      double* att_prev = state_.data() + i * layer_size;
      double* S = att_prev + C_;
      double* ffn_prev = S + H_ * N_ * N_;

      vec xx = layer_norm(x, p + "ln1");
      auto mixed = [&](const std::string& m) {
        vec mix = values(a + m), out(static_cast<std::size_t>(C_));
        for (std::int64_t c = 0; c < C_; ++c) out[c] = xx[c] * mix[c] + att_prev[c] * (1 - mix[c]);
        return out;
      };
      vec r = matvec(a + "receptance.weight", mixed("time_mix_r"));
      vec k = matvec(a + "key.weight", mixed("time_mix_k"));
      vec v = matvec(a + "value.weight", mixed("time_mix_v"));
      vec decay = values(a + "time_decay");
      vec bonus = values(a + (per_head_ ? "time_first" : "time_faaaa"));
      vec y(static_cast<std::size_t>(C_), 0.0);
      for (std::int64_t h = 0; h < H_; ++h)
        for (std::int64_t ki = 0; ki < N_; ++ki) {
          const std::int64_t c = h * N_ + ki;
          const double w = std::exp(-std::exp(per_head_ ? decay[h] : decay[c]));
          const double u = per_head_ ? std::exp(bonus[h]) : bonus[c];
          for (std::int64_t vj = 0; vj < N_; ++vj) {
            double& s = S[(h * N_ + ki) * N_ + vj];
            const double kv = k[c] * v[h * N_ + vj];
            y[h * N_ + vj] += r[c] * (u * kv + s);
            s = kv + w * s;
          }
        }
      vec lw = values(a + "ln_x.weight"), lb = values(a + "ln_x.bias");
      for (std::int64_t h = 0; h < H_; ++h) {
        double mean = 0, var = 0;
        for (std::int64_t j = 0; j < N_; ++j) mean += y[h * N_ + j];
        mean /= N_;
        for (std::int64_t j = 0; j < N_; ++j) var += (y[h * N_ + j] - mean) * (y[h * N_ + j] - mean);
        var /= N_;
        for (std::int64_t j = 0; j < N_; ++j) {
          const std::int64_t c = h * N_ + j;
          y[c] = (y[c] - mean) / std::sqrt(var + 64e-5) * lw[c] + lb[c];
        }
      }
      if (gated_) {
        vec g = matvec(a + "gate.weight", mixed("time_mix_g"));
        for (std::int64_t c = 0; c < C_; ++c) y[c] *= g[c] / (1 + std::exp(-g[c]));
      }
      vec o = matvec(a + "output.weight", y);
      for (std::int64_t c = 0; c < C_; ++c) x[c] += o[c], att_prev[c] = xx[c];

      xx = layer_norm(x, p + "ln2");
      vec mk = values(f + "time_mix_k"), mr = values(f + "time_mix_r"), xk(xx.size()), xr(xx.size());
      for (std::int64_t c = 0; c < C_; ++c) {
        xk[c] = xx[c] * mk[c] + ffn_prev[c] * (1 - mk[c]);
        xr[c] = xx[c] * mr[c] + ffn_prev[c] * (1 - mr[c]);
      }
      vec kk = matvec(f + "key.weight", xk);
      for (double& z : kk) z = z > 0 ? z * z : 0;
      vec vv = matvec(f + "value.weight", kk), rr = matvec(f + "receptance.weight", xr);
      for (std::int64_t c = 0; c < C_; ++c) x[c] += vv[c] / (1 + std::exp(-rr[c])), ffn_prev[c] = xx[c];
    }
    vec logits = matvec("head.weight", layer_norm(x, "ln_out"));
    return std::vector<float>(logits.begin(), logits.end());
  }

 private:
  vec values(const std::string& name) const {
    auto f = test::values_of(*s_.find(name));
    return vec(f.begin(), f.end());
  }
  vec row(const std::string& name, std::int64_t r, std::int64_t n) const {
    vec all = values(name);
    return vec(all.begin() + r * n, all.begin() + (r + 1) * n);
  }
  vec matvec(const std::string& name, const vec& in) const {
    const vec w = values(name);
    const auto cols = static_cast<std::int64_t>(in.size()), rows = static_cast<std::int64_t>(w.size()) / cols;
    vec out(static_cast<std::size_t>(rows), 0.0);
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) out[i] += w[i * cols + j] * in[j];
    return out;
  }
  vec layer_norm(const vec& in, const std::string& prefix) const {
    const vec w = values(prefix + ".weight"), b = values(prefix + ".bias");
    double mean = 0, var = 0;
    for (double z : in) mean += z;
    mean /= static_cast<double>(in.size());
    for (double z : in) var += (z - mean) * (z - mean);
    var /= static_cast<double>(in.size());
    vec out(in.size());
    for (std::size_t c = 0; c < in.size(); ++c) out[c] = (in[c] - mean) / std::sqrt(var + 1e-5) * w[c] + b[c];
    return out;
  }

  const engine::tensor_store& s_;
  std::int64_t V_ = 0, C_ = 0, L_ = 0, H_ = 0, N_ = 0;
  bool per_head_ = false, gated_ = false;
  vec state_;
};

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// The golden 5.2 model turned into 5.1 (or 5.0 without the gate): head h decays at the rate of its
// first channel, and its bonus exp(time_first) is the mean of its time_faaaa (a real model's scale).
engine::tensor_store per_head_variant(const engine::tensor_store& golden, bool gated,
                                      std::vector<std::int64_t> vector_shape_suffix = {}) {
  engine::tensor_store out;
  out.source = "<golden v5.2 made per-head>";
  out.format = "test";
  for (const auto& [name, t] : golden.tensors()) {
    auto v = test::values_of(t);
    const bool decay = name.find(".att.time_decay") != std::string::npos;
    const bool faaaa = name.find(".att.time_faaaa") != std::string::npos;
    if (!gated && (name.find(".att.gate.") != std::string::npos || name.find(".att.time_mix_g") != std::string::npos))
      continue;
    if (decay || faaaa) {
      const std::int64_t H = t.shape[0], N = t.shape[1];
      std::vector<float> per_head(static_cast<std::size_t>(H));
      for (std::int64_t h = 0; h < H; ++h) {
        if (decay) {
          per_head[h] = v[h * N];
        } else {
          double mean = 0;
          for (std::int64_t j = 0; j < N; ++j) mean += v[h * N + j];
          per_head[h] = static_cast<float>(std::log(std::fabs(mean / N) + 0.05));
        }
      }
      std::vector<std::int64_t> shape{H};
      shape.insert(shape.end(), vector_shape_suffix.begin(), vector_shape_suffix.end());
      out.add_owned_f32(faaaa ? name.substr(0, name.size() - 5) + "first" : name, shape, std::move(per_head));
      continue;
    }
    out.add_owned_f32(name, t.shape, std::move(v));
  }
  return out;
}

// Engine (single-token and sequence mode) against the reference, every golden step.
void check_against_reference(const engine::tensor_store& store, architecture want) {
  auto m = engine::model::from_store(engine::tensor_store(store));
  REQUIRE(m->config().arch == want);
  CHECK(m->config().head_size * m->config().n_head == m->config().n_embd);
  RWKV_REQUIRE_SHARED(json_path, "golden/v5-small.json");
  const auto tokens = test::read_json(json_path)["tokens"].get<std::vector<std::int32_t>>();
  v5_reference ref(store);
  engine::context ctx(m);
  auto rnn = m->initial_state();
  const auto V = static_cast<std::size_t>(m->config().n_vocab);
  std::vector<float> logits(V), all(tokens.size() * V);
  std::vector<std::vector<float>> want_steps;
  float worst = 0;
  for (std::int32_t t : tokens) {
    want_steps.push_back(ref.step(t));
    engine::eval_options o;
    o.mode = engine::eval_mode::rnn;
    REQUIRE(ctx.eval(std::span(&t, 1), rnn, logits.data(), o) == 1);
    worst = std::max(worst, max_abs_diff(logits, want_steps.back()));
  }
  INFO("v" << engine::architecture_name(want) << ": worst single-token logit difference " << worst);
  CHECK(worst < 1e-4f);

  auto seq = m->initial_state();
  engine::eval_options o;
  o.chunk = 7;
  o.all_logits = all.data();
  REQUIRE(ctx.eval(tokens, seq, nullptr, o) == tokens.size());
  float worst_seq = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t)
    worst_seq = std::max(worst_seq, max_abs_diff(std::vector<float>(all.begin() + t * V, all.begin() + (t + 1) * V),
                                                 want_steps[t]));
  CHECK(worst_seq < 1e-4f);
  CHECK(seq.max_abs_diff(rnn) < 1e-5f);
}

}  // namespace

TEST_CASE("the RWKV-5 test reference reproduces BlinkDL's 5.2 logits", "[engine][v5]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v5-small.pth");
  RWKV_REQUIRE_SHARED(json_path, "golden/v5-small.json");
  const auto golden = engine::read_model_file(pth);
  const auto j = test::read_json(json_path);
  const auto tokens = j["tokens"].get<std::vector<std::int32_t>>();
  const auto steps = j["logits_steps"].get<std::vector<std::vector<float>>>();
  v5_reference ref(golden);
  float worst = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) worst = std::max(worst, max_abs_diff(ref.step(tokens[t]), steps[t]));
  INFO("worst difference " << worst);
  CHECK(worst < 1e-4f);
}

TEST_CASE("RWKV-5.1 checkpoints (per-head decay and a gate) run and match the reference", "[engine][v5]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v5-small.pth");
  const auto golden = engine::read_model_file(pth);
  check_against_reference(per_head_variant(golden, true), architecture::v5_1);
  // BlinkDL checkpoints keep the per-head vectors as [H] or unsqueezed [H,1,1]; both load alike.
  check_against_reference(per_head_variant(golden, true, {1, 1}), architecture::v5_1);
}

TEST_CASE("RWKV-5.0 checkpoints (per-head decay and no gate) run and match the reference", "[engine][v5]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v5-small.pth");
  check_against_reference(per_head_variant(engine::read_model_file(pth), false), architecture::v5_0);
}

TEST_CASE("a 5.1 model equals the 5.2 model holding its per-head values in every channel", "[engine][v5]") {
  // Independent of the reference: 5.2 (validated by the golden file) with decay and bonus
  // exp(time_first) repeated over each head's channels computes the same function.
  RWKV_REQUIRE_SHARED(pth, "golden/v5-small.pth");
  const auto v51 = per_head_variant(engine::read_model_file(pth), true);
  engine::tensor_store v52;
  v52.source = "<5.1 spread per channel>";
  v52.format = "test";
  const std::int64_t N = 64;
  for (const auto& [name, t] : v51.tensors()) {
    auto v = test::values_of(t);
    const bool decay = name.find(".att.time_decay") != std::string::npos;
    const bool first = name.find(".att.time_first") != std::string::npos;
    if (decay || first) {
      std::vector<float> spread;
      for (float x : v) spread.insert(spread.end(), N, first ? std::exp(x) : x);
      const auto H = static_cast<std::int64_t>(v.size());
      v52.add_owned_f32(first ? name.substr(0, name.size() - 5) + "faaaa" : name, {H, N}, std::move(spread));
    } else {
      v52.add_owned_f32(name, t.shape, std::move(v));
    }
  }
  auto a = engine::model::from_store(engine::tensor_store(v51));
  auto b = engine::model::from_store(std::move(v52));
  REQUIRE(a->config().arch == architecture::v5_1);
  REQUIRE(b->config().arch == architecture::v5_2);
  RWKV_REQUIRE_SHARED(json_path, "golden/v5-small.json");
  const auto tokens = test::read_json(json_path)["tokens"].get<std::vector<std::int32_t>>();
  engine::context ca(a), cb(b);
  auto sa = a->initial_state(), sb = b->initial_state();
  std::vector<float> la(static_cast<std::size_t>(a->config().n_vocab)), lb(la.size());
  REQUIRE(ca.eval(tokens, sa, la.data()) == tokens.size());
  REQUIRE(cb.eval(tokens, sb, lb.data()) == tokens.size());
  CHECK(max_abs_diff(la, lb) < 1e-5f);
  // Same state layout; the layouts' architecture tags differ, so compare the numbers.
  CHECK(max_abs_diff(std::vector<float>(sa.data().begin(), sa.data().end()),
                     std::vector<float>(sb.data().begin(), sb.data().end())) < 1e-5f);
}

TEST_CASE("RWKV-5 checkpoints with inconsistent decay shapes get clear errors", "[engine][v5]") {
  engine::random_model_spec spec;
  spec.arch = architecture::v5_1;
  spec.n_embd = 128;
  spec.head_size = 64;
  const auto base = engine::make_random_model(spec);
  auto with = [&](const std::string& name, std::vector<std::int64_t> shape) {
    engine::tensor_store s;
    s.source = "<edited>";
    for (const auto& [n, t] : base.tensors()) {
      if (n == name) {
        std::int64_t numel = 1;
        for (auto d : shape) numel *= d;
        s.add_owned_f32(n, shape, std::vector<float>(static_cast<std::size_t>(numel), 0.5f));
      } else {
        s.add_owned_f32(n, t.shape, test::values_of(t));
      }
    }
    return s;
  };
  auto bad_model = [](const engine::tensor_store& s, const char* phrase) {
    try {
      engine::model::from_store(engine::tensor_store(s));
      FAIL("loaded");
    } catch (const engine::error& e) {
      INFO(e.what());
      CHECK(e.code() == engine::errc::bad_model);
      CHECK(std::string(e.what()).find(phrase) != std::string::npos);
    }
  };
  bad_model(with("blocks.0.att.time_decay", {3}), "do not divide the embedding size");
  bad_model(with("blocks.0.att.time_decay", {2, 2, 2}), "expected [heads] or [heads, head_size]");
  bad_model(with("blocks.1.att.time_first", {4}), "time_first");
}

TEST_CASE("RWKV-5.0 and 5.1 checkpoints convert to safetensors and read back", "[engine][v5][formats]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v5-small.pth");
  const auto golden = engine::read_model_file(pth);
  const auto dir = test::temp_dir("v5-variants-convert");
  for (bool gated : {false, true}) {
    const auto store = per_head_variant(golden, gated);
    const std::string path = dir + (gated ? "/v51.safetensors" : "/v50.safetensors");
    engine::convert_options o;
    o.format = engine::output_format::safetensors;
    o.dtype = kernels::dtype::bf16;
    engine::write_model(store, path, o);
    const auto back = engine::read_model_file(path);
    // Per-head vectors stay fp32; the matrices are bf16.
    CHECK(back.find("blocks.0.att.time_first")->type == kernels::dtype::f32);
    CHECK(back.find("blocks.0.att.time_decay")->type == kernels::dtype::f32);
    CHECK(back.find("blocks.0.att.key.weight")->type == kernels::dtype::bf16);
    auto m = engine::model::load(path);
    CHECK(m->config().arch == (gated ? architecture::v5_1 : architecture::v5_0));

    o.dtype = kernels::dtype::f32;
    engine::write_model(store, path, o);
    auto exact = engine::model::load(path);
    auto direct = engine::model::from_store(engine::tensor_store(store));
    const std::vector<std::int32_t> tokens{5, 300, 17, 17, 2, 511};
    std::vector<float> a(512), b(512);
    engine::context ca(exact), cb(direct);
    auto sa = exact->initial_state(), sb = direct->initial_state();
    REQUIRE(ca.eval(tokens, sa, a.data()) == tokens.size());
    REQUIRE(cb.eval(tokens, sb, b.data()) == tokens.size());
    CHECK(max_abs_diff(a, b) == 0.0f);
  }
}
