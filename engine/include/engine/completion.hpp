// Turning a state at the cursor into code suggestions: generation with the stopping rules an
// editor needs, and the clean-up that makes a suggestion insertable.
//
// Rules (what users of inline completion expect):
//  * mid-line, a suggestion is single-line, and only when the rest of the line is closing brackets,
//    quotes or punctuation — anything else after the cursor means no suggestion;
//  * at the end of a line, a suggestion may span lines, and stops at the end of the block (a line
//    indented less than the cursor's line), after `max_lines` lines, `max_tokens` tokens or when the
//    time budget is spent;
//  * the suggestion never repeats what already follows the cursor: an overlap with the rest of the
//    line or the following lines is trimmed, or, when the suggestion re-types the closers that follow
//    on the line, it replaces them (`replace_after`);
//  * no empty or whitespace-only suggestions, no lines that loop on a short pattern; duplicates are
//    merged.
//
// Not thread-safe; uses the caller's context.
#pragma once

#include "engine/context.hpp"
#include "engine/sampler.hpp"
#include "engine/session.hpp"
#include "engine/tokenizer.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine {

struct completion_options {
  int max_tokens = 64;
  int max_lines = 8;
  double time_budget_ms = 1500;  // for the whole request, generation of all candidates included
  int candidates = 1;            // the first is greedy, the others sampled
  float temperature = 0.8f;      // for candidates after the first
  float top_p = 0.9f;
  std::uint64_t seed = 0;
  // Streaming: called on the generating thread with each piece of decoded text as it is produced
  // (candidate index, UTF-8 text of the raw generation, before finish_suggestion's clean-up, which
  // may still cut or trim it). Returning false stops the whole generation; the candidate being
  // generated is finished from what it has, and no further candidate is started. May be empty.
  std::function<bool(int candidate, std::string_view text)> on_text;
};

// The text around the cursor.
struct cursor_context {
  std::string_view line_before;  // from the start of the cursor's line to the cursor
  std::string_view text_after;   // from the cursor to the end of the document

  static cursor_context at(std::string_view text, std::size_t offset);
  std::string_view line_after() const;  // text_after up to the line break
};

struct suggestion {
  std::string text;
  std::size_t replace_after = 0;  // bytes after the cursor the suggestion replaces
};

struct generation_stats {
  std::int64_t generated_tokens = 0;
  double generate_ms = 0;
  bool out_of_time = false;
};

enum class completion_mode { none, single_line, multi_line };

// Where the last line of `text` starts when that line ends in a short pattern repeated over 16
// bytes ("0000…", ", self, self"), the loop small models fall into; npos otherwise.
std::size_t degenerate_line_start(std::string_view text);

// Which kind of suggestion fits the cursor (none when real code follows it on the line).
completion_mode mode_for(const cursor_context& where);

// Cleans one generated text for insertion at `where` (cut to the mode, block end, overlap trim).
// Returns an empty text when nothing useful remains.
suggestion finish_suggestion(std::string generated, const cursor_context& where, completion_mode mode, int max_lines);

// Generates suggestions from the state and logits at the cursor. `start` is when the request began
// (the time budget counts from there). Stops early when `cancel` is set (returns what it has).
std::vector<suggestion> generate_suggestions(context& ctx, const tokenizer& tok, const session::cursor& at,
                                             const cursor_context& where, const completion_options& options,
                                             std::chrono::steady_clock::time_point start,
                                             const std::atomic<bool>* cancel, generation_stats* stats = nullptr);

}  // namespace rwkv::engine
