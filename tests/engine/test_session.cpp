// Persistent per-document state: after any sequence of edits, the session's tokens equal a fresh
// tokenization and the state it hands out for the cursor equals (within 1e-5) the state computed
// from scratch for the same text.
#include "engine/completion.hpp"
#include "engine/context.hpp"
#include "engine/random_model.hpp"
#include "engine/session.hpp"
#include "engine/tokenizer.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace rwkv;

namespace {

const char* snippets[] = {
    "int ", "main", "(void)", " {\n", "}\n", "    return 0;\n", "for (int i = 0; i < n; ++i) ", "\n",
    "std::vector<int> v;", "// comment ✓\n", "def f(x):\n    return x * 2\n", "é", "中文", "🙂", "\t", "  ",
    "if (a && b) {\n  c();\n}\n", "\r\n", "\"str\\n\"", "0x1F", "#include <cstdio>\n", "        ", "xyz",
};

struct doc_harness {
  std::shared_ptr<const engine::model> model;
  std::shared_ptr<const engine::tokenizer> tok;
  engine::context ctx;
  engine::session session;
  std::string text;  // what the editor has
  std::mt19937 rng;
  int state_checks = 0;

  doc_harness(std::shared_ptr<const engine::model> m, std::shared_ptr<const engine::tokenizer> t, std::uint32_t seed,
              engine::session_options o)
      : model(m), tok(t), ctx(m, 16), session(m, t, o), rng(seed) {
    text = "// file.cpp\nint main() {\n    return 0;\n}\n";
    session.reset("// header.cpp\n", text);
  }

  std::size_t pick_offset() {
    std::size_t off = std::uniform_int_distribution<std::size_t>(0, text.size())(rng);
    return off;
  }

  void random_edit() {
    int kind = std::uniform_int_distribution<int>(0, 9)(rng);
    std::size_t a = pick_offset(), b = a;
    std::string ins;
    if (kind <= 4) {  // typing: a few characters
      ins = snippets[std::uniform_int_distribution<std::size_t>(0, std::size(snippets) - 1)(rng)];
      if (kind <= 2 && !ins.empty()) ins = ins.substr(0, 1 + rng() % ins.size());
    } else if (kind <= 6) {  // deletion (possibly splitting a UTF-8 sequence: byte offsets are the contract)
      b = std::min(text.size(), a + rng() % 12);
    } else if (kind == 7) {  // paste a block
      for (int i = 0; i < 5; ++i) ins += snippets[rng() % std::size(snippets)];
    } else if (kind == 8) {  // replace a range
      b = std::min(text.size(), a + rng() % 30);
      ins = snippets[rng() % std::size(snippets)];
    } else {  // typing at the very end
      a = b = text.size();
      ins = std::string(1, "abcdefghij(){};\n "[rng() % 17]);
    }
    if (text.size() > 1200) {  // keep documents bounded (fresh evaluations stay cheap)
      a = 0;
      b = 400;
      ins.clear();
    }
    text.replace(a, b - a, ins);
    session.edit(a, b, ins);
  }

  void check_tokens() {
    REQUIRE(session.text() == text);
    REQUIRE(session.tokens() == tok->encode(text));
  }

  void check_state(std::size_t offset) {
    engine::session::cursor cur;
    REQUIRE(session.state_at(ctx, offset, cur, nullptr));
    auto fresh_tokens = session.context_tokens(offset);
    // From scratch: header and text prefix tokenized on their own, as a new server would.
    auto expect = tok->encode("// header.cpp\n");
    auto body = tok->encode(std::string_view(text).substr(0, offset));
    expect.insert(expect.end(), body.begin(), body.end());
    REQUIRE(fresh_tokens == expect);
    auto s = model->initial_state();
    std::vector<float> logits(static_cast<std::size_t>(model->config().n_vocab));
    engine::context fresh(model, 64);
    fresh.eval(expect, s, logits.data());
    REQUIRE(cur.st.max_abs_diff(s) < 1e-5f);
    float worst = 0;
    for (std::size_t i = 0; i < logits.size(); ++i) worst = std::max(worst, std::fabs(logits[i] - cur.logits[i]));
    REQUIRE(worst < 1e-4f);
    ++state_checks;
  }
};

std::shared_ptr<const engine::model> small_model(int vocab, engine::architecture arch = engine::architecture::v7) {
  engine::random_model_spec spec;
  spec.arch = arch;
  spec.n_vocab = vocab;
  spec.n_embd = 64;
  spec.n_layer = 2;
  spec.head_size = 32;
  spec.lora_decay = spec.lora_aaa = spec.lora_value = spec.lora_gate = 16;
  spec.lora_mix = 8;
  engine::load_options o;
  o.backend.threads = 2;
  return engine::model::from_store(engine::make_random_model(spec), o);
}

void run_random_edits(std::shared_ptr<const engine::model> m, std::shared_ptr<const engine::tokenizer> tok,
                      int docs, int edits_per_doc, std::uint32_t seed) {
  engine::session_options o;
  o.checkpoint_spacing = 32;
  o.recent_checkpoints = 3;
  std::vector<std::unique_ptr<doc_harness>> hs;
  for (int d = 0; d < docs; ++d) hs.push_back(std::make_unique<doc_harness>(m, tok, seed + d, o));
  std::mt19937 rng(seed);
  int total = 0;
  for (int i = 0; i < edits_per_doc * docs; ++i) {
    auto& h = *hs[rng() % hs.size()];
    h.random_edit();
    ++total;
    h.check_tokens();
    int action = static_cast<int>(rng() % 10);
    if (action < 3) h.check_state(h.pick_offset());            // a jump
    else if (action < 5) h.check_state(h.text.size());          // at the end
    else if (action == 5) h.session.prefeed(h.ctx, 40, nullptr);  // background work in between
    else if (action == 6 && rng() % 4 == 0) h.session.thin_checkpoints();
  }
  int checks = 0;
  for (auto& h : hs) checks += h->state_checks;
  INFO(total << " edits, " << checks << " state checks");
  CHECK(checks > total / 3);
}

}  // namespace

