#include "engine/completion.hpp"

#include "engine/utf8.hpp"

#include <algorithm>

namespace rwkv::engine {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

bool is_closer(char c) {
  switch (c) {
    case ')': case ']': case '}': case '>': case '"': case '\'': case '`': case ';': case ',': case ':': case '.':
      return true;
    default:
      return is_space(c);
  }
}

bool blank(std::string_view s) { return std::all_of(s.begin(), s.end(), is_space); }

std::size_t indent_of(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
  return n;
}

std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Longest k such that a ends with b[0:k].
std::size_t suffix_prefix_overlap(std::string_view a, std::string_view b) {
  for (std::size_t k = std::min(a.size(), b.size()); k > 0; --k)
    if (a.substr(a.size() - k) == b.substr(0, k)) return k;
  return 0;
}

// True when the non-space characters of `needle` appear in order in `hay`.
bool is_subsequence(std::string_view needle, std::string_view hay) {
  std::size_t i = 0;
  for (char c : needle) {
    if (is_space(c)) continue;
    i = hay.find(c, i);
    if (i == std::string_view::npos) return false;
    ++i;
  }
  return true;
}

}  // namespace

cursor_context cursor_context::at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line_start = text.rfind('\n', offset == 0 ? std::string_view::npos : offset - 1);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  if (offset == 0) line_start = 0;
  return {text.substr(line_start, offset - line_start), text.substr(offset)};
}

std::string_view cursor_context::line_after() const {
  auto nl = text_after.find('\n');
  auto line = text_after.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

completion_mode mode_for(const cursor_context& where) {
  auto rest = where.line_after();
  if (blank(rest)) return completion_mode::multi_line;
  if (std::all_of(rest.begin(), rest.end(), is_closer)) return completion_mode::single_line;
  return completion_mode::none;
}

suggestion finish_suggestion(std::string generated, const cursor_context& where, completion_mode mode, int max_lines) {
  suggestion out;
  if (mode == completion_mode::none) return out;
  std::string_view g = generated;

  if (mode == completion_mode::single_line) {
    g = g.substr(0, g.find('\n'));
  } else {
    // The block ends at the first later line indented less than the cursor's line.
    std::size_t block_indent = indent_of(where.line_before);
    std::size_t pos = g.find('\n'), lines = 1, cut = g.size();
    while (pos != std::string_view::npos) {
      if (static_cast<int>(lines) >= max_lines) {
        cut = pos;
        break;
      }
      std::size_t next = g.find('\n', pos + 1);
      auto line = g.substr(pos + 1, (next == std::string_view::npos ? g.size() : next) - pos - 1);
      bool complete = next != std::string_view::npos;
      if (!blank(line) && indent_of(line) < block_indent && (complete || indent_of(line) < line.size())) {
        cut = pos;
        break;
      }
      ++lines;
      pos = next;
    }
    g = g.substr(0, cut);
  }
  g = rtrim(g);

  if (mode == completion_mode::single_line) {
    auto rest = where.line_after();
    if (std::size_t k = suffix_prefix_overlap(g, rest); k > 0) {
      g = rtrim(g.substr(0, g.size() - k));
    } else if (!blank(rest) && is_subsequence(rest, g)) {
      out.replace_after = rtrim(rest).size();  // the suggestion re-types the closers: replace them
    }
  } else {
    // Drop a tail that repeats the text after the cursor (e.g. the closing lines already there).
    auto after = where.text_after;
    std::size_t k = suffix_prefix_overlap(g, after.substr(0, std::min<std::size_t>(after.size(), 4096)));
    if (k > 0 && !blank(g.substr(g.size() - k))) g = rtrim(g.substr(0, g.size() - k));
  }
  if (blank(g)) return out;
  out.text = std::string(g);
  return out;
}

std::vector<suggestion> generate_suggestions(context& ctx, const tokenizer& tok, const session::cursor& at,
                                             const cursor_context& where, const completion_options& options,
                                             std::chrono::steady_clock::time_point start,
                                             const std::atomic<bool>* cancel, generation_stats* stats) {
  std::vector<suggestion> out;
  const completion_mode mode = mode_for(where);
  if (mode == completion_mode::none) return out;
  using clock = std::chrono::steady_clock;
  const auto deadline = start + std::chrono::microseconds(static_cast<std::int64_t>(options.time_budget_ms * 1000));
  const auto eot = tok.end_of_text();
  const auto decodable = static_cast<std::size_t>(std::min<std::int64_t>(tok.vocab_size(), ctx.get_model().config().n_vocab));
  const int max_lines = mode == completion_mode::single_line ? 1 : std::max(1, options.max_lines);
  auto gen_start = clock::now();

  for (int c = 0; c < std::max(1, options.candidates); ++c) {
    sampling_params sp;
    sp.temperature = c == 0 ? 0.0f : options.temperature;
    sp.top_p = options.top_p;
    sp.seed = options.seed + static_cast<std::uint64_t>(c);
    sampler smp(sp);
    state st = at.st;
    std::vector<float> logits = at.logits;
    utf8_decoder dec;
    std::string text;
    int newlines = 0;
    for (int i = 0; i < options.max_tokens; ++i) {
      if ((cancel && cancel->load(std::memory_order_relaxed))) break;
      if (clock::now() >= deadline) {
        if (stats) stats->out_of_time = true;
        break;
      }
      // Only ids the tokenizer can spell (a model's vocabulary may be padded beyond them).
      std::int32_t next = smp.sample(std::span(logits).first(decodable));
      if (eot && next == *eot) break;
      smp.accept(next);
      text += dec.push(tok.token_bytes(next));
      if (stats) ++stats->generated_tokens;
      // Stop as soon as the text can no longer grow into something the mode keeps.
      newlines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
      if (newlines >= max_lines && !blank(text.substr(0, text.rfind('\n')))) break;
      if (mode == completion_mode::multi_line && newlines >= 2) {
        // A completed line that leaves the block ends the suggestion.
        auto last_nl = text.rfind('\n');
        auto prev_nl = text.rfind('\n', last_nl - 1);
        auto line = std::string_view(text).substr(prev_nl + 1, last_nl - prev_nl - 1);
        if (!blank(line) && indent_of(line) < indent_of(where.line_before)) break;
      }
      if (ctx.eval(std::span(&next, 1), st, logits.data()) != 1) break;
    }
    text += dec.flush();
    auto s = finish_suggestion(std::move(text), where, mode, max_lines);
    if (s.text.empty()) continue;
    if (std::none_of(out.begin(), out.end(), [&](const suggestion& o) { return o.text == s.text; }))
      out.push_back(std::move(s));
    if (cancel && cancel->load(std::memory_order_relaxed)) break;
    if (clock::now() >= deadline) break;
  }
  if (stats) stats->generate_ms += std::chrono::duration<double, std::milli>(clock::now() - gen_start).count();
  return out;
}

}  // namespace rwkv::engine
