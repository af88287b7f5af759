// Choosing the next token from logits: greedy, temperature, top-k, top-p, and repetition,
// presence and frequency penalties, with a seeded generator so runs are reproducible.
//
// A sampler remembers the tokens it has accepted (for the penalties); one sampler per generation.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace rwkv::engine {

struct sampling_params {
  float temperature = 1.0f;         // 0 = greedy (argmax)
  int top_k = 0;                    // 0 = no limit
  float top_p = 1.0f;               // nucleus: smallest set with at least this probability mass
  float repetition_penalty = 1.0f;  // >1 discourages seen tokens (positive logits / p, negative * p)
  float presence_penalty = 0.0f;    // subtracted once from the logit of every seen token
  float frequency_penalty = 0.0f;   // subtracted per occurrence of a seen token
  std::uint64_t seed = 0;
};

class sampler {
 public:
  explicit sampler(const sampling_params& params = {});

  // Applies the penalties in place, then picks a token. `banned` ids are never chosen.
  std::int32_t sample(std::span<float> logits, std::span<const std::int32_t> banned = {});
  // Records a token for the penalties (sample does not do it: the caller may override the choice).
  void accept(std::int32_t token);
  void reset();

  const sampling_params& params() const noexcept { return params_; }

  // Probability of each token after temperature (no top-k/p), for diagnostics and tests.
  static std::vector<float> softmax(std::span<const float> logits, float temperature = 1.0f);

 private:
  void apply_penalties(std::span<float> logits) const;

  sampling_params params_;
  std::mt19937_64 rng_;
  std::unordered_map<std::int32_t, int> counts_;
  std::vector<std::pair<float, std::int32_t>> candidates_;  // reused between calls
};

}  // namespace rwkv::engine
