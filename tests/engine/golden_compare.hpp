// Running a model over a golden sequence (../shared/golden/NAME.json) and measuring how far its
// logits are from the reference's, for the format and conversion tests.
#pragma once

#include "engine/model.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace rwkv::test {

struct golden_comparison {
  float max_abs_error = 0;     // over every logit of every step
  int steps = 0;
  int top1_disagreements = 0;  // steps whose argmax differs from the reference's
  // Steps where the argmax differs although the reference's top-1/top-2 margin exceeds
  // 2 x max_abs_error: a disagreement the measured error cannot explain.
  int unexplained_disagreements = 0;
  float largest_flipped_margin = 0;  // the largest reference margin among flipped steps (0 if none)
};

// Feeds json["tokens"] one at a time from the initial state and compares with logits_steps.
golden_comparison compare_with_golden(const engine::model& m, const nlohmann::json& golden);

}  // namespace rwkv::test
