#include "engine/golden_compare.hpp"

#include "engine/context.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

namespace rwkv::test {

golden_comparison compare_with_golden(const engine::model& m, const nlohmann::json& golden) {
  const auto tokens = golden["tokens"].get<std::vector<std::int32_t>>();
  const auto steps = golden["logits_steps"].get<std::vector<std::vector<float>>>();
  std::shared_ptr<const engine::model> borrowed(&m, [](const engine::model*) {});
  engine::context ctx(borrowed);
  auto state = m.initial_state();
  std::vector<float> logits(static_cast<std::size_t>(m.config().n_vocab));
  golden_comparison r;
  std::vector<std::pair<std::size_t, float>> flips;  // (step, reference margin)
  for (std::size_t t = 0; t < tokens.size() && t < steps.size(); ++t) {
    engine::eval_options o;
    o.mode = engine::eval_mode::rnn;
    ctx.eval(std::span(&tokens[t], 1), state, logits.data(), o);
    const auto& want = steps[t];
    for (std::size_t i = 0; i < want.size(); ++i) r.max_abs_error = std::max(r.max_abs_error, std::fabs(logits[i] - want[i]));
    const auto got_top = std::max_element(logits.begin(), logits.end()) - logits.begin();
    const auto want_top = std::max_element(want.begin(), want.end()) - want.begin();
    if (got_top != want_top) {
      std::vector<float> sorted = want;
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
      flips.emplace_back(t, sorted[0] - sorted[1]);
    }
    ++r.steps;
  }
  r.top1_disagreements = static_cast<int>(flips.size());
  for (const auto& [step, margin] : flips) {
    if (margin > 2 * r.max_abs_error) ++r.unexplained_disagreements;
    r.largest_flipped_margin = std::max(r.largest_flipped_margin, margin);
  }
  return r;
}

}  // namespace rwkv::test
