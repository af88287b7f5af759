#include "cpu_backend.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <thread>

namespace rwkv::kernels::cpu {

namespace {

// Below this many bytes touched, a fork/join costs more than it saves.
constexpr std::size_t parallel_min_work = 64u << 10;

}  // namespace

cpu_backend::cpu_backend(int threads, const kernel_table& kernels, kernels::precision precision, bool huge_pages)
    : threads_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
      k_(kernels),
      precision_(precision),
      huge_pages_(huge_pages),
      arena_(threads_),
      scratch_(static_cast<std::size_t>(threads_) + 1) {
  // Spinning workers only where each has a core of its own; oversubscribed, they would take the
  // caller's time slices.
  if (threads_ > 1 && threads_ <= tbb::info::default_concurrency()) team_.emplace(arena_, threads_);
}

backend_info cpu_backend::info() const { return {"cpu", k_.isa, threads_, precision_}; }

template <class F>
void cpu_backend::run(std::size_t n, std::size_t work, F&& f) {
  if (n == 0) return;
  if (threads_ == 1 || n == 1 || work < parallel_min_work) {
    for (std::size_t i = 0; i < n; ++i) f(i, scratch_[0]);
    return;
  }
  if (team_) return team_->run(n, [&](std::size_t i, int who) { f(i, scratch_[static_cast<std::size_t>(who)]); });
  arena_.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1), [&](const tbb::blocked_range<std::size_t>& r) {
      const int slot = tbb::this_task_arena::current_thread_index();
      thread_scratch& s = scratch_[static_cast<std::size_t>(slot >= 0 && slot < threads_ ? slot : threads_)];
      for (std::size_t i = r.begin(); i < r.end(); ++i) f(i, s);
    });
  });
}

std::int64_t cpu_backend::wkv_parallel_min_tokens() const noexcept {
  // One token's recurrence over all heads takes 5-13 us (its state comes from memory): worth
  // splitting when a loop costs a publish, not when it costs a fork/join.
  return team_ ? 1 : 8;
}

template <class F>
void cpu_backend::over_tokens(std::int64_t T, std::int64_t C, F&& f) {
  constexpr std::int64_t tokens_per_task = 16;
  const std::int64_t n = (T + tokens_per_task - 1) / tokens_per_task;
  // Below ~64 tokens of 768 channels the split would not pay for the fork/join.
  const std::size_t work = T >= 64 ? static_cast<std::size_t>(T * C) * sizeof(float) : 0;
  run(static_cast<std::size_t>(n), work, [&](std::size_t i, thread_scratch&) {
    const std::int64_t t0 = static_cast<std::int64_t>(i) * tokens_per_task;
    f(t0, std::min(T, t0 + tokens_per_task));
  });
}

std::unique_ptr<weight> cpu_backend::prepare(const matrix& m, dtype prefer) {
  // fp16 turns into bf16 only where a bf16 dot instruction makes that worthwhile.
  const bool fast = precision_ == kernels::precision::fast;
  const fast_encodings encodings{fast && k_.bf16_dot, fast && k_.int8_dot, fast && k_.f16_panels};
  // Small matrices (LoRAs) stay where they are: their pages are few, and copies would cost memory.
  const bool copy = huge_pages_ && static_cast<std::size_t>(dtype_row_bytes(m.type, m.cols) * m.rows) >= (64u << 10);
  return cpu_weight::make(m, prefer, encodings, copy, pool_, [&](std::int64_t rows, auto&& fill) {
    arena_.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 64),
                        [&](const tbb::blocked_range<std::int64_t>& r) { fill(r.begin(), r.end()); });
    });
  });
}

dot_path cpu_backend::path_for(const cpu_weight& w) const noexcept {
  if (precision_ == kernels::precision::fast) {
    if (w.lay() == layout::bf16 && k_.bf16_dot) return dot_path::bf16;
    if (is_int8_layout(w.lay()) && k_.int8_dot) return dot_path::int8;
  }
  return dot_path::f32;
}

std::int64_t cpu_backend::task_rows(const cpu_weight& w, dot_path path, bool gemm) const noexcept {
  // Column panels go whole, in sequence mode too (the kernel walks the tokens over each panel).
  if (gemm && !is_column_layout(w.lay())) return path == dot_path::int8 ? k_.gemm_rows : k_.gemm_rows_dense;
  const std::int64_t unit = is_column_layout(w.lay()) ? column_panel_rows : 16;
  const std::int64_t rows = (64 << 10) / std::max<std::int64_t>(1, w.row_bytes()) / unit * unit;
  return std::clamp<std::int64_t>(rows, unit, 1024);
}

