// `rwkv-lsp bench-typing`: replays realistic editing of a source file through a document session
// (what the language server does per keystroke) and reports update latency and tokens re-fed,
// against recomputing the state from scratch.
#include "common.hpp"

#include "engine/completion.hpp"
#include "engine/context.hpp"
#include "engine/random_model.hpp"
#include "engine/session.hpp"
#include "engine/tokenizer_select.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

namespace rwkv::cli {

namespace {

using clock_type = std::chrono::steady_clock;
double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

struct series {
  std::vector<double> ms;
  std::vector<double> tokens;
  void add(double m, double t) {
    ms.push_back(m);
    tokens.push_back(t);
  }
  static double pct(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(std::min<double>(v.size() - 1, p * (v.size() - 1) + 0.5))];
  }
  nlohmann::json to_json() const {
    double sum = 0;
    for (double t : tokens) sum += t;
    return {{"count", ms.size()},
            {"p50_ms", pct(ms, 0.5)},
            {"p99_ms", pct(ms, 0.99)},
            {"max_ms", pct(ms, 1.0)},
            {"tokens_refed_mean", ms.empty() ? 0 : sum / static_cast<double>(ms.size())},
            {"tokens_refed_p50", pct(tokens, 0.5)},
            {"tokens_refed_max", pct(tokens, 1.0)}};
  }
};

// One keystroke as the server sees it: apply the edit, bring the state to the cursor.
void keystroke(engine::session& s, engine::context& ctx, std::size_t start, std::size_t end, const std::string& text,
               std::size_t cursor, series& out) {
  auto t0 = clock_type::now();
  s.edit(start, end, text);
  engine::session::cursor cur;
  engine::feed_stats st;
  s.state_at(ctx, cursor, cur, nullptr, &st);
  out.add(ms_since(t0), static_cast<double>(st.tokens_fed + st.tail_tokens));
}

void prefeed_all(engine::session& s, engine::context& ctx) {
  while (s.prefeed(ctx, 1 << 20, nullptr) > 0) {
  }
}

const char* typed_line = "    result = compute_total(values, weights);  // running sum\n";

}  // namespace

