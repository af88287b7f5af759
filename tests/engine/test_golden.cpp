// Every golden model in ../shared/golden against BlinkDL's reference implementation: logits after
// every step and the final state, in single-token and sequence mode, and the two modes against each
// other.
#include "engine/context.hpp"
#include "engine/model.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace rwkv;

namespace {

float max_abs_diff(const float* a, const std::vector<float>& b) {
  float m = 0;
  for (std::size_t i = 0; i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct golden {
  std::string name;
  nlohmann::json json;
  std::shared_ptr<const engine::model> model;
};

void check_model(const std::string& name, const engine::load_options& options = {}) {
  RWKV_REQUIRE_SHARED(json_path, "golden/" + name + ".json");
  RWKV_REQUIRE_SHARED(pth_path, "golden/" + name + ".pth");
  auto j = test::read_json(json_path);
  auto m = engine::model::load(pth_path, options);
  const auto& cfg = m->config();
  CHECK(cfg.n_layer == j["n_layer"].get<int>());
  CHECK(cfg.n_embd == j["n_embd"].get<int>());
  CHECK(cfg.n_vocab == j["n_vocab"].get<int>());
  CHECK(cfg.n_ffn == j["ffn"].get<int>());
  if (!j["head_size"].is_null()) CHECK(cfg.head_size == j["head_size"].get<int>());

  const auto tokens = j["tokens"].get<std::vector<std::int32_t>>();
  const auto steps = j["logits_steps"].get<std::vector<std::vector<float>>>();
  const auto V = static_cast<std::size_t>(cfg.n_vocab);
  REQUIRE(steps.size() == tokens.size());

  // Reference final state: the per-layer tensors concatenated in state_layout order.
  std::vector<float> want_state;
  for (const auto& part : j["state_final"]) {
    auto v = part.get<std::vector<float>>();
    want_state.insert(want_state.end(), v.begin(), v.end());
  }

  engine::context ctx(m);

  // Single-token mode: logits after every step.
  auto rnn = m->initial_state();
  REQUIRE(static_cast<std::size_t>(rnn.data().size()) == want_state.size());
  std::vector<float> logits(V);
  float worst_step = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    engine::eval_options o;
    o.mode = engine::eval_mode::rnn;
    REQUIRE(ctx.eval(std::span(&tokens[t], 1), rnn, logits.data(), o) == 1);
    worst_step = std::max(worst_step, max_abs_diff(logits.data(), steps[t]));
  }
  INFO(name << ": worst rnn logit difference " << worst_step);
  CHECK(worst_step < 1e-4f);
  CHECK(max_abs_diff(logits.data(), j["logits_last"].get<std::vector<float>>()) < 1e-4f);
  CHECK(max_abs_diff(rnn.data().data(), want_state) < 1e-4f);

  // Sequence mode, with logits for every position, at several chunk sizes.
  for (std::int64_t chunk : {std::int64_t{1}, std::int64_t{5}, std::int64_t{64}}) {
    INFO("chunk " << chunk);
    auto seq = m->initial_state();
    std::vector<float> all(tokens.size() * V);
    engine::eval_options o;
    o.chunk = chunk;
    o.all_logits = all.data();
    REQUIRE(ctx.eval(tokens, seq, nullptr, o) == tokens.size());
    float worst = 0;
    for (std::size_t t = 0; t < tokens.size(); ++t) worst = std::max(worst, max_abs_diff(all.data() + t * V, steps[t]));
    CHECK(worst < 1e-4f);
    CHECK(seq.max_abs_diff(rnn) < 1e-5f);
    CHECK(max_abs_diff(rnn.data().data(), std::vector<float>(seq.data().begin(), seq.data().end())) < 1e-5f);
  }

  // Last-token logits only.
  auto s = m->initial_state();
  REQUIRE(ctx.eval(tokens, s, logits.data()) == tokens.size());
  CHECK(max_abs_diff(logits.data(), steps.back()) < 1e-4f);
}

}  // namespace

TEST_CASE("golden v4 fp32 matches the reference", "[engine][golden]") { check_model("v4-small"); }
TEST_CASE("golden v4 fp16 matches the reference", "[engine][golden]") { check_model("v4-fp16"); }
TEST_CASE("golden v5.2 matches the reference", "[engine][golden]") { check_model("v5-small"); }
TEST_CASE("golden v6 matches the reference", "[engine][golden]") { check_model("v6-small"); }
TEST_CASE("golden v7 fp32 matches the reference", "[engine][golden]") { check_model("v7-small"); }
TEST_CASE("golden v7 bf16 matches the reference", "[engine][golden]") { check_model("v7-bf16"); }

TEST_CASE("golden models match on the scalar reference backend too", "[engine][golden]") {
  engine::load_options o;
  o.backend.name = "cpu-reference";
  for (const char* name : {"v4-small", "v5-small", "v6-small", "v7-small"}) check_model(name, o);
}

TEST_CASE("golden models match on every CPU instruction set, exact precision", "[engine][golden]") {
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    engine::load_options o;
    o.backend.name = "cpu";
    o.backend.isa = isa;
    o.backend.threads = 2;
    std::string why;
    if (!kernels::create_backend(o.backend, &why)) {
      WARN("skipped isa " << isa << ": " << why);
      continue;
    }
    INFO("isa " << isa);
    for (const char* name : {"v4-small", "v4-fp16", "v5-small", "v6-small", "v7-small", "v7-bf16"}) check_model(name, o);
  }
}