void cpu_backend::matmul(const weight& w, const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t T,
                         activation act, bool accumulate) {
  const matmul_job job{&w, x, ldx, y, ldy, act, accumulate};
  matmul_many(std::span(&job, 1), T);
}

void cpu_backend::convert_activations(std::span<const matmul_job> jobs, std::int64_t T, bool gemm) {
  if (act_.size() < jobs.size()) act_.resize(jobs.size());
  tasks_.clear();
  std::size_t work = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    job_state& js = jobs_[i];
    const std::int64_t K = js.w->cols();
    const std::size_t bytes = k_.act_bytes(js.path, gemm, T, K);
    if (bytes == 0) continue;
    for (std::size_t j = 0; j < i; ++j)  // the same input for several products: convert once
      if (jobs_[j].a.converted && jobs_[j].a.x == js.a.x && jobs_[j].a.ldx == js.a.ldx && jobs_[j].path == js.path &&
          jobs_[j].w->cols() == K)
        js.a.converted = jobs_[j].a.converted;
    if (js.a.converted) continue;
    act_[i].reserve(bytes);
    js.a.converted = act_[i].data();
    for (std::int64_t t0 = 0; t0 < T; t0 += k_.act_group)
      tasks_.push_back({static_cast<std::uint32_t>(i), t0, std::min(T, t0 + k_.act_group)});
    work += static_cast<std::size_t>(T * K) * sizeof(float);
  }
  run(tasks_.size(), work, [&](std::size_t n, thread_scratch&) {
    const task& c = tasks_[n];
    const job_state& js = jobs_[c.job];
    const std::int64_t K = js.w->cols();
    auto* out = act_[c.job].data() + k_.act_bytes(js.path, gemm, c.r0, K);
    k_.convert_acts(js.path, gemm, js.a.x + c.r0 * js.a.ldx, js.a.ldx, c.r1 - c.r0, K, out);
  });
}

void cpu_backend::matmul_many(std::span<const matmul_job> jobs, std::int64_t T) {
  if (jobs.empty() || T <= 0) return;
  const bool gemm = T >= k_.gemm_min_tokens;
  jobs_.clear();
  for (const matmul_job& j : jobs) {
    const auto& w = static_cast<const cpu_weight&>(*j.w);
    jobs_.push_back({&w, path_for(w), act_view{j.x, j.ldx, nullptr}, out_view{j.y, j.ldy, j.act, j.accumulate}});
  }
  convert_activations(jobs, T, gemm);

  tasks_.clear();
  std::size_t work = 0;
  for (std::size_t i = 0; i < jobs_.size(); ++i) {
    const cpu_weight& w = *jobs_[i].w;
    const std::int64_t step = task_rows(w, jobs_[i].path, gemm);
    for (std::int64_t r0 = 0; r0 < w.rows(); r0 += step)
      tasks_.push_back({static_cast<std::uint32_t>(i), r0, std::min(w.rows(), r0 + step)});
    work += w.bytes_per_pass() + static_cast<std::size_t>(T * w.cols()) * sizeof(float);
  }
  const matmul_fn fn = gemm ? k_.gemm : k_.gemv;
  run(tasks_.size(), work, [&](std::size_t n, thread_scratch& s) {
    const task& t = tasks_[n];
    const job_state& js = jobs_[t.job];
    fn(*js.w, js.path, js.a, T, t.r0, t.r1, js.o, s);
  });
}

// --- element-wise: the ISA's kernels on the calling thread, else the reference ----------------------

void cpu_backend::layer_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T, std::int64_t C,
                             float eps) {
  if (!k_.layer_norm) return reference_backend::layer_norm(x, w, b, y, T, C, eps);
  over_tokens(T, C, [&](std::int64_t t0, std::int64_t t1) { k_.layer_norm(x + t0 * C, w, b, y + t0 * C, t1 - t0, C, eps); });
}

void cpu_backend::group_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T, std::int64_t C,
                             std::int64_t G, float eps) {
  if (!k_.group_norm) return reference_backend::group_norm(x, w, b, y, T, C, G, eps);
  over_tokens(T, C, [&](std::int64_t t0, std::int64_t t1) {
    k_.group_norm(x + t0 * C, w, b, y + t0 * C, t1 - t0, C, G, eps);
  });
}

void cpu_backend::token_shift(const float* x, float* prev, float* dx, std::int64_t T, std::int64_t C) {
  if (k_.token_shift) return k_.token_shift(x, prev, dx, T, C);  // a subtraction per value: serial
  reference_backend::token_shift(x, prev, dx, T, C);
}

