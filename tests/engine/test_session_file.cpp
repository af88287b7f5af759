// Saving and restoring a session: the restored session equals the saved one and completes the
// same; files of another model, tokenizer or damaged bytes are refused without touching it. And
// the streaming hook of completion generation.
#include "engine/completion.hpp"
#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/random_model.hpp"
#include "engine/session.hpp"
#include "engine/tokenizer.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace rwkv;

namespace {

std::shared_ptr<const engine::model> tiny_model(std::uint64_t seed = 1) {
  engine::random_model_spec spec;
  spec.n_vocab = 256;
  spec.n_embd = 64;
  spec.n_layer = 2;
  spec.head_size = 32;
  spec.lora_decay = spec.lora_aaa = spec.lora_value = spec.lora_gate = 16;
  spec.lora_mix = 8;
  spec.seed = seed;
  engine::load_options o;
  o.backend.threads = 2;
  return engine::model::from_store(engine::make_random_model(spec), o);
}

std::vector<std::string> complete(engine::context& ctx, const engine::tokenizer& tok, engine::session& s,
                                  std::size_t offset) {
  engine::session::cursor cur;
  REQUIRE(s.state_at(ctx, offset, cur, nullptr));
  engine::completion_options o;
  o.max_tokens = 12;
  o.time_budget_ms = 1e9;
  std::vector<std::string> out;
  for (auto& g : engine::generate_suggestions(ctx, tok, cur, engine::cursor_context::at(s.text(), offset), o,
                                              std::chrono::steady_clock::now(), nullptr))
    out.push_back(g.text);
  return out;
}

}  // namespace

TEST_CASE("a restored session equals the saved one and completes the same", "[engine][session][session_file]") {
  auto m = tiny_model();
  std::shared_ptr<const engine::tokenizer> tok = engine::make_byte_tokenizer();
  engine::context ctx(m, 16);
  engine::session_options o;
  o.checkpoint_spacing = 32;
  engine::session a(m, tok, o);
  std::string text;
  for (int i = 0; i < 20; ++i) text += "int v" + std::to_string(i) + " = " + std::to_string(i * 7) + ";\n";
  a.reset("// a.cpp\n", text);
  while (a.prefeed(ctx, 1 << 20, nullptr) > 0) {
  }
  a.edit(text.size(), text.size(), "int w = ");
  engine::session::cursor cur;
  REQUIRE(a.state_at(ctx, a.text().size(), cur, nullptr));
  REQUIRE(a.checkpoint_count() > 3);

  std::stringstream file;
  a.save(file);
  engine::session b(m, tok);
  b.load(file);
  CHECK(b.same_as(a));
  CHECK(b.text() == a.text());
  CHECK(b.checkpoint_positions() == a.checkpoint_positions());

  // Nothing is re-fed for the cursor the saved session had reached.
  engine::feed_stats st;
  REQUIRE(b.state_at(ctx, b.text().size(), cur, nullptr, &st));
  CHECK(st.tokens_fed == 0);
  CHECK(complete(ctx, *tok, a, a.text().size()) == complete(ctx, *tok, b, b.text().size()));

  // Editing the restored session behaves as editing the original.
  a.edit(3, 4, "X");
  b.edit(3, 4, "X");
  CHECK(complete(ctx, *tok, a, a.text().size()) == complete(ctx, *tok, b, b.text().size()));
}

TEST_CASE("loading a session of another model, a damaged or truncated file leaves the session unchanged",
          "[engine][session][session_file]") {
  auto m = tiny_model(1);
  std::shared_ptr<const engine::tokenizer> tok = engine::make_byte_tokenizer();
  engine::context ctx(m, 16);
  engine::session a(m, tok);
  a.reset("h\n", "def f(x):\n    return x\n");
  engine::session::cursor cur;
  REQUIRE(a.state_at(ctx, 10, cur, nullptr));
  std::stringstream file;
  a.save(file);
  const std::string bytes = file.str();

  engine::session other(tiny_model(2), tok);
  other.reset("h\n", "kept");
  std::istringstream in1(bytes);
  try {
    other.load(in1);
    FAIL("loaded a session of another model");
  } catch (const engine::error& e) {
    CHECK(e.code() == engine::errc::state_mismatch);
  }
  CHECK(other.text() == "kept");

  engine::session same(m, tok);
  same.reset("h\n", "kept");
  for (std::size_t cut : {std::size_t{4}, std::size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    std::istringstream in(bytes.substr(0, cut));
    CHECK_THROWS_AS(same.load(in), engine::error);
    CHECK(same.text() == "kept");
  }
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  std::istringstream in2(flipped);
  CHECK_THROWS_AS(same.load(in2), engine::error);
  std::istringstream in3("not a session at all");
  CHECK_THROWS_AS(same.load(in3), engine::error);
  CHECK(same.text() == "kept");
}

TEST_CASE("the streaming hook sees the generated text and can stop generation", "[engine][completion]") {
  auto m = tiny_model();
  std::shared_ptr<const engine::tokenizer> tok = engine::make_byte_tokenizer();
  engine::context ctx(m, 16);
  engine::session s(m, tok);
  s.reset("h\n", "x = ");
  engine::session::cursor cur;
  REQUIRE(s.state_at(ctx, 4, cur, nullptr));
  engine::completion_options o;
  o.max_tokens = 40;
  o.max_lines = 100;
  o.time_budget_ms = 1e9;
  std::string streamed;
  int calls = 0;
  o.on_text = [&](int candidate, std::string_view piece) {
    CHECK(candidate == 0);
    streamed += piece;
    return ++calls < 3;
  };
  engine::generation_stats gs;
  engine::generate_suggestions(ctx, *tok, cur, engine::cursor_context::at(s.text(), 4), o,
                               std::chrono::steady_clock::now(), nullptr, &gs);
  CHECK(calls == 3);
  CHECK(gs.generated_tokens <= 3 + 2);  // pieces of invalid UTF-8 may be held back a token or two
  CHECK_FALSE(streamed.empty());
}
