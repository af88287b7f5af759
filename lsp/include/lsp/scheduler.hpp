// The worker that runs all inference, so the language server's I/O never waits for it.
//
// Foreground jobs (edits, completion requests, settings) run one at a time in submission order.
// When none is queued, the worker calls the background function (pre-feeding documents) again and
// again while it reports more work; a foreground job that arrives sets the `preempt` flag it was
// given, so background work yields at its next token chunk.
//
// Threads: post/wake/stop may be called from any thread. Jobs and the background function run on
// the worker thread only, one at a time. In manual mode (tests) there is no thread: the test calls
// run_pending() and everything runs deterministically on its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace rwkv::lsp {

class scheduler {
 public:
  using job = std::function<void()>;
  // Returns true when it did some work and has more to do.
  using background_fn = std::function<bool(const std::atomic<bool>& preempt)>;

  enum class mode { threaded, manual };
  explicit scheduler(mode m = mode::threaded);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  void post(job j);
  void set_background(background_fn f);
  // Background work may exist again (e.g. a document was opened or edited).
  void wake();
  // Runs the jobs already queued (so every request gets its answer), then stops the worker.
  // Jobs posted afterwards run inline on the caller's thread.
  void stop();
  bool stopping() const noexcept { return stopping_.load(); }

  // Manual mode: runs queued jobs, then background work until there is none. Returns jobs run.
  int run_pending(bool with_background = true);
  bool on_worker() const noexcept;

 private:
  void loop();

  const mode mode_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<job> jobs_;
  background_fn background_;
  bool background_dirty_ = false;
  std::atomic<bool> preempt_{false};
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::thread worker_;
};

}  // namespace rwkv::lsp