void cpu_backend::mix(const float* x, const float* dx, const float* const* mixes, float* const* outs, int n,
                      std::int64_t T, std::int64_t C) {
  if (!k_.mix) return reference_backend::mix(x, dx, mixes, outs, n, T, C);
  over_tokens(T, C, [&](std::int64_t t0, std::int64_t t1) {
    float* o[16];
    for (int j = 0; j < n; ++j) o[j] = outs[j] + t0 * C;
    k_.mix(x + t0 * C, dx + t0 * C, mixes, o, n, t1 - t0, C);
  });
}

void cpu_backend::mix_dynamic(const float* x, const float* dx, const float* m, const float* dyn, std::int64_t ld_dyn,
                              float* out, std::int64_t T, std::int64_t C) {
  if (!k_.mix_dynamic) return reference_backend::mix_dynamic(x, dx, m, dyn, ld_dyn, out, T, C);
  over_tokens(T, C, [&](std::int64_t t0, std::int64_t t1) {
    k_.mix_dynamic(x + t0 * C, dx + t0 * C, m, dyn + t0 * ld_dyn, ld_dyn, out + t0 * C, t1 - t0, C);
  });
}

void cpu_backend::mul(const float* a, const float* b, float* y, std::int64_t n) {
  if (k_.mul) return k_.mul(a, b, y, n);
  reference_backend::mul(a, b, y, n);
}

void cpu_backend::add_mul(const float* a, const float* b, float* y, std::int64_t n) {
  if (k_.add_mul) return k_.add_mul(a, b, y, n);
  reference_backend::add_mul(a, b, y, n);
}

void cpu_backend::wkv4(std::int64_t T, std::int64_t C, const float* decay, const float* first, const float* k,
                       const float* v, float* aa, float* bb, float* pp, float* y) {
  if (k_.wkv4) return k_.wkv4(T, C, decay, first, k, v, aa, bb, pp, y);
  reference_backend::wkv4(T, C, decay, first, k, v, aa, bb, pp, y);
}

void cpu_backend::wkv5(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* k, const float* v,
                       const float* w, bool w_per_token, const float* u, float* state, float* y) {
  if (!k_.wkv5) return reference_backend::wkv5(T, H, N, r, k, v, w, w_per_token, u, state, y);
  const std::size_t work = T >= wkv_parallel_min_tokens() ? static_cast<std::size_t>(T * H * N * N) * 4 : 0;
  run(static_cast<std::size_t>(H), work, [&](std::size_t h, thread_scratch&) {
    k_.wkv5(T, H, N, r, k, v, w, w_per_token, u, state, y, static_cast<std::int64_t>(h), static_cast<std::int64_t>(h) + 1);
  });
}

void cpu_backend::rwkv6_decay(float* w, const float* time_decay, std::int64_t T, std::int64_t C) {
  if (k_.rwkv6_decay) return k_.rwkv6_decay(w, time_decay, T, C);
  reference_backend::rwkv6_decay(w, time_decay, T, C);
}

void cpu_backend::rwkv7_prepare(const rwkv7_prepare_args& args) {
  if (!k_.rwkv7_prepare) return reference_backend::rwkv7_prepare(args);
  const std::int64_t C = args.H * args.N;
  over_tokens(args.T, C, [&](std::int64_t t0, std::int64_t t1) {
    rwkv7_prepare_args p = args;
    const std::int64_t o = t0 * C;
    p.T = t1 - t0;
    p.w += o, p.a += o, p.b += o, p.k += o, p.v += o, p.v_first += o;
    if (p.v_gate) p.v_gate += o;
    k_.rwkv7_prepare(p);
  });
}

void cpu_backend::wkv7(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* w, const float* k,
                       const float* v, const float* a, const float* b, float* state, float* y) {
  if (!k_.wkv7) return reference_backend::wkv7(T, H, N, r, w, k, v, a, b, state, y);
  const std::size_t work = T >= wkv_parallel_min_tokens() ? static_cast<std::size_t>(T * H * N * N) * 4 : 0;
  run(static_cast<std::size_t>(H), work, [&](std::size_t h, thread_scratch&) {
    k_.wkv7(T, H, N, r, w, k, v, a, b, state, y, static_cast<std::int64_t>(h), static_cast<std::int64_t>(h) + 1);
  });
}

void cpu_backend::rwkv7_finish(float* y, const float* r, const float* k, const float* v, const float* r_k,
                               const float* g, std::int64_t T, std::int64_t H, std::int64_t N) {
  if (!k_.rwkv7_finish) return reference_backend::rwkv7_finish(y, r, k, v, r_k, g, T, H, N);
  const std::int64_t C = H * N;
  over_tokens(T, C, [&](std::int64_t t0, std::int64_t t1) {
    const std::int64_t o = t0 * C;
    k_.rwkv7_finish(y + o, r + o, k + o, v + o, r_k, g + o, t1 - t0, H, N);
  });
}

}  // namespace rwkv::kernels::cpu
