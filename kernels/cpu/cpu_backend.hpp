// The production CPU backend: one ISA's kernel table (kernel_table.hpp) driven over oneTBB.
//
// Owns the one tbb::task_arena the engine computes in (its size is the configured thread count),
// the per-thread scratch of the kernels and the converted activations of the current products —
// all grown at first use, so steady-state evaluation allocates nothing.
//
// Parallelism: matrix products (split by rows) run in parallel; so do, for long chunks only, the
// element-wise operations (split by tokens — each token's values are computed the same way
// whatever the split), and the per-head WKV recurrences. At one token, element-wise work runs
// vectorized on the calling thread: microseconds, less than any hand-over would cost.
// `matmul_many` puts the rows of all its products into one parallel loop. The loops run on a
// spin_team of the arena's workers (a few hundred ns to hand a loop over, where a oneTBB
// fork/join costs microseconds: generation runs about 60 loops per token), or, when the threads
// asked for outnumber the cores, as oneTBB parallel_for.
#pragma once

#include "kernel_table.hpp"
#include "reference_backend.hpp"
#include "spin_team.hpp"
#include "weight_pool.hpp"

#include <oneapi/tbb/task_arena.h>

#include <optional>
#include <vector>

namespace rwkv::kernels::cpu {

class cpu_backend : public reference_backend {
 public:
  // huge_pages: large matrices used as stored are copied into 2 MiB pages (cpu_weight::make).
  cpu_backend(int threads, const kernel_table& kernels, kernels::precision precision, bool huge_pages);

  backend_info info() const override;

  std::unique_ptr<weight> prepare(const matrix& m, dtype prefer) override;
  void matmul(const weight& w, const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t T,
              activation act, bool accumulate) override;
  void matmul_many(std::span<const matmul_job> jobs, std::int64_t T) override;

  void layer_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T, std::int64_t C,
                  float eps) override;
  void group_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T, std::int64_t C,
                  std::int64_t G, float eps) override;
  void token_shift(const float* x, float* prev, float* dx, std::int64_t T, std::int64_t C) override;
  void mix(const float* x, const float* dx, const float* const* mixes, float* const* outs, int n, std::int64_t T,
           std::int64_t C) override;
  void mix_dynamic(const float* x, const float* dx, const float* mix, const float* dyn, std::int64_t ld_dyn,
                   float* out, std::int64_t T, std::int64_t C) override;
  void mul(const float* a, const float* b, float* y, std::int64_t n) override;
  void add_mul(const float* a, const float* b, float* y, std::int64_t n) override;
  void wkv4(std::int64_t T, std::int64_t C, const float* decay, const float* first, const float* k, const float* v,
            float* aa, float* bb, float* pp, float* y) override;
  void wkv5(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* k, const float* v,
            const float* w, bool w_per_token, const float* u, float* state, float* y) override;
  void rwkv6_decay(float* w, const float* time_decay, std::int64_t T, std::int64_t C) override;
  void rwkv7_prepare(const rwkv7_prepare_args& args) override;
  void wkv7(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* w, const float* k,
            const float* v, const float* a, const float* b, float* state, float* y) override;
  void rwkv7_finish(float* y, const float* r, const float* k, const float* v, const float* r_k, const float* g,
                    std::int64_t T, std::int64_t H, std::int64_t N) override;

 private:
  struct job_state {
    const cpu_weight* w;
    dot_path path;
    act_view a;
    out_view o;
  };
  struct task {
    std::uint32_t job;
    std::int64_t r0, r1;
  };

  dot_path path_for(const cpu_weight& w) const noexcept;
  // Rows per task: the gemm tile's for many tokens; for few, about 64 KiB of weights, a multiple of
  // 16 rows (of 64 for column panels).
  std::int64_t task_rows(const cpu_weight& w, dot_path path, bool gemm) const noexcept;
  // f(i, scratch) for i < n, in parallel when worth it (work = an estimate in bytes touched), with
  // the scratch of the thread running i.
  template <class F>
  void run(std::size_t n, std::size_t work, F&& f);
  // Per-head recurrences go parallel from this many tokens.
  std::int64_t wkv_parallel_min_tokens() const noexcept;
  void convert_activations(std::span<const matmul_job> jobs, std::int64_t T, bool gemm);
  // f(t0, t1) over token ranges of a T x C element-wise operation: in the arena for long chunks.
  template <class F>
  void over_tokens(std::int64_t T, std::int64_t C, F&& f);

  int threads_;
  const kernel_table& k_;
  kernels::precision precision_;
  bool huge_pages_;
  weight_pool pool_;
  tbb::task_arena arena_;
  std::optional<spin_team> team_;        // the arena's workers as a team (not when oversubscribed)
  std::vector<thread_scratch> scratch_;  // one per participant, plus one for the caller outside the arena
  std::vector<aligned_bytes> act_;       // converted activations, one buffer per job slot
  std::vector<job_state> jobs_;
  std::vector<task> tasks_;
};

}  // namespace rwkv::kernels::cpu
