#include "common.hpp"

#include "engine/embedded_model.hpp"
#include "engine/error.hpp"
#include "engine/model_catalog.hpp"
#include "engine/tokenizer_select.hpp"

#include <sys/resource.h>

#include <iostream>

namespace rwkv::cli {

std::set<std::string> with_model_options(std::set<std::string> extra) {
  extra.insert(model_options.begin(), model_options.end());
  return extra;
}

engine::load_options load_options_from(const args& a, kernels::precision fallback) {
  engine::load_options o;
  o.backend.threads = static_cast<int>(a.get_int("--threads", 0, 0, 1024));
  o.backend.name = a.get_or("--backend", "auto");
  o.backend.isa = a.get_or("--isa", "auto");
  o.backend.precision = fallback;
  o.backend.huge_page_weights = a.get_int("--huge-pages", 1, 0, 1) != 0;
  if (auto p = a.get("--precision")) {
    if (*p == "exact") o.backend.precision = kernels::precision::exact;
    else if (*p == "fast") o.backend.precision = kernels::precision::fast;
    else throw usage_error("unknown --precision '" + *p + "' (exact or fast)");
  }
  if (auto d = a.get("--dtype")) {
    auto t = kernels::dtype_from_name(*d);
    if (!t) throw usage_error("unknown --dtype '" + *d + "' (f32, f16, bf16, q8_0, q6_k, q5_k, q5_1, q5_0, q4_k, q4_1, q4_0)");
    o.weight_type = *t;
  }
  return o;
}

std::shared_ptr<const engine::model> open_model(const args& a, kernels::precision fallback) {
  // --model takes a path, a pulled model's name ("g1-0.4b") or "builtin" (the default), like the
  // server's "model" setting.
  return engine::model::load(engine::resolve_model_reference(a.get_or("--model", engine::embedded_model_name)),
                             load_options_from(a, fallback));
}

std::optional<engine::random_model_spec> random_shape_from(const args& a, const std::string& instead_of) {
  const auto shape = a.get("--random-shape");
  if (!shape) return std::nullopt;
  if (a.has(instead_of)) throw usage_error("give " + instead_of + " or --random-shape, not both");
  auto spec = engine::random_model_shape(*shape);
  if (!spec) throw usage_error("unknown --random-shape '" + *shape + "' (0.1b, 0.4b, 1.5b, 2.9b)");
  return spec;
}

std::unique_ptr<engine::tokenizer> open_tokenizer(const args& a, const engine::model& m) {
  return engine::tokenizer_for_model(m.tensors(), m.config().n_vocab, a.get_or("--vocab", ""));
}

void print_json(const nlohmann::json& j) {
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  std::cout.flush();
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace rwkv::cli
