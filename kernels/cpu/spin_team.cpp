#include "spin_team.hpp"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define RWKV_SPIN_PAUSE() _mm_pause()
#else
#define RWKV_SPIN_PAUSE() ((void)0)
#endif

namespace rwkv::kernels::cpu {

namespace {

// Each participant owns a contiguous run of a loop's indices and takes them in order from the
// front, so that its reads of consecutive tasks stay one ascending stream for the hardware
// prefetchers (handing out indices alternately from one counter made generation 20% slower); one
// that is done takes the others' remaining indices from their backs. A run is one word: sequence
// number (32 bits) | front (16) | back (16). Claims are compare-exchanges of the whole word, so an
// index is only ever claimed for the loop it belongs to, whatever a slow worker read before.
constexpr std::uint64_t max_tasks = 0xffff;
constexpr std::uint64_t run_word(std::uint64_t seq, std::uint64_t front, std::uint64_t back) {
  return seq << 32 | front << 16 | back;
}
constexpr std::uint64_t front_of(std::uint64_t c) { return c >> 16 & 0xffff; }
constexpr std::uint64_t back_of(std::uint64_t c) { return c & 0xffff; }

using call_fn = void (*)(void*, std::size_t, int);

struct alignas(64) task_run {
  std::atomic<std::uint64_t> word{0};

  bool has_tasks() const noexcept {
    const std::uint64_t c = word.load(std::memory_order_acquire);
    return front_of(c) < back_of(c);
  }
  // The next index from the front (owner) or the back (others); false when none is left.
  bool take(bool from_front, std::uint64_t& index) noexcept {
    std::uint64_t c = word.load(std::memory_order_acquire);
    while (front_of(c) < back_of(c)) {
      const std::uint64_t next = from_front ? c + (std::uint64_t{1} << 16) : c - 1;
      if (word.compare_exchange_weak(c, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
        index = from_front ? front_of(c) : back_of(c) - 1;
        return true;
      }
    }
    return false;
  }
};

}  // namespace

struct spin_team::shared {
  shared(int threads, std::chrono::microseconds linger_for)
      : linger(linger_for), runs(static_cast<std::size_t>(threads)), present(static_cast<std::size_t>(threads)) {}

  // Runs the current loop's indices: participant `who`'s own, then any left in the others'.
  void take_tasks(int who) noexcept {
    const std::size_t P = runs.size();
    for (std::size_t k = 0; k < P; ++k) {
      task_run& r = runs[(static_cast<std::size_t>(who) + k) % P];
      for (std::uint64_t i; r.take(k == 0, i);) {
        // A successful claim precedes this loop's end, so the description read now is this loop's.
        const call_fn f = call.load(std::memory_order_relaxed);
        void* const x = ctx.load(std::memory_order_relaxed);
        try {
          f(x, base.load(std::memory_order_relaxed) + i, who);
        } catch (...) {
          if (!failed.exchange(true, std::memory_order_relaxed)) error = std::current_exception();
        }
        finished.fetch_add(1, std::memory_order_release);
      }
    }
  }

  // A worker: takes the tasks of every loop published until `linger` passes without one.
  void work(int who) noexcept {
    using clock = std::chrono::steady_clock;
    auto idle_since = clock::now();
    task_run& mine = runs[static_cast<std::size_t>(who)];
    for (unsigned spins = 0; !stop.load(std::memory_order_relaxed);) {
      if (mine.has_tasks()) {
        take_tasks(who);
        idle_since = clock::now();
        continue;
      }
      RWKV_SPIN_PAUSE();
      if (++spins % 64 == 0 && clock::now() - idle_since > linger) break;
    }
    present[static_cast<std::size_t>(who)].store(false, std::memory_order_release);
  }

  const std::chrono::microseconds linger;
  std::vector<task_run> runs;  // per participant
  std::atomic<call_fn> call{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<std::size_t> base{0};
  std::uint64_t seq = 0;  // the caller's
  alignas(64) std::atomic<std::size_t> finished{0};
  alignas(64) std::atomic<bool> stop{false};
  std::vector<std::atomic<bool>> present;  // per participant: a worker task is enqueued or running
  std::atomic<bool> failed{false};
  std::exception_ptr error;
};

spin_team::spin_team(tbb::task_arena& arena, int threads, std::chrono::microseconds linger)
    : arena_(arena), threads_(std::max(1, threads)), s_(std::make_unique<shared>(threads_, linger)) {}

spin_team::~spin_team() {
  s_->stop.store(true, std::memory_order_relaxed);
  arena_.execute([this] { workers_.wait(); });
}

void spin_team::recruit() {
  for (int who = 1; who < threads_; ++who) {
    auto& p = s_->present[static_cast<std::size_t>(who)];
    if (p.load(std::memory_order_acquire)) continue;
    p.store(true, std::memory_order_relaxed);
    arena_.execute([this, who] { workers_.run([s = s_.get(), who] { s->work(who); }); });
  }
}

void spin_team::run_erased(std::size_t n, call_fn call, void* ctx) {
  if (n == 0) return;
  if (threads_ == 1 || n == 1) {
    for (std::size_t i = 0; i < n; ++i) call(ctx, i, 0);
    return;
  }
  recruit();
  shared& s = *s_;
  for (std::size_t base = 0; base < n; base += max_tasks) {
    const std::uint64_t count = std::min<std::uint64_t>(max_tasks, n - base);
    s.call.store(call, std::memory_order_relaxed);
    s.ctx.store(ctx, std::memory_order_relaxed);
    s.base.store(base, std::memory_order_relaxed);
    s.finished.store(0, std::memory_order_relaxed);
    const std::uint64_t seq = ++s.seq & 0xffffffff, P = static_cast<std::uint64_t>(threads_);
    for (std::uint64_t p = P; p-- > 0;)  // the caller's own run last: the workers start first
      s.runs[p].word.store(run_word(seq, count * p / P, count * (p + 1) / P), std::memory_order_release);
    s.take_tasks(0);
    while (s.finished.load(std::memory_order_acquire) < count) RWKV_SPIN_PAUSE();
  }
  if (s.failed.load(std::memory_order_relaxed)) {
    s.failed.store(false, std::memory_order_relaxed);
    std::rethrow_exception(std::exchange(s.error, nullptr));
  }
}

}  // namespace rwkv::kernels::cpu
