// One open document's RWKV state, kept incrementally in step with the text.
//
// The document is the token sequence header + text, where the header (file path and language) is
// tokenized on its own and the text with the model's tokenizer. A checkpoint is a copy of the state
// after the header and the first k text tokens. Two kinds are kept:
//  * sparse checkpoints every `spacing` tokens, laid down by background pre-feeding, so a state
//    anywhere in the file is at most one interval of tokens away;
//  * recent checkpoints: the last few states computed for the cursor, so typing costs only the
//    tokens that changed.
// An edit re-tokenizes from a safe point before it until the new tokens fall back into step with
// the old ones, and drops every checkpoint after the first changed token (never reusing one wrongly).
//
// The state for the cursor is the state after header + tokenize(text before the cursor): text
// tokens that end before the cursor are shared with the document's tokenization (greedy
// tokenization guarantees it) and the partial token under the cursor is tokenized separately.
//
// Not thread-safe: a session is used by one thread at a time (the language server's worker).
#pragma once

#include "engine/context.hpp"
#include "engine/model.hpp"
#include "engine/state.hpp"
#include "engine/tokenizer.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine {

struct session_options {
  std::int64_t checkpoint_spacing = 256;  // tokens between sparse checkpoints
  int recent_checkpoints = 4;             // states kept near the cursor
};

// What one call cost, for the status request and benchmarks.
struct feed_stats {
  std::int64_t tokens_fed = 0;    // document tokens fed to reach the cursor
  std::int64_t tail_tokens = 0;   // tokens of the partial token under the cursor
  std::int64_t restored_from = 0; // token count of the checkpoint the state started from
  int eval_calls = 0;
};

class session {
 public:
  session(std::shared_ptr<const model> m, std::shared_ptr<const tokenizer> tok, session_options options = {});

  // Replaces header and text; drops every checkpoint.
  void reset(std::string header, std::string text);
  // Replaces bytes [start, end) of the text (offsets into the current text; clamped to it).
  void edit(std::size_t start, std::size_t end, std::string_view replacement);
  void set_options(const session_options& options);

  const std::string& text() const noexcept { return text_; }
  const std::string& header() const noexcept { return header_; }
  std::int64_t token_count() const noexcept { return static_cast<std::int64_t>(tokens_.size()); }
  const std::vector<std::int32_t>& tokens() const noexcept { return tokens_; }
  const std::vector<std::int32_t>& header_tokens() const noexcept { return header_tokens_; }
  // Index of the first token that differed after the last edit (for tests and statistics).
  std::int64_t last_edit_first_changed() const noexcept { return last_first_changed_; }

  // The tokens a fresh evaluation of header + text[0:offset] would feed (for tests).
  std::vector<std::int32_t> context_tokens(std::size_t offset) const;

  struct cursor {
    state st;                  // after header + text[0:offset]
    std::vector<float> logits; // after the last token of that
  };
  // Brings a state to the cursor, reusing checkpoints and leaving new ones. Returns false when
  // cancelled (checkpoints stay consistent). Throws engine::error on bad input.
  bool state_at(context& ctx, std::size_t offset, cursor& out, const std::atomic<bool>* cancel,
                feed_stats* stats = nullptr);

  // Background work: extends sparse checkpoints toward the end of the text by at most
  // `max_tokens` tokens. Returns the tokens processed (0 when everything is covered).
  std::int64_t prefeed(context& ctx, std::int64_t max_tokens, const std::atomic<bool>* cancel);
  // Text tokens not yet covered by a checkpoint interval.
  std::int64_t prefeed_remaining() const noexcept;

  std::size_t checkpoint_bytes() const noexcept;
  std::size_t checkpoint_count() const noexcept { return checkpoints_.size(); }
  // Token counts at which checkpoints exist, ascending (for tests and status).
  std::vector<std::int64_t> checkpoint_positions() const;
  // Frees memory: drops every other sparse checkpoint (doubling their spacing); when none is left
  // to thin, drops the oldest recent ones. Returns the bytes freed (0: nothing left to free).
  std::size_t thin_checkpoints();
  void drop_checkpoints() { checkpoints_.clear(); }

 private:
  struct checkpoint {
    state st;
    std::vector<float> logits;  // empty unless kept (recent checkpoints and the header)
    bool sparse = false;
    std::uint64_t age = 0;      // insertion order, for recent eviction
  };

  // The greatest checkpoint at or below k (the header state, computed on demand, at 0).
  std::map<std::int64_t, checkpoint>::iterator checkpoint_at_or_below(context& ctx, std::int64_t k,
                                                                      const std::atomic<bool>* cancel);
  // Feeds text tokens [from, to) into `st`, laying sparse checkpoints at multiples of the spacing.
  bool feed(context& ctx, std::int64_t from, std::int64_t to, state& st, float* logits,
            const std::atomic<bool>* cancel, feed_stats* stats);
  void add_checkpoint(std::int64_t k, const state& st, const float* logits, bool sparse);
  void retokenize_all();
  std::int64_t boundary_before(std::size_t offset) const;

  std::shared_ptr<const model> model_;
  std::shared_ptr<const tokenizer> tok_;
  session_options options_;
  std::size_t max_token_bytes_ = 1;
  bool greedy_ = true;

  std::string header_;
  std::string text_;
  std::vector<std::int32_t> header_tokens_;
  std::vector<std::int32_t> tokens_;
  std::vector<std::size_t> starts_;  // byte start of each text token, plus text_.size() at the end

  std::map<std::int64_t, checkpoint> checkpoints_;
  std::uint64_t age_ = 0;
  std::int64_t last_first_changed_ = 0;
};

}  // namespace rwkv::engine
