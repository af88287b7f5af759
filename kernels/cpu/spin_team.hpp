// The CPU backend's parallel loops: the calling thread and the workers of the backend's
// tbb::task_arena, which, once brought in, stay for the next loop instead of returning to oneTBB.
//
// Generation is a chain of about five small parallel loops per layer (0.3-3 MB of weights each,
// 10-60 us) with serial steps between them. A oneTBB fork/join there costs 2-3 us before the
// worker's first row and about 2 us of tail, measured: on the 0.1B shape about 60 of them per
// token. Here a worker that has run a loop keeps spinning (with pause) on the next one for
// `linger` after its last task and then leaves. A loop is published with one atomic store per
// participant: each takes a contiguous run of the indices in order (one ascending stream of weights
// for the prefetchers), then takes what is left of the others' runs from their ends.
//
// Threads: one caller at a time (the backend's contract). The workers are oneTBB tasks of a
// task_group run in the arena; the destructor tells them to leave and waits for them (a worker
// task not started yet runs on the destructor's thread and leaves at once).
#pragma once

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace rwkv::kernels::cpu {

class spin_team {
 public:
  // `threads` participants: the caller (participant 0) and threads - 1 arena workers.
  spin_team(tbb::task_arena& arena, int threads, std::chrono::microseconds linger = std::chrono::milliseconds(2));
  ~spin_team();
  spin_team(const spin_team&) = delete;
  spin_team& operator=(const spin_team&) = delete;

  int threads() const noexcept { return threads_; }

  // f(i, participant) for every i < n, each once, participant < threads(); returns when all are
  // done. An exception thrown by f is rethrown here once every index has finished.
  template <class F>
  void run(std::size_t n, F&& f) {
    using fn = std::remove_reference_t<F>;
    run_erased(n, [](void* ctx, std::size_t i, int who) { (*static_cast<fn*>(ctx))(i, who); },
               const_cast<void*>(static_cast<const void*>(&f)));
  }

  struct shared;  // the loop's description and the participants' task runs

 private:
  void run_erased(std::size_t n, void (*call)(void*, std::size_t, int), void* ctx);
  void recruit();

  tbb::task_arena& arena_;
  const int threads_;
  std::unique_ptr<shared> s_;
  tbb::task_group workers_;
};

}  // namespace rwkv::kernels::cpu
