#include "lsp/service_settings.hpp"

#include "kernels/dtype.hpp"

#include <cmath>

namespace rwkv::lsp {

namespace {

// Reads settings[key] into `field` when present; returns a message on a wrong type or range.
template <class T>
std::string read(const nlohmann::json& j, const char* key, T& field, double lo, double hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return std::string("setting \"") + key + "\" must be a string";
    field = it->get<std::string>();
  } else {
    if (!it->is_number()) return std::string("setting \"") + key + "\" must be a number";
    double v = it->get<double>();
    if (!std::isfinite(v) || v < lo || v > hi)
      return std::string("setting \"") + key + "\" must be between " + std::to_string(lo) + " and " + std::to_string(hi);
    if constexpr (std::is_integral_v<T>) {
      if (v != std::floor(v)) return std::string("setting \"") + key + "\" must be a whole number";
    }
    field = static_cast<T>(v);
  }
  return {};
}

}  // namespace

settings_result service_settings::merged(const nlohmann::json& update, service_settings& out) const {
  if (update.is_null()) {
    out = *this;
    return {};
  }
  if (!update.is_object()) return {false, "rwkv-lsp settings must be a JSON object"};
  service_settings s = *this;
  std::string err;
  auto check = [&](std::string e) {
    if (err.empty()) err = std::move(e);
  };
  check(read(update, "model", s.model, 0, 0));
  check(read(update, "vocab", s.vocab, 0, 0));
  check(read(update, "threads", s.threads, 0, 1024));
  check(read(update, "backend", s.backend, 0, 0));
  check(read(update, "precision", s.precision, 0, 0));
  check(read(update, "weights", s.weights, 0, 0));
  check(read(update, "maxTokens", s.max_tokens, 1, 4096));
  check(read(update, "maxLines", s.max_lines, 1, 1000));
  check(read(update, "candidates", s.candidates, 1, 10));
  check(read(update, "temperature", s.temperature, 0, 5));
  check(read(update, "topP", s.top_p, 0, 1));
  check(read(update, "timeBudgetMs", s.time_budget_ms, 10, 600000));
  check(read(update, "checkpointSpacing", s.checkpoint_spacing, 1, 1 << 20));
  check(read(update, "memoryBudgetMb", s.memory_budget_mb, 0, 1 << 20));
  if (err.empty() && s.backend != "auto" && s.backend != "cpu" && s.backend != "cpu-reference")
    err = "setting \"backend\" must be one of auto, cpu, cpu-reference (rwkv-lsp has no GPU backend yet)";
  if (err.empty() && s.precision != "fast" && s.precision != "exact")
    err = "setting \"precision\" must be \"fast\" or \"exact\"";
  if (err.empty() && s.weights != "stored") {
    const auto t = kernels::dtype_from_name(s.weights);
    if (!t) err = "setting \"weights\" must be \"stored\" or one of f32, f16, bf16, q8_0, q6_k, q5_k, q5_1, q5_0, q4_k, q4_1, q4_0";
  }
  if (!err.empty()) return {false, "rwkv-lsp: " + err + "; keeping the previous settings"};
  out = std::move(s);
  return {};
}

bool service_settings::model_differs(const service_settings& o) const {
  return model != o.model || vocab != o.vocab || threads != o.threads || backend != o.backend ||
         precision != o.precision || weights != o.weights;
}

void service_settings::take_model_settings(const service_settings& from) {
  model = from.model;
  vocab = from.vocab;
  threads = from.threads;
  backend = from.backend;
  precision = from.precision;
  weights = from.weights;
}

nlohmann::json service_settings::to_json() const {
  return {{"model", model},
          {"vocab", vocab},
          {"threads", threads},
          {"backend", backend},
          {"precision", precision},
          {"weights", weights},
          {"maxTokens", max_tokens},
          {"maxLines", max_lines},
          {"candidates", candidates},
          {"temperature", temperature},
          {"topP", top_p},
          {"timeBudgetMs", time_budget_ms},
          {"checkpointSpacing", checkpoint_spacing},
          {"memoryBudgetMb", memory_budget_mb}};
}

}  // namespace rwkv::lsp
