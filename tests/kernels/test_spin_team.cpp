// The CPU backend's spin team (kernels/cpu/spin_team.hpp): every index of every loop runs exactly
// once, on a valid participant, whatever the loop size and however fast loops follow each other;
// exceptions come back to the caller; workers that linger outlive their team safely.
#include "spin_team.hpp"

#include <catch2/catch.hpp>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <vector>

using rwkv::kernels::cpu::spin_team;

namespace {

// Each index's hit count after one loop of n, and whether every participant id was valid.
std::vector<int> hits_of_one_loop(spin_team& team, std::size_t n, bool& ids_ok) {
  std::vector<std::atomic<int>> hits(n);
  std::atomic<bool> ok{true};
  team.run(n, [&](std::size_t i, int who) {
    if (who < 0 || who >= team.threads()) ok = false;
    hits[i].fetch_add(1, std::memory_order_relaxed);
  });
  ids_ok = ok;
  std::vector<int> out;
  for (auto& h : hits) out.push_back(h.load());
  return out;
}

}  // namespace

TEST_CASE("a spin team runs every index of a loop exactly once, whatever its size", "[kernels][team]") {
  for (int threads : {1, 2}) {
    tbb::task_arena arena(threads);
    spin_team team(arena, threads);
    // 65535 indices fit one claim word; larger loops are run in parts.
    for (std::size_t n : {0u, 1u, 2u, 3u, 7u, 64u, 1000u, 65535u, 65536u, 140001u}) {
      INFO("threads " << threads << ", n " << n);
      bool ids_ok = false;
      const auto hits = hits_of_one_loop(team, n, ids_ok);
      CHECK(ids_ok);
      std::size_t once = 0;
      for (int h : hits) once += h == 1;
      CHECK(once == n);
    }
  }
}

TEST_CASE("a spin team keeps loops apart when they follow each other closely", "[kernels][team]") {
  // A worker still taking the last index of one loop while the next is published must not run an
  // index of the new loop with the old one's function, nor twice.
  tbb::task_arena arena(2);
  spin_team team(arena, 2);
  std::vector<std::atomic<int>> hits(8);
  std::size_t wrong = 0;
  for (int loop = 0; loop < 20000; ++loop) {
    const std::size_t n = 2 + static_cast<std::size_t>(loop % 7);
    for (std::size_t i = 0; i < n; ++i) hits[i] = 0;
    std::atomic<int> stray{0};
    team.run(n, [&, loop](std::size_t i, int) {
      if (i >= n) stray++;
      else hits[i].fetch_add(1 + loop % 3, std::memory_order_relaxed);
    });
    for (std::size_t i = 0; i < n; ++i) wrong += hits[i].load() != 1 + loop % 3;
    wrong += static_cast<std::size_t>(stray.load());
  }
  CHECK(wrong == 0);
}

TEST_CASE("a spin team's worker takes part in the loops", "[kernels][team]") {
  if (tbb::info::default_concurrency() < 2) {
    WARN("skipped: one core only");
    return;
  }
  tbb::task_arena arena(2);
  spin_team team(arena, 2);
  // The worker joins once oneTBB has started it: within a few loops on an idle machine; keep
  // trying for a while on a busy one.
  std::atomic<bool> worker_ran{false};
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!worker_ran && std::chrono::steady_clock::now() < until) {
    team.run(64, [&](std::size_t, int who) {
      if (who == 1) worker_ran = true;
      const auto t0 = std::chrono::steady_clock::now();
      while (std::chrono::steady_clock::now() - t0 < std::chrono::microseconds(5)) {
      }
    });
  }
  CHECK(worker_ran);
}

TEST_CASE("a spin team returns an exception from a task after the whole loop ran", "[kernels][team]") {
  tbb::task_arena arena(2);
  spin_team team(arena, 2);
  std::vector<std::atomic<int>> hits(500);
  CHECK_THROWS_WITH(team.run(hits.size(),
                             [&](std::size_t i, int) {
                               hits[i]++;
                               if (i == 137) throw std::runtime_error("task 137 failed");
                             }),
                    "task 137 failed");
  std::size_t once = 0;
  for (auto& h : hits) once += h.load() == 1;
  CHECK(once == hits.size());
  // And the team is fine afterwards.
  bool ids_ok = false;
  const auto again = hits_of_one_loop(team, 300, ids_ok);
  CHECK(ids_ok);
  CHECK(std::count(again.begin(), again.end(), 1) == 300);
}

TEST_CASE("a spin team may be destroyed while its workers linger", "[kernels][team]") {
  // The workers hold what they use; destroying the team (and its arena) right after a loop, while
  // a worker still spins for the next one, must neither crash nor hang.
  for (int round = 0; round < 200; ++round) {
    auto arena = std::make_unique<tbb::task_arena>(2);
    auto team = std::make_unique<spin_team>(*arena, 2, std::chrono::milliseconds(50));
    std::atomic<int> sum{0};
    team->run(16, [&](std::size_t i, int) { sum += static_cast<int>(i); });
    CHECK(sum == 120);
    team.reset();
    arena.reset();
  }
}
