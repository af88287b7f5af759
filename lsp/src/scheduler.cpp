#include "lsp/scheduler.hpp"

namespace rwkv::lsp {

scheduler::scheduler(mode m) : mode_(m) {
  if (mode_ == mode::threaded) worker_ = std::thread([this] { loop(); });
}

scheduler::~scheduler() { stop(); }

void scheduler::post(job j) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      jobs_.push_back(std::move(j));
      preempt_.store(true);
      cv_.notify_one();
      return;
    }
  }
  j();  // after stop: nothing else runs, so running inline keeps the one-at-a-time promise
}

void scheduler::set_background(background_fn f) {
  std::lock_guard lock(mutex_);
  background_ = std::move(f);
  background_dirty_ = true;
  cv_.notify_one();
}

void scheduler::wake() {
  std::lock_guard lock(mutex_);
  background_dirty_ = true;
  cv_.notify_one();
}

void scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopping_.store(true);
    preempt_.store(true);
    cv_.notify_one();
  }
  if (worker_.joinable()) worker_.join();
  std::deque<job> rest;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    rest.swap(jobs_);
  }
  for (auto& j : rest) j();
}

bool scheduler::on_worker() const noexcept {
  return mode_ == mode::manual || std::this_thread::get_id() == worker_.get_id();
}

void scheduler::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] { return !jobs_.empty() || stopping_.load() || (background_dirty_ && background_); });
    if (!jobs_.empty()) {
      job j = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      j();
      lock.lock();
      continue;
    }
    if (stopping_.load()) return;
    // Idle: background work until it is done or a job arrives.
    background_dirty_ = false;
    preempt_.store(false);
    auto bg = background_;
    lock.unlock();
    bool more = bg && bg(preempt_);
    lock.lock();
    if (more) background_dirty_ = true;
  }
}

int scheduler::run_pending(bool with_background) {
  int n = 0;
  for (;;) {
    job j;
    {
      std::lock_guard lock(mutex_);
      if (jobs_.empty()) break;
      j = std::move(jobs_.front());
      jobs_.pop_front();
    }
    j();
    ++n;
  }
  if (with_background) {
    preempt_.store(false);
    background_fn bg;
    {
      std::lock_guard lock(mutex_);
      bg = background_;
      background_dirty_ = false;
    }
    while (bg && bg(preempt_)) {
    }
  }
  return n;
}

}  // namespace rwkv::lsp
