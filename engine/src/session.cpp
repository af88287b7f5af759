#include "engine/session.hpp"

#include "engine/error.hpp"

#include <algorithm>
#include <cstdint>

namespace rwkv::engine {

session::session(std::shared_ptr<const model> m, std::shared_ptr<const tokenizer> tok, session_options options)
    : model_(std::move(m)), tok_(std::move(tok)), options_(options) {
  if (options_.checkpoint_spacing < 1) options_.checkpoint_spacing = 1;
  // Greedy tokenizers decide a token from a bounded number of bytes; that bounds how far back an
  // edit can change the tokenization. Unbounded ones (BPE) are re-tokenized whole.
  max_token_bytes_ = tok_->lookahead_bytes();
  greedy_ = max_token_bytes_ != SIZE_MAX;
  reset("", "");
}

void session::set_options(const session_options& options) {
  bool spacing_changed = options.checkpoint_spacing != options_.checkpoint_spacing;
  options_ = options;
  if (options_.checkpoint_spacing < 1) options_.checkpoint_spacing = 1;
  if (spacing_changed)
    for (auto it = checkpoints_.begin(); it != checkpoints_.end();)
      it = it->second.sparse && it->first % options_.checkpoint_spacing != 0 && it->first != 0 ? checkpoints_.erase(it)
                                                                                                : std::next(it);
}

void session::reset(std::string header, std::string text) {
  header_ = std::move(header);
  text_ = std::move(text);
  // The header always yields at least one token so that the state before the text has logits.
  header_tokens_ = tok_->encode(header_.empty() ? std::string_view("\n") : std::string_view(header_));
  retokenize_all();
  checkpoints_.clear();
  last_first_changed_ = 0;
}

void session::retokenize_all() {
  tokens_ = tok_->encode(text_);
  starts_.clear();
  starts_.reserve(tokens_.size() + 1);
  std::size_t pos = 0;
  for (auto id : tokens_) {
    starts_.push_back(pos);
    pos += tok_->token_bytes(id).size();
  }
  if (pos != text_.size())
    throw error(errc::bad_argument, "the tokenizer '" + std::string(tok_->name()) + "' does not round-trip this text");
  starts_.push_back(pos);
}

std::int64_t session::boundary_before(std::size_t offset) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  return static_cast<std::int64_t>(it - starts_.begin()) - 1;
}

