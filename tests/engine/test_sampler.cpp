// Choosing tokens: greedy, temperature, top-k, top-p, penalties, and reproducibility with a seed.
#include "engine/sampler.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

using namespace rwkv::engine;

namespace {

std::vector<float> logits_of(std::initializer_list<float> l) { return std::vector<float>(l); }

std::map<std::int32_t, int> histogram(sampling_params p, const std::vector<float>& logits, int n) {
  sampler s(p);
  std::map<std::int32_t, int> h;
  for (int i = 0; i < n; ++i) {
    auto l = logits;
    ++h[s.sample(l)];
  }
  return h;
}

}  // namespace

TEST_CASE("greedy picks the largest logit", "[engine][sampler]") {
  sampling_params p;
  p.temperature = 0;
  sampler s(p);
  auto l = logits_of({0.1f, 3.0f, -1.0f, 2.9f});
  CHECK(s.sample(l) == 1);
  p.temperature = 1.0f;
  p.top_k = 1;
  sampler k1(p);
  l = logits_of({0.1f, 3.0f, -1.0f, 2.9f});
  CHECK(k1.sample(l) == 1);
}

TEST_CASE("the same seed gives the same tokens, another seed other tokens", "[engine][sampler]") {
  std::vector<float> logits(1000);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  auto run = [&](std::uint64_t seed) {
    sampling_params p;
    p.seed = seed;
    sampler s(p);
    std::vector<std::int32_t> out;
    for (int i = 0; i < 50; ++i) {
      auto l = logits;
      out.push_back(s.sample(l));
    }
    return out;
  };
  CHECK(run(7) == run(7));
  CHECK(run(7) != run(8));
}

TEST_CASE("temperature sharpens and flattens the distribution", "[engine][sampler]") {
  auto logits = logits_of({0.0f, 1.0f});
  sampling_params cold, hot;
  cold.temperature = 0.25f;
  hot.temperature = 4.0f;
  auto c = histogram(cold, logits, 4000), h = histogram(hot, logits, 4000);
  // P(1) = sigmoid(1/T): 0.982 at T = 0.25, 0.562 at T = 4.
  CHECK(c[1] / 4000.0 == Approx(0.982).margin(0.02));
  CHECK(h[1] / 4000.0 == Approx(0.562).margin(0.03));
}

TEST_CASE("top-k and top-p cut the tail", "[engine][sampler]") {
  auto logits = logits_of({2.0f, 1.9f, 1.8f, -5.0f, -6.0f});
  sampling_params k2;
  k2.top_k = 2;
  for (auto [tok, n] : histogram(k2, logits, 2000)) CHECK(tok < 2);
  sampling_params p50;
  p50.top_p = 0.5f;  // the first two carry 0.36 + 0.33 of the mass: both needed, the third never
  auto h = histogram(p50, logits, 2000);
  CHECK(h.count(2) == 0);
  CHECK(h[0] > 0);
  CHECK(h[1] > 0);
  CHECK(sampler::softmax(logits_of({0, 0}))[0] == Approx(0.5));
}

TEST_CASE("penalties push seen tokens down and banned tokens never come", "[engine][sampler]") {
  sampling_params p;
  p.temperature = 0;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.2f;
  sampler s(p);
  auto l = logits_of({1.0f, 0.8f, 0.0f});
  CHECK(s.sample(l) == 0);
  s.accept(0);
  l = logits_of({1.0f, 0.8f, 0.0f});
  CHECK(s.sample(l) == 1);  // 1.0 - 0.5 - 0.2 = 0.3 < 0.8
  CHECK(l[0] == Approx(0.3f));

  sampling_params r;
  r.temperature = 0;
  r.repetition_penalty = 2.0f;
  sampler rep(r);
  rep.accept(0);
  l = logits_of({1.0f, 0.8f});
  CHECK(rep.sample(l) == 1);  // 1.0 / 2 < 0.8

  sampler ban(r);
  l = logits_of({5.0f, 0.0f, 1.0f});
  std::int32_t banned[] = {0};
  CHECK(ban.sample(l, banned) == 2);
}