TEST_CASE("random edits keep byte-level sessions exact", "[engine][session]") {
  auto m = small_model(256);
  std::shared_ptr<const engine::tokenizer> tok = engine::make_byte_tokenizer();
  run_random_edits(m, tok, 3, 400, 11);
}

TEST_CASE("random edits keep World-tokenizer sessions exact", "[engine][session]") {
  RWKV_REQUIRE_SHARED(vocab, "vocab/rwkv_vocab_v20230424.txt");
  auto m = small_model(65536);
  std::shared_ptr<const engine::tokenizer> tok = engine::load_world_tokenizer(vocab);
  run_random_edits(m, tok, 3, 300, 23);
}

TEST_CASE("random edits keep RWKV-4 and RWKV-6 sessions exact", "[engine][session]") {
  std::shared_ptr<const engine::tokenizer> tok = engine::make_byte_tokenizer();
  run_random_edits(small_model(256, engine::architecture::v4), tok, 2, 150, 5);
  run_random_edits(small_model(256, engine::architecture::v6), tok, 2, 150, 6);
}

TEST_CASE("typing at the end re-feeds only the changed tokens", "[engine][session]") {
  RWKV_REQUIRE_SHARED(vocab, "vocab/rwkv_vocab_v20230424.txt");
  auto m = small_model(65536);
  std::shared_ptr<const engine::tokenizer> tok = engine::load_world_tokenizer(vocab);
  engine::context ctx(m);
  engine::session s(m, tok);
  std::string text;
  for (int i = 0; i < 200; ++i) text += "    value_" + std::to_string(i) + " = compute(value_" + std::to_string(i) + ");\n";
  s.reset("// a.cpp\n", text);
  while (s.prefeed(ctx, 1 << 20, nullptr) > 0) {
  }
  engine::session::cursor cur;
  REQUIRE(s.state_at(ctx, text.size(), cur, nullptr));
  const std::string typed = "    result = value_1 + value_2;\n";
  std::int64_t worst = 0;
  for (char c : typed) {
    s.edit(s.text().size(), s.text().size(), std::string(1, c));
    engine::feed_stats st;
    REQUIRE(s.state_at(ctx, s.text().size(), cur, nullptr, &st));
    worst = std::max(worst, st.tokens_fed + st.tail_tokens);
    CHECK(st.eval_calls <= 2);
  }
  INFO("document tokens: " << s.token_count());
  CHECK(s.token_count() > 2000);
  CHECK(worst <= 4);
}

TEST_CASE("an edit above the cursor drops later checkpoints and restores an earlier one", "[engine][session]") {
  auto m = small_model(256);
  std::shared_ptr<const engine::tokenizer> tok = engine::make_byte_tokenizer();
  engine::context ctx(m);
  engine::session_options o;
  o.checkpoint_spacing = 64;
  engine::session s(m, tok, o);
  std::string text(1000, 'a');
  s.reset("h", text);
  while (s.prefeed(ctx, 1 << 20, nullptr) > 0) {
  }
  CHECK(s.prefeed_remaining() == 0);
  CHECK(s.checkpoint_count() >= 1000 / 64);
  s.edit(500, 501, "b");
  CHECK(s.last_edit_first_changed() == 500);
  engine::session::cursor cur;
  engine::feed_stats st;
  REQUIRE(s.state_at(ctx, 900, cur, nullptr, &st));
  CHECK(st.restored_from == 448);  // the last sparse checkpoint before the edit
  CHECK(st.tokens_fed == 900 - 448);
}

TEST_CASE("thinning frees memory until only recent checkpoints remain", "[engine][session]") {
  auto m = small_model(256);
  std::shared_ptr<const engine::tokenizer> tok = engine::make_byte_tokenizer();
  engine::context ctx(m);
  engine::session_options o;
  o.checkpoint_spacing = 16;
  engine::session s(m, tok, o);
  s.reset("h", std::string(600, 'x'));
  while (s.prefeed(ctx, 1 << 20, nullptr) > 0) {
  }
  auto before = s.checkpoint_bytes();
  std::size_t freed = 0, step;
  while ((step = s.thin_checkpoints()) > 0) freed += step;
  CHECK(freed == before);
  CHECK(s.checkpoint_count() == 0);
  engine::session::cursor cur;
  REQUIRE(s.state_at(ctx, 300, cur, nullptr));  // still correct, only slower
}
