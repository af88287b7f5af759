#include "engine/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rwkv::engine {

sampler::sampler(const sampling_params& params) : params_(params), rng_(params.seed) {}

void sampler::accept(std::int32_t token) { ++counts_[token]; }

void sampler::reset() {
  counts_.clear();
  rng_.seed(params_.seed);
}

void sampler::apply_penalties(std::span<float> logits) const {
  for (const auto& [tok, n] : counts_) {
    if (tok < 0 || static_cast<std::size_t>(tok) >= logits.size()) continue;
    float& l = logits[static_cast<std::size_t>(tok)];
    if (params_.repetition_penalty != 1.0f) l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
    l -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(n);
  }
}

std::vector<float> sampler::softmax(std::span<const float> logits, float temperature) {
  std::vector<float> p(logits.begin(), logits.end());
  if (p.empty()) return p;
  float t = temperature > 0 ? temperature : 1.0f;
  float mx = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (float& x : p) {
    x = std::exp((x - mx) / t);
    sum += x;
  }
  for (float& x : p) x = static_cast<float>(x / sum);
  return p;
}

std::int32_t sampler::sample(std::span<float> logits, std::span<const std::int32_t> banned) {
  if (logits.empty()) return -1;
  apply_penalties(logits);
  for (std::int32_t b : banned)
    if (b >= 0 && static_cast<std::size_t>(b) < logits.size())
      logits[static_cast<std::size_t>(b)] = -std::numeric_limits<float>::infinity();

  const auto argmax = static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  if (params_.temperature <= 0 || params_.top_k == 1) return argmax;

  // Candidates: tokens whose probability is within a factor 1e-6 of the best. Anything below
  // cannot change a top-p cut below 1 - V*1e-6 or a top-k choice in practice, and skipping them
  // avoids sorting the whole vocabulary on every token.
  const float t = params_.temperature;
  const float best = logits[static_cast<std::size_t>(argmax)];
  const float floor = best - t * 13.8f;  // exp(-13.8) ~ 1e-6
  candidates_.clear();
  for (std::size_t i = 0; i < logits.size(); ++i)
    if (logits[i] >= floor) candidates_.emplace_back(logits[i], static_cast<std::int32_t>(i));
  std::sort(candidates_.begin(), candidates_.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  if (params_.top_k > 0 && candidates_.size() > static_cast<std::size_t>(params_.top_k))
    candidates_.resize(static_cast<std::size_t>(params_.top_k));

  double sum = 0;
  for (auto& [l, id] : candidates_) {
    l = std::exp((l - best) / t);
    sum += l;
  }
  std::size_t keep = candidates_.size();
  if (params_.top_p < 1.0f) {
    double cum = 0;
    for (std::size_t i = 0; i < candidates_.size(); ++i) {
      cum += candidates_[i].first / sum;
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double mass = 0;
  for (std::size_t i = 0; i < keep; ++i) mass += candidates_[i].first;
  std::uniform_real_distribution<double> u(0.0, mass);
  double r = u(rng_);
  for (std::size_t i = 0; i < keep; ++i) {
    r -= candidates_[i].first;
    if (r <= 0) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

}  // namespace rwkv::engine
