// info, tokenize, eval, generate: the engine from the command line, JSON on stdout.
#include "common.hpp"

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/sampler.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

namespace rwkv::cli {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw engine::error(engine::errc::io, "cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string text_argument(const args& a) {
  if (a.has("--text") && a.has("--file")) throw usage_error("give --text or --file, not both");
  if (auto t = a.get("--text")) return *t;
  if (auto f = a.get("--file")) return read_file(*f);
  throw usage_error("missing --text or --file");
}

}  // namespace

int cmd_info(int argc, char** argv) {
  args a(argc, argv, 2, with_model_options({}), {});
  auto m = open_model(a);
  const auto& c = m->config();
  auto be = m->backend_info();
  print_json({{"format", m->format()},
              {"version", engine::architecture_name(c.arch)},
              {"n_layer", c.n_layer},
              {"n_embd", c.n_embd},
              {"n_head", c.n_head},
              {"head_size", c.head_size},
              {"n_vocab", c.n_vocab},
              {"n_ffn", c.n_ffn},
              {"weights_dtype", kernels::dtype_name(m->weights_dtype())},
              {"compute_dtype", kernels::dtype_name(m->compute_weights_dtype())},
              {"n_params", m->n_params()},
              {"lora", {{"mix", c.lora_mix}, {"decay", c.lora_decay}, {"aaa", c.lora_aaa}, {"value", c.lora_value},
                        {"gate", c.lora_gate}}},
              {"bytes_per_token", m->bytes_per_token()},
              // Weights the backend holds itself: conversions (--dtype) and copies into 2 MiB pages.
              {"memory_mb", {{"weights_owned", static_cast<double>(m->owned_weight_bytes()) / (1 << 20)},
                             {"peak_rss", peak_rss_mb()}}},
              {"backend", be.name},
              {"isa", be.isa},
              {"precision", kernels::precision_name(be.precision)},
              {"threads", be.threads},
              {"fingerprint", m->fingerprint()}});
  return 0;
}

int cmd_tokenize(int argc, char** argv) {
  args a(argc, argv, 2, {"--vocab", "--text", "--file"}, {"--decode"});
  auto tok = engine::load_tokenizer(a.require("--vocab"));
  auto ids = tok->encode(text_argument(a));
  nlohmann::json out = {{"tokens", ids}};
  if (a.flag("--decode")) out["text"] = tok->decode(ids);
  print_json(out);
  return 0;
}

int cmd_eval(int argc, char** argv) {
  args a(argc, argv, 2, with_model_options({"--tokens", "--text", "--vocab", "--mode", "--chunk"}), {"--all-logits"});
  if (a.has("--tokens") == a.has("--text")) throw usage_error("give --tokens or --text (one of them)");
  std::vector<std::int32_t> tokens;
  if (auto t = a.get("--tokens")) tokens = parse_token_list(*t);  // usage errors before the slow load
  auto m = open_model(a);
  if (auto text = a.get("--text")) tokens = open_tokenizer(a, *m)->encode(*text);
  if (tokens.empty()) throw usage_error("nothing to evaluate: the token list is empty");
  engine::eval_options o;
  std::string mode = a.get_or("--mode", "seq");
  if (mode == "rnn")
    o.mode = engine::eval_mode::rnn;
  else if (mode != "seq")
    throw usage_error("--mode must be seq or rnn");
  o.chunk = a.get_int("--chunk", 0, 0, 1 << 20);
  const auto V = static_cast<std::size_t>(m->config().n_vocab);
  std::vector<float> logits(V), all;
  if (a.flag("--all-logits")) {
    all.resize(V * tokens.size());
    o.all_logits = all.data();
  }
  engine::context ctx(m);
  auto s = m->initial_state();
  ctx.eval(tokens, s, logits.data(), o);
  nlohmann::json out = {{"tokens", tokens}};
  if (a.flag("--all-logits")) {
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t t = 0; t < tokens.size(); ++t)
      rows.push_back(std::vector<float>(all.begin() + static_cast<std::ptrdiff_t>(t * V),
                                        all.begin() + static_cast<std::ptrdiff_t>((t + 1) * V)));
    out["logits"] = rows.back();
    out["all_logits"] = std::move(rows);
  } else {
    out["logits"] = logits;
  }
  print_json(out);
  return 0;
}

int cmd_generate(int argc, char** argv) {
  args a(argc, argv, 2,
         with_model_options({"--vocab", "--prompt", "--max-tokens", "--temperature", "--top-p", "--top-k", "--seed",
                             "--repetition-penalty", "--presence-penalty", "--frequency-penalty"}),
         {"--stream"});
  auto m = open_model(a, kernels::precision::fast);
  auto tok = open_tokenizer(a, *m);
  const std::string prompt = a.require("--prompt");
  engine::sampling_params sp;
  sp.temperature = static_cast<float>(a.get_double("--temperature", 1.0, 0.0, 100.0));
  sp.top_p = static_cast<float>(a.get_double("--top-p", 0.85, 0.0, 1.0));
  sp.top_k = static_cast<int>(a.get_int("--top-k", 0, 0, 1 << 20));
  sp.seed = static_cast<std::uint64_t>(a.get_int("--seed", 0, 0, INT64_MAX));
  sp.repetition_penalty = static_cast<float>(a.get_double("--repetition-penalty", 1.0, 0.01, 100.0));
  sp.presence_penalty = static_cast<float>(a.get_double("--presence-penalty", 0.0, -100.0, 100.0));
  sp.frequency_penalty = static_cast<float>(a.get_double("--frequency-penalty", 0.0, -100.0, 100.0));
  const auto max_tokens = a.get_int("--max-tokens", 100, 0, 1 << 24);
  const bool stream = a.flag("--stream");

  auto tokens = tok->encode(prompt);
  if (tokens.empty()) throw usage_error("the prompt is empty");
  engine::context ctx(m);
  auto s = m->initial_state();
  std::vector<float> logits(static_cast<std::size_t>(m->config().n_vocab));
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  ctx.eval(tokens, s, logits.data());
  auto t1 = clock::now();
  engine::sampler smp(sp);
  engine::utf8_decoder dec;
  std::string text;
  std::int64_t generated = 0;
  const auto eot = tok->end_of_text();
  for (; generated < max_tokens; ++generated) {
    std::int32_t next = smp.sample(std::span(logits).first(static_cast<std::size_t>(std::min<std::int64_t>(tok->vocab_size(), m->config().n_vocab))));
    if (eot && next == *eot) break;
    smp.accept(next);
    std::string piece = dec.push(tok->token_bytes(next));
    text += piece;
    if (stream) std::cerr << piece << std::flush;
    ctx.eval(std::span(&next, 1), s, logits.data());
  }
  text += dec.flush();
  auto t2 = clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  if (stream) std::cerr << '\n';
  print_json({{"prompt", prompt},
              {"text", text},
              {"prompt_tokens", tokens.size()},
              {"generated_tokens", generated},
              {"prefill_ms", ms(t1 - t0)},
              {"generate_ms", ms(t2 - t1)},
              {"tokens_per_second", generated ? generated / (ms(t2 - t1) / 1000.0) : 0.0}});
  return 0;
}

}  // namespace rwkv::cli
