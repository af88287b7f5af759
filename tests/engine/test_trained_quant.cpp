// A real trained model (the byte-level RWKV-7 code model of tools/train, models/rwkv7-code-byte.pth,
// or the .pth named by $RWKV_LSP_TRAINED_MODEL) under every weight format and precision, against
// its own exact fp32 evaluation (which the golden tests tie to BlinkDL's reference): over 1 KiB of
// C++ source, the largest logit error per format is reported, and wherever the most likely next
// byte differs from the exact one the exact model itself rates the two within twice that error
// (a near-tie, not a wrong answer). Skipped when no trained model is at hand.
#include "engine/context.hpp"
#include "engine/model.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

using namespace rwkv;

namespace {

std::optional<std::string> trained_model() {
  if (const char* p = std::getenv("RWKV_LSP_TRAINED_MODEL")) return std::string(p);
  if (std::filesystem::exists("models/rwkv7-code-byte.pth")) return std::string("models/rwkv7-code-byte.pth");
  return std::nullopt;
}

std::vector<float> all_logits(const std::string& path, const std::vector<std::int32_t>& tokens,
                              std::optional<kernels::dtype> type, kernels::precision p) {
  engine::load_options o;
  o.weight_type = type;
  o.backend.precision = p;
  o.backend.threads = 2;
  auto m = engine::model::load(path, o);
  engine::context ctx(m);
  auto s = m->initial_state();
  std::vector<float> all(tokens.size() * static_cast<std::size_t>(m->config().n_vocab));
  engine::eval_options e;
  e.all_logits = all.data();
  REQUIRE(ctx.eval(tokens, s, nullptr, e) == tokens.size());
  return all;
}

}  // namespace

TEST_CASE("a trained model keeps its top-1 byte under every weight format, up to near-ties", "[engine][quant][trained]") {
  const auto path = trained_model();
  if (!path) {
    WARN("skipped: no trained model (models/rwkv7-code-byte.pth or $RWKV_LSP_TRAINED_MODEL)");
    return;
  }
  std::ifstream in("kernels/cpu/cpu_backend.cpp");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::int32_t> tokens;
  for (unsigned char c : text.str().substr(0, 1024)) tokens.push_back(c);
  REQUIRE(tokens.size() == 1024);
  const auto ref = all_logits(*path, tokens, std::nullopt, kernels::precision::exact);
  const std::size_t V = ref.size() / tokens.size();
  struct format {
    std::optional<kernels::dtype> type;
    kernels::precision precision;
    const char* name;
  };
  for (const format& f : {format{{}, kernels::precision::fast, "stored, fast"},
                          format{kernels::dtype::q8_0, kernels::precision::exact, "q8_0, exact"},
                          format{kernels::dtype::q8_0, kernels::precision::fast, "q8_0, fast"},
                          format{kernels::dtype::q6_k, kernels::precision::fast, "q6_k, fast"},
                          format{kernels::dtype::q5_k, kernels::precision::fast, "q5_k, fast"},
                          format{kernels::dtype::q4_k, kernels::precision::fast, "q4_k, fast"},
                          format{kernels::dtype::q5_1, kernels::precision::fast, "q5_1, fast"},
                          format{kernels::dtype::q5_0, kernels::precision::fast, "q5_0, fast"},
                          format{kernels::dtype::q4_1, kernels::precision::fast, "q4_1, fast"},
                          format{kernels::dtype::q4_0, kernels::precision::fast, "q4_0, fast"}}) {
    const auto got = all_logits(*path, tokens, f.type, f.precision);
    float worst = 0, worst_margin = 0;
    int misses = 0;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      const float *a = got.data() + t * V, *b = ref.data() + t * V;
      for (std::size_t i = 0; i < V; ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
      const auto ta = std::max_element(a, a + V) - a, tb = std::max_element(b, b + V) - b;
      if (ta != tb) ++misses, worst_margin = std::max(worst_margin, b[tb] - b[ta]);
    }
    WARN(f.name << ": max logit error " << worst << "; top-1 differs at " << misses << " of " << tokens.size()
                << " steps, where the exact margin is at most " << worst_margin);
    INFO(f.name);
    CHECK(worst_margin <= 2 * worst);
  }
}