int cmd_bench_typing(int argc, char** argv) {
  args a(argc, argv, 2,
         with_model_options({"--random-shape", "--file", "--vocab", "--small-tokens", "--spacing", "--seed"}), {});
  std::shared_ptr<const engine::model> m;
  if (auto spec = random_shape_from(a, "--model")) {
    m = engine::model::from_store(engine::make_random_model(*spec), load_options_from(a, kernels::precision::fast));
  } else {
    m = open_model(a, kernels::precision::fast);
  }
  std::shared_ptr<const engine::tokenizer> tok = open_tokenizer(a, *m);
  std::ifstream in(a.require("--file"), std::ios::binary);
  if (!in) throw usage_error("cannot read --file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string full = ss.str();
  const auto small_tokens = a.get_int("--small-tokens", 200, 1, 1 << 20);
  engine::session_options so;
  so.checkpoint_spacing = a.get_int("--spacing", 256, 1, 1 << 20);
  std::mt19937 rng(static_cast<std::uint32_t>(a.get_int("--seed", 1, 0, 1 << 30)));
  engine::context ctx(m);
  const std::string header = "// bench.cpp\n";

  // The cost of one single-token step, the unit the targets are expressed in.
  double step_ms;
  {
    auto st = m->initial_state();
    std::vector<float> logits(static_cast<std::size_t>(m->config().n_vocab));
    std::int32_t t = tok->encode("x").front();
    engine::eval_options o;
    o.mode = engine::eval_mode::rnn;
    ctx.eval(std::span(&t, 1), st, logits.data(), o);
    std::vector<double> v;
    for (int i = 0; i < 16; ++i) {
      auto t0 = clock_type::now();
      ctx.eval(std::span(&t, 1), st, logits.data(), o);
      v.push_back(ms_since(t0));
    }
    step_ms = series::pct(v, 0.5);
  }

  // A prefix of the file of about small_tokens tokens.
  std::string small = full;
  {
    auto ids = tok->encode(full);
    if (static_cast<std::int64_t>(ids.size()) > small_tokens)
      small = tok->decode(std::span(ids).first(static_cast<std::size_t>(small_tokens)));
  }

  auto typing_at_end = [&](const std::string& text, series& out, nlohmann::json& info) {
    engine::session s(m, tok, so);
    s.reset(header, text);
    auto t0 = clock_type::now();
    prefeed_all(s, ctx);
    info["prefeed_ms"] = ms_since(t0);
    info["tokens"] = s.token_count();
    engine::session::cursor cur;
    s.state_at(ctx, s.text().size(), cur, nullptr);
    for (char c : std::string(typed_line)) {
      std::size_t end = s.text().size();
      keystroke(s, ctx, end, end, std::string(1, c), end + 1, out);
    }
  };

  nlohmann::json result;
  series end_big, end_small;
  nlohmann::json big_info, small_info;
  typing_at_end(full, end_big, big_info);
  typing_at_end(small, end_small, small_info);

  // Realistic editing of the full file after it was read: typing mid-file, deleting, pasting, jumping.
  engine::session s(m, tok, so);
  auto t_open = clock_type::now();
  s.reset(header, full);
  // Time to first suggestion: open, then a request in the middle of the file (state + 16 tokens).
  double first_suggestion_ms;
  {
    engine::session::cursor cur;
    std::size_t mid = full.find('\n', full.size() / 2);
    mid = mid == std::string::npos ? full.size() : mid;
    s.state_at(ctx, mid, cur, nullptr);
    engine::completion_options co;
    co.max_tokens = 16;
    co.time_budget_ms = 60000;
    auto where = engine::cursor_context::at(s.text(), mid);
    engine::generate_suggestions(ctx, *tok, cur, where, co, clock_type::now(), nullptr);
    first_suggestion_ms = ms_since(t_open);
  }
  prefeed_all(s, ctx);
  series mid_typing, deleting, pasting, jumping;
  std::size_t cursor = s.text().find('\n', s.text().size() / 3);
  cursor = cursor == std::string::npos ? s.text().size() : cursor;
  for (char c : std::string(typed_line)) {
    keystroke(s, ctx, cursor, cursor, std::string(1, c), cursor + 1, mid_typing);
    ++cursor;
  }
  for (int i = 0; i < 20 && cursor > 0; ++i, --cursor) keystroke(s, ctx, cursor - 1, cursor, "", cursor - 1, deleting);
  const std::string block = full.substr(0, std::min<std::size_t>(full.size(), 600));
  // Between bigger edits the user pauses and the server's background pre-feeding restores the
  // checkpoints the edit dropped; that work is not what the user waits for, so it is not timed.
  for (int i = 0; i < 5; ++i) {
    prefeed_all(s, ctx);
    std::size_t at = std::uniform_int_distribution<std::size_t>(0, s.text().size())(rng);
    keystroke(s, ctx, at, at, block, at + block.size(), pasting);
  }
  prefeed_all(s, ctx);
  for (int i = 0; i < 20; ++i) {
    std::size_t at = std::uniform_int_distribution<std::size_t>(0, s.text().size())(rng);
    auto t0 = clock_type::now();
    engine::session::cursor cur;
    engine::feed_stats st;
    s.state_at(ctx, at, cur, nullptr, &st);
    jumping.add(ms_since(t0), static_cast<double>(st.tokens_fed + st.tail_tokens));
  }

  // From scratch: the whole prefix up to the end of the file, as a server without state would.
  double scratch_ms;
  {
    auto ids = tok->encode(header);
    auto body = tok->encode(full);
    ids.insert(ids.end(), body.begin(), body.end());
    auto st = m->initial_state();
    std::vector<float> logits(static_cast<std::size_t>(m->config().n_vocab));
    auto t0 = clock_type::now();
    ctx.eval(ids, st, logits.data());
    scratch_ms = ms_since(t0);
  }

  const double big_p50 = series::pct(end_big.ms, 0.5), small_p50 = series::pct(end_small.ms, 0.5);
  const auto be = m->backend_info();
  result = {{"model", m->source()},
            {"backend", be.name},
            {"isa", be.isa},
            {"threads", be.threads},
            {"file_tokens", big_info["tokens"]},
            {"single_token_step_ms", step_ms},
            {"typing_at_end", end_big.to_json()},
            {"typing_at_end_small_file", end_small.to_json()},
            {"small_file_tokens", small_info["tokens"]},
            {"end_keystroke_ratio_big_vs_small", small_p50 > 0 ? big_p50 / small_p50 : 0},
            {"end_keystroke_p50_in_steps", step_ms > 0 ? big_p50 / step_ms : 0},
            {"typing_mid_file", mid_typing.to_json()},
            {"deleting", deleting.to_json()},
            {"pasting", pasting.to_json()},
            {"jumping", jumping.to_json()},
            {"prefeed_ms", big_info["prefeed_ms"]},
            {"time_to_first_suggestion_ms", first_suggestion_ms},
            {"from_scratch_ms", scratch_ms},
            {"speedup_vs_scratch_p50", big_p50 > 0 ? scratch_ms / big_p50 : 0},
            {"checkpoints", s.checkpoint_count()},
            {"checkpoint_mb", static_cast<double>(s.checkpoint_bytes()) / (1 << 20)},
            {"peak_rss_mb", peak_rss_mb()}};
  print_json(result);
  return 0;
}

}  // namespace rwkv::cli
