// Evaluation of token sequences: the scratch memory and the chunking around a model's forward.
//
// A context belongs to one thread at a time; many contexts may share one model (evaluations are
// serialized on the model's backend). The state passed in is the caller's: a context keeps nothing
// between calls except its scratch buffers.
#pragma once

#include "engine/model.hpp"
#include "engine/state.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace rwkv::engine {

enum class eval_mode : std::uint8_t {
  sequence,  // T tokens per forward: every projection a matrix-matrix product over the chunk
  rnn,       // one token per forward (the recurrent form)
};

struct eval_options {
  eval_mode mode = eval_mode::sequence;
  std::int64_t chunk = 0;  // tokens per forward in sequence mode; 0 = the context's default
  // Checked between chunks (sequence) or tokens (rnn); when set, eval returns early with the
  // state consistent at the last processed token.
  const std::atomic<bool>* cancel = nullptr;
  // When non-null: logits after every token, row-major [tokens.size()][n_vocab].
  float* all_logits = nullptr;
};

class context {
 public:
  explicit context(std::shared_ptr<const model> m, std::int64_t default_chunk = 128);
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  const model& get_model() const noexcept { return *model_; }
  const std::shared_ptr<const model>& model_ptr() const noexcept { return model_; }
  // Tokens per forward in sequence mode when eval_options::chunk is 0.
  std::int64_t default_chunk() const noexcept { return default_chunk_; }

  // Feeds tokens into `s`. When `logits` is non-null it receives the n_vocab logits after the last
  // token (the head runs only where logits are asked for). Returns the number of tokens processed,
  // fewer than tokens.size() only when cancelled. Throws engine::error(bad_argument) for a token
  // outside the vocabulary or a state of another layout (nothing is processed then).
  std::size_t eval(std::span<const std::int32_t> tokens, state& s, float* logits, const eval_options& options = {});

  struct scratch;

 private:
  std::shared_ptr<const model> model_;
  std::int64_t default_chunk_;
  std::unique_ptr<scratch> scratch_;
};

}  // namespace rwkv::engine
