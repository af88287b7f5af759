// `rwkv-lsp complete`: one completion for a position in a file, computed exactly as the language
// server does (document session, editor rules), for scripts and the demo.
#include "common.hpp"

#include "engine/completion.hpp"
#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/session.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

namespace rwkv::cli {

int cmd_complete(int argc, char** argv) {
  args a(argc, argv, 2,
         with_model_options({"--vocab", "--file", "--line", "--column", "--offset", "--max-tokens", "--max-lines",
                             "--candidates", "--temperature", "--time-budget-ms", "--language", "--format"}),
         {});
  const std::string path = a.require("--file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw engine::error(engine::errc::io, "cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();

  // The cursor: --offset (bytes), or --line/--column (1-based, column in bytes), or the end.
  std::size_t offset = text.size();
  if (a.has("--offset")) {
    offset = static_cast<std::size_t>(a.get_int("--offset", 0, 0, static_cast<std::int64_t>(text.size())));
  } else if (a.has("--line")) {
    auto line = a.get_int("--line", 1, 1, 1 << 30);
    std::size_t pos = 0;
    for (std::int64_t l = 1; l < line; ++l) {
      pos = text.find('\n', pos);
      if (pos == std::string::npos) throw usage_error("--line is past the end of the file");
      ++pos;
    }
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    auto col = a.get_int("--column", static_cast<std::int64_t>(eol - pos) + 1, 1, static_cast<std::int64_t>(eol - pos) + 1);
    offset = pos + static_cast<std::size_t>(col - 1);
  }

  auto t0 = std::chrono::steady_clock::now();
  auto m = open_model(a, kernels::precision::fast);
  std::shared_ptr<const engine::tokenizer> tok = open_tokenizer(a, *m);
  auto t1 = std::chrono::steady_clock::now();
  engine::context ctx(m);
  engine::session s(m, tok);
  std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  s.reset("// " + name + "\n", text);
  engine::session::cursor cur;
  engine::feed_stats fs;
  s.state_at(ctx, offset, cur, nullptr, &fs);
  auto t2 = std::chrono::steady_clock::now();
  engine::completion_options co;
  co.max_tokens = static_cast<int>(a.get_int("--max-tokens", 64, 1, 4096));
  co.max_lines = static_cast<int>(a.get_int("--max-lines", 8, 1, 1000));
  co.candidates = static_cast<int>(a.get_int("--candidates", 1, 1, 10));
  co.temperature = static_cast<float>(a.get_double("--temperature", 0.8, 0, 5));
  co.time_budget_ms = a.get_double("--time-budget-ms", 10000, 1, 1e7);
  engine::generation_stats gs;
  auto where = engine::cursor_context::at(s.text(), offset);
  auto items = engine::generate_suggestions(ctx, *tok, cur, where, co, t2, nullptr, &gs);
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };

  if (a.get_or("--format", "json") == "text") {
    // Human-readable: the last lines before the cursor, then the suggestion, marked.
    std::size_t from = offset;
    for (int lines = 0; lines < 6 && from > 0; ) if (text[--from] == '\n') ++lines;
    std::cout << "--- " << path << " (cursor at byte " << offset << ")\n" << text.substr(from ? from + 1 : 0, offset - (from ? from + 1 : 0));
    if (items.empty()) std::cout << "\x1b[2m<no suggestion>\x1b[0m";
    else std::cout << "\x1b[32m" << items.front().text << "\x1b[0m";
    std::cout << "\n--- model " << m->source() << ", " << fs.tokens_fed + fs.tail_tokens << " tokens read in "
              << ms(t2 - t1) << " ms, " << gs.generated_tokens << " generated in " << gs.generate_ms << " ms\n";
    return 0;
  }
  nlohmann::json suggestions = nlohmann::json::array();
  for (const auto& i : items) suggestions.push_back({{"text", i.text}, {"replace_after", i.replace_after}});
  print_json({{"file", path},
              {"offset", offset},
              {"model", m->source()},
              {"suggestions", suggestions},
              {"load_ms", ms(t1 - t0)},
              {"prefill_tokens", fs.tokens_fed + fs.tail_tokens},
              {"prefill_ms", ms(t2 - t1)},
              {"generated_tokens", gs.generated_tokens},
              {"generate_ms", gs.generate_ms}});
  return 0;
}

}  // namespace rwkv::cli
