// `rwkv-lsp bench`: single-token (generation) and sequence-mode (prefill) speed of a model file or
// of a random-weight model of a real shape, as one JSON object.
#include "common.hpp"

#include "engine/context.hpp"
#include "engine/random_model.hpp"

#include <chrono>
#include <random>

namespace rwkv::cli {

int cmd_bench(int argc, char** argv) {
  args a(argc, argv, 2, with_model_options({"--random-shape", "--prefill", "--gen", "--chunk", "--seed"}), {});
  std::shared_ptr<const engine::model> m;
  std::string what;
  if (auto shape = a.get("--random-shape")) {
    if (a.has("--model")) throw usage_error("give --model or --random-shape, not both");
    auto spec = engine::random_model_shape(*shape);
    if (!spec) throw usage_error("unknown --random-shape '" + *shape + "' (0.1b, 0.4b, 1.5b, 2.9b)");
    auto o = load_options_from(a);
    if (o.weight_type && kernels::dtype_row_bytes(*o.weight_type, spec->n_embd) > 0 &&
        !kernels::dtype_is_quantized(*o.weight_type)) {
      spec->matrix_type = *o.weight_type;  // build plain types directly instead of converting
      o.weight_type.reset();
    }
    m = engine::model::from_store(engine::make_random_model(*spec), o);
    what = "random RWKV-7 " + *shape;
  } else {
    m = open_model(a);
    what = m->source();
  }
  const auto prefill = a.get_int("--prefill", 512, 1, 1 << 20);
  const auto gen = a.get_int("--gen", 128, 1, 1 << 20);
  const auto V = m->config().n_vocab;
  std::mt19937 rng(static_cast<std::uint32_t>(a.get_int("--seed", 1, 0, 1 << 30)));
  std::uniform_int_distribution<int> dist(0, V - 1);
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(prefill));
  for (auto& t : tokens) t = dist(rng);

  engine::context ctx(m);
  std::vector<float> logits(static_cast<std::size_t>(V));
  using clock = std::chrono::steady_clock;
  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };

  // Warm-up: touch every weight once so page faults of mapped files are not timed.
  {
    auto s = m->initial_state();
    ctx.eval(std::span(tokens).first(1), s, logits.data());
  }
  engine::eval_options seq;
  seq.chunk = a.get_int("--chunk", 0, 0, 1 << 20);
  auto s = m->initial_state();
  auto t0 = clock::now();
  ctx.eval(tokens, s, logits.data(), seq);
  double prefill_s = seconds(clock::now() - t0);

  engine::eval_options rnn;
  rnn.mode = engine::eval_mode::rnn;
  std::int32_t next = tokens.back();
  t0 = clock::now();
  for (std::int64_t i = 0; i < gen; ++i) {
    ctx.eval(std::span(&next, 1), s, logits.data(), rnn);
    next = dist(rng);
  }
  double gen_s = seconds(clock::now() - t0);

  const double prefill_tok_s = static_cast<double>(prefill) / prefill_s;
  const double gen_tok_s = static_cast<double>(gen) / gen_s;
  const auto be = m->backend_info();
  print_json({{"model", what},
              {"version", engine::architecture_name(m->config().arch)},
              {"weights_dtype", kernels::dtype_name(m->compute_weights_dtype())},
              {"backend", be.name},
              {"isa", be.isa},
              {"threads", be.threads},
              {"prefill_tokens", prefill},
              {"gen_tokens", gen},
              {"prefill_tok_s", prefill_tok_s},
              {"gen_tok_s", gen_tok_s},
              {"prefill_speedup_per_token", prefill_tok_s / gen_tok_s},
              {"bytes_per_token", m->bytes_per_token()},
              {"gen_gb_s", static_cast<double>(m->bytes_per_token()) * gen_tok_s / 1e9},
              {"peak_rss_mb", peak_rss_mb()}});
  return 0;
}

}  // namespace rwkv::cli
