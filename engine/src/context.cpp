#include "engine/context.hpp"

#include "engine/error.hpp"
#include "forward/common.hpp"

#include <algorithm>

namespace rwkv::engine {

namespace {

// Scratch slots above every architecture's own.
constexpr std::size_t slot_state = 60;
constexpr std::size_t slot_logits = 61;

}  // namespace

context::context(std::shared_ptr<const model> m, std::int64_t default_chunk)
    : model_(std::move(m)), default_chunk_(std::max<std::int64_t>(1, default_chunk)),
      scratch_(std::make_unique<scratch>(*model_->backend_)) {}

context::~context() = default;

std::size_t context::eval(std::span<const std::int32_t> tokens, state& s, float* logits, const eval_options& options) {
  const model& m = *model_;
  const auto& c = m.config();
  if (!(s.layout() == m.layout()))
    throw error(errc::bad_argument, "the state passed to eval belongs to another model or layout");
  for (std::int32_t t : tokens)
    if (t < 0 || t >= c.n_vocab)
      throw error(errc::bad_argument, "token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                                          std::to_string(c.n_vocab - 1) + ")");
  if (tokens.empty()) return 0;

  kernels::backend& b = *m.backend_;
  const bool host = b.host_memory();
  const std::int64_t chunk =
      options.mode == eval_mode::rnn ? 1 : (options.chunk > 0 ? options.chunk : default_chunk_);
  const std::int64_t V = c.n_vocab;
  const auto total = static_cast<std::int64_t>(tokens.size());

  float* st = s.data().data();
  std::int64_t done = 0;
  while (done < total) {
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) break;
    const std::int64_t T = std::min(chunk, total - done);
    const bool last = done + T == total;
    float* host_logits = nullptr;
    bool all_rows = false;
    if (options.all_logits) {
      host_logits = options.all_logits + done * V;
      all_rows = true;
    } else if (last && logits) {
      host_logits = logits;
    }
    std::lock_guard lock(m.eval_mutex_);
    float* dev_state = st;
    if (!host) {
      dev_state = scratch_->get(slot_state, s.data().size());
      b.upload(dev_state, st, s.data().size());
    }
    float* dev_logits = host_logits;
    const std::int64_t rows = all_rows ? T : 1;
    if (host_logits && !host) dev_logits = scratch_->get(slot_logits, static_cast<std::size_t>(rows * V));
    m.impl_->forward(*scratch_, tokens.data() + done, T, dev_state, dev_logits, all_rows);
    if (!host) {
      b.download(st, dev_state, s.data().size());
      if (host_logits) b.download(host_logits, dev_logits, static_cast<std::size_t>(rows * V));
    }
    done += T;
    if (all_rows && last && logits) std::copy(host_logits + (T - 1) * V, host_logits + T * V, logits);
  }
  if (done < total && logits && !options.all_logits) {
    // Cancelled: the caller's logits would be stale; mark them unusable rather than leave garbage.
    std::fill(logits, logits + V, 0.0f);
  }
  return static_cast<std::size_t>(done);
}

}  // namespace rwkv::engine