std::vector<std::int32_t> session::context_tokens(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  const std::int64_t b = boundary_before(offset);
  std::vector<std::int32_t> out = header_tokens_;
  out.insert(out.end(), tokens_.begin(), tokens_.begin() + b);
  auto tail = tok_->encode(std::string_view(text_).substr(starts_[static_cast<std::size_t>(b)], offset - starts_[static_cast<std::size_t>(b)]));
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

void session::edit(std::size_t start, std::size_t end, std::string_view replacement) {
  start = std::min(start, text_.size());
  end = std::clamp(end, start, text_.size());
  const auto old_n = static_cast<std::int64_t>(tokens_.size());

  if (!greedy_) {
    auto old_tokens = tokens_;
    auto old_starts = starts_;
    text_.replace(start, end - start, replacement);
    retokenize_all();
    std::int64_t f = 0;
    while (f < old_n && f < token_count() && tokens_[f] == old_tokens[f] && starts_[f] == old_starts[f]) ++f;
    last_first_changed_ = f;
    checkpoints_.erase(checkpoints_.upper_bound(f), checkpoints_.end());
    return;
  }

  // Tokens that start at least max_token_bytes_ before the edit cannot have looked at it.
  const std::size_t L = max_token_bytes_;
  std::int64_t j = 0;
  if (start >= L) {
    auto it = std::upper_bound(starts_.begin(), starts_.begin() + old_n, start - L);
    j = std::max<std::int64_t>(0, static_cast<std::int64_t>(it - starts_.begin()) - 1);
  }
  const std::size_t s = starts_[static_cast<std::size_t>(j)];
  const auto delta = static_cast<std::int64_t>(replacement.size()) - static_cast<std::int64_t>(end - start);
  text_.replace(start, end - start, replacement);
  const std::size_t changed_end = start + replacement.size();

  // Re-tokenize a window after the restart point until a new token boundary lands on an old one
  // past the edit: from there both tokenizations read the same bytes, so they agree.
  std::vector<std::int32_t> fresh;
  std::vector<std::size_t> fresh_starts;
  std::int64_t resync = -1;  // old token index where the old tokens resume
  auto find_old = [&](std::size_t new_pos) -> std::int64_t {
    auto old_pos = static_cast<std::int64_t>(new_pos) - delta;
    auto first = starts_.begin() + j, last = starts_.begin() + old_n + 1;
    auto it = std::lower_bound(first, last, static_cast<std::size_t>(old_pos));
    return it != last && static_cast<std::int64_t>(*it) == old_pos ? static_cast<std::int64_t>(it - starts_.begin()) : -1;
  };
  for (std::size_t window = std::max<std::size_t>(4 * L, 256);; window *= 4) {
    const std::size_t win_end = std::min(text_.size(), changed_end + window);
    const bool to_end = win_end == text_.size();
    auto piece = tok_->encode(std::string_view(text_).substr(s, win_end - s));
    fresh.clear();
    fresh_starts.clear();
    std::size_t pos = s;
    bool certain_end = true;
    for (auto id : piece) {
      if (pos >= changed_end && (resync = find_old(pos)) >= 0) break;
      if (!to_end && pos + L > win_end) {  // this token might be cut short by the window
        certain_end = false;
        break;
      }
      fresh.push_back(id);
      fresh_starts.push_back(pos);
      pos += tok_->token_bytes(id).size();
    }
    if (resync < 0 && certain_end && pos >= changed_end) resync = find_old(pos);  // at the end of the text
    if (resync >= 0) break;
    if (to_end) throw error(errc::bad_argument, "internal: re-tokenization did not reach the end of the text");
  }

  std::int64_t f = j;
  for (std::size_t i = 0; i < fresh.size() && f < old_n; ++i, ++f)
    if (fresh[i] != tokens_[f] || fresh_starts[i] != starts_[f]) break;
  last_first_changed_ = f;

  std::vector<std::int32_t> tokens(tokens_.begin(), tokens_.begin() + j);
  tokens.insert(tokens.end(), fresh.begin(), fresh.end());
  tokens.insert(tokens.end(), tokens_.begin() + resync, tokens_.end());
  std::vector<std::size_t> starts(starts_.begin(), starts_.begin() + j);
  starts.insert(starts.end(), fresh_starts.begin(), fresh_starts.end());
  for (auto it = starts_.begin() + resync; it != starts_.end(); ++it)
    starts.push_back(static_cast<std::size_t>(static_cast<std::int64_t>(*it) + delta));
  tokens_ = std::move(tokens);
  starts_ = std::move(starts);

  checkpoints_.erase(checkpoints_.upper_bound(f), checkpoints_.end());
}

void session::add_checkpoint(std::int64_t k, const state& st, const float* logits, bool sparse) {
  auto [it, inserted] = checkpoints_.try_emplace(k);
  checkpoint& c = it->second;
  if (inserted) c.st = st;
  c.sparse = c.sparse || sparse;
  c.age = ++age_;
  if (logits) c.logits.assign(logits, logits + model_->config().n_vocab);
  if (sparse) return;
  // Keep only the most recent non-sparse checkpoints near the cursor.
  std::vector<std::map<std::int64_t, checkpoint>::iterator> recent;
  for (auto i = checkpoints_.begin(); i != checkpoints_.end(); ++i)
    if (!i->second.sparse && i->first != 0) recent.push_back(i);
  if (static_cast<int>(recent.size()) <= options_.recent_checkpoints) return;
  std::sort(recent.begin(), recent.end(), [](auto a, auto b) { return a->second.age < b->second.age; });
  for (std::size_t i = 0; i + static_cast<std::size_t>(options_.recent_checkpoints) < recent.size(); ++i)
    checkpoints_.erase(recent[i]);
}

std::map<std::int64_t, session::checkpoint>::iterator session::checkpoint_at_or_below(context& ctx, std::int64_t k,
                                                                                     const std::atomic<bool>* cancel) {
  auto it = checkpoints_.upper_bound(k);
  if (it != checkpoints_.begin()) return std::prev(it);
  // The state after the header: computed once per header, kept like any checkpoint.
  state st = model_->initial_state();
  std::vector<float> logits(static_cast<std::size_t>(model_->config().n_vocab));
  eval_options o;
  o.cancel = cancel;
  if (ctx.eval(header_tokens_, st, logits.data(), o) < header_tokens_.size()) return checkpoints_.end();
  add_checkpoint(0, st, logits.data(), true);
  return checkpoints_.find(0);
}

bool session::feed(context& ctx, std::int64_t from, std::int64_t to, state& st, float* logits,
                   const std::atomic<bool>* cancel, feed_stats* stats) {
  const std::int64_t spacing = options_.checkpoint_spacing;
  eval_options o;
  o.cancel = cancel;
  for (std::int64_t k = from; k < to;) {
    const std::int64_t next = std::min(to, (k / spacing + 1) * spacing);
    const auto n = static_cast<std::size_t>(next - k);
    const std::size_t done = ctx.eval(std::span(tokens_).subspan(static_cast<std::size_t>(k), n), st,
                                      next == to ? logits : nullptr, o);
    if (stats) {
      stats->tokens_fed += static_cast<std::int64_t>(done);
      ++stats->eval_calls;
    }
    if (done < n) return false;
    k = next;
    if (k % spacing == 0 && !checkpoints_.count(k)) add_checkpoint(k, st, nullptr, true);
  }
  return true;
}

bool session::state_at(context& ctx, std::size_t offset, cursor& out, const std::atomic<bool>* cancel,
                       feed_stats* stats) {
  offset = std::min(offset, text_.size());
  const std::int64_t b = boundary_before(offset);
  const std::size_t tail_start = starts_[static_cast<std::size_t>(b)];
  const auto tail = tok_->encode(std::string_view(text_).substr(tail_start, offset - tail_start));
  const auto V = static_cast<std::size_t>(model_->config().n_vocab);
  out.logits.resize(V);

  // Without a tail, the logits at b are needed: a checkpoint at b that kept them, or at least one
  // token to feed.
  auto exact = checkpoints_.find(b);
  const bool have_b = exact != checkpoints_.end() && (!tail.empty() || !exact->second.logits.empty());
  auto from = have_b ? exact : checkpoint_at_or_below(ctx, tail.empty() && b > 0 ? b - 1 : b, cancel);
  if (from == checkpoints_.end()) return false;
  if (stats) stats->restored_from = from->first;
  out.st = from->second.st;
  from->second.age = ++age_;

  if (from->first < b) {
    // Keep the state one token before b as well: typing most often changes only the last token,
    // and then the next keystroke restores from there instead of from afar.
    if (from->first < b - 1) {
      if (!feed(ctx, from->first, b - 1, out.st, nullptr, cancel, stats)) return false;
      add_checkpoint(b - 1, out.st, nullptr, false);
    }
    if (!feed(ctx, b - 1, b, out.st, tail.empty() ? out.logits.data() : nullptr, cancel, stats)) return false;
    add_checkpoint(b, out.st, tail.empty() ? out.logits.data() : nullptr, false);
  } else if (tail.empty()) {
    out.logits = from->second.logits;
  }
  if (!tail.empty()) {
    eval_options o;
    o.cancel = cancel;
    if (ctx.eval(tail, out.st, out.logits.data(), o) < tail.size()) return false;
    if (stats) {
      stats->tail_tokens += static_cast<std::int64_t>(tail.size());
      ++stats->eval_calls;
    }
  }
  return true;
}

std::int64_t session::prefeed_remaining() const noexcept {
  const std::int64_t spacing = options_.checkpoint_spacing;
  const std::int64_t target = token_count() / spacing * spacing;
  for (std::int64_t m = spacing; m <= target; m += spacing)
    if (!checkpoints_.count(m)) return target - m + spacing;
  return 0;
}

std::int64_t session::prefeed(context& ctx, std::int64_t max_tokens, const std::atomic<bool>* cancel) {
  const std::int64_t spacing = options_.checkpoint_spacing;
  const std::int64_t target = token_count() / spacing * spacing;
  std::int64_t missing = spacing;
  while (missing <= target && checkpoints_.count(missing)) missing += spacing;
  if (missing > target) return 0;
  auto from = checkpoint_at_or_below(ctx, missing, cancel);
  if (from == checkpoints_.end()) return 0;
  const std::int64_t start = from->first;
  // Stop on a multiple of the spacing so that all the work done is kept as a checkpoint.
  const std::int64_t to = std::min(target, std::max(missing, (start + max_tokens) / spacing * spacing));
  state st = from->second.st;
  feed_stats stats;
  feed(ctx, start, to, st, nullptr, cancel, &stats);
  return stats.tokens_fed;
}

std::vector<std::int64_t> session::checkpoint_positions() const {
  std::vector<std::int64_t> out;
  for (const auto& [k, c] : checkpoints_) out.push_back(k);
  return out;
}

std::size_t session::checkpoint_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& [k, c] : checkpoints_) n += c.st.bytes() + c.logits.size() * sizeof(float);
  return n;
}

std::size_t session::thin_checkpoints() {
  const std::size_t before = checkpoint_bytes();
  while (options_.checkpoint_spacing <= token_count()) {
    options_.checkpoint_spacing *= 2;
    for (auto it = checkpoints_.begin(); it != checkpoints_.end();)
      it = it->second.sparse && it->first != 0 && it->first % options_.checkpoint_spacing != 0 ? checkpoints_.erase(it)
                                                                                                : std::next(it);
    if (checkpoint_bytes() < before) return before - checkpoint_bytes();
  }
  // Sparse checkpoints are as thin as they get: give up the oldest recent one, then the rest.
  auto oldest = checkpoints_.end();
  for (auto it = checkpoints_.begin(); it != checkpoints_.end(); ++it)
    if (oldest == checkpoints_.end() || it->second.age < oldest->second.age) oldest = it;
  if (oldest != checkpoints_.end()) checkpoints_.erase(oldest);
  return before - checkpoint_bytes();
}

}  // namespace rwkv::engine
