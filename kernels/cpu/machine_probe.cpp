// Machine limits for `rwkv-lsp bench` (see kernels/machine_probe.hpp). The loops live in the
// AVX-512 translation unit; without AVX-512 the read loop is plain C++ (the compiler vectorizes
// it at the baseline ISA, still far faster than memory) and the dot peaks report 0.
#include "kernels/machine_probe.hpp"

#include "cpu_features.hpp"
#include "cpu_weight.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace rwkv::kernels {

namespace cpu::avx512 {
float read_stream(const float* p, std::size_t n);
std::uint64_t dot_loop(dot_instruction d, std::int64_t iters, float* sink);
}  // namespace cpu::avx512

namespace {

using clock_type = std::chrono::steady_clock;

bool have_avx512() {
#if defined(RWKV_LSP_HAVE_AVX512)
  return cpu::detect_cpu_features().avx512;
#else
  return false;
#endif
}

float read_portable(const float* p, std::size_t n) {
  float a[16] = {};
  for (std::size_t i = 0; i < n; i += 16)
    for (int j = 0; j < 16; ++j) a[j] += p[i + j];
  float s = 0;
  for (float v : a) s += v;
  return s;
}

// Runs f(i) on `threads` threads at once (one item each) and returns the wall time in seconds.
template <class F>
double timed_parallel(tbb::task_arena& arena, int threads, F&& f) {
  const auto t0 = clock_type::now();
  arena.execute([&] {
    tbb::parallel_for(0, threads, [&](int i) { f(i); }, tbb::static_partitioner());
  });
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

}  // namespace

const char* dot_instruction_name(dot_instruction d) noexcept {
  switch (d) {
    case dot_instruction::fma_f32: return "vfmadd231ps";
    case dot_instruction::bf16_dot: return "vdpbf16ps";
    case dot_instruction::int8_dot: return "vpdpbusd";
  }
  return "?";
}

struct read_probe::impl {
  int threads = 1;
  std::size_t n = 0;  // floats, a multiple of 128 per thread
  // In 2 MiB pages like the weights (cpu_weight.hpp): the probe measures memory, not the TLB.
  cpu::aligned_bytes buffer;
  std::unique_ptr<tbb::task_arena> arena;
  mutable std::vector<float> sink;
};

read_probe::read_probe(int threads, std::size_t bytes) : p_(std::make_unique<impl>()) {
  p_->threads = std::max(1, threads);
  const auto t = static_cast<std::size_t>(p_->threads);
  const std::size_t n = bytes / sizeof(float) / (128 * t) * 128 * t;
  if (n == 0) return;
  try {
    p_->buffer.reserve(n * sizeof(float));  // zero-filled: every page faulted in before timing
  } catch (const std::bad_alloc&) {
    return;
  }
  p_->n = n;
  p_->arena = std::make_unique<tbb::task_arena>(p_->threads);
  p_->sink.resize(t);
}

read_probe::~read_probe() = default;

bool read_probe::ok() const noexcept { return p_->n > 0; }

double read_probe::measure(int reps) const {
  if (!ok()) return 0;
  const auto* p = reinterpret_cast<const float*>(p_->buffer.data());
  const std::size_t per = p_->n / static_cast<std::size_t>(p_->threads);
  const bool wide = have_avx512();
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    const double s = timed_parallel(*p_->arena, p_->threads, [&](int i) {
      const float* q = p + per * static_cast<std::size_t>(i);
      p_->sink[static_cast<std::size_t>(i)] += wide ? cpu::avx512::read_stream(q, per) : read_portable(q, per);
    });
    best = std::max(best, static_cast<double>(p_->n * sizeof(float)) / s / 1e9);
  }
  return best;
}

double measure_read_gb_s(int threads, std::size_t bytes, int reps) { return read_probe(threads, bytes).measure(reps); }

double measure_peak_gflop_s(dot_instruction d, int threads) {
  threads = std::max(1, threads);
  const auto& f = cpu::detect_cpu_features();
  if (!have_avx512() || (d == dot_instruction::bf16_dot && !f.avx512_bf16) ||
      (d == dot_instruction::int8_dot && !f.avx512_vnni))
    return 0;
  tbb::task_arena arena(threads);
  std::vector<float> sink(static_cast<std::size_t>(threads));
  std::vector<std::uint64_t> ops(static_cast<std::size_t>(threads));
  constexpr std::int64_t iters = 1'000'000;  // 24M instructions per thread: ~10 ms each
  double best = 0;
  for (int r = 0; r < 15; ++r) {  // the best of many: a shared machine only ever slows a run
    const double s = timed_parallel(arena, threads, [&](int i) {
      ops[static_cast<std::size_t>(i)] = cpu::avx512::dot_loop(d, iters, &sink[static_cast<std::size_t>(i)]);
    });
    std::uint64_t total = 0;
    for (auto o : ops) total += o;
    best = std::max(best, static_cast<double>(total) / s / 1e9);
  }
  return best;
}

}  // namespace rwkv::kernels
