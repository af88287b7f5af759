#include "lsp/memory_transport.hpp"

#include <utility>

namespace rwkv::lsp {

memory_transport::memory_transport(framing_limits limits) : reader_(limits) {}

void memory_transport::push_bytes(std::string bytes) {
  {
    std::lock_guard lock(mutex_);
    input_.push_back(std::move(bytes));
  }
  changed_.notify_all();
}

void memory_transport::push_message(std::string_view body) { push_bytes(frame_message(body)); }

void memory_transport::close_input() {
  {
    std::lock_guard lock(mutex_);
    input_closed_ = true;
  }
  changed_.notify_all();
}

std::vector<std::string> memory_transport::sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

std::size_t memory_transport::sent_count() const {
  std::lock_guard lock(mutex_);
  return sent_.size();
}

bool memory_transport::wait_for_sent(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return sent_.size() >= count; });
}

void memory_transport::set_on_send(std::function<void(const std::string&)> on_send) {
  std::lock_guard lock(mutex_);
  on_send_ = std::move(on_send);
}

transport_status memory_transport::run(transport_handler& handler) {
  for (;;) {
    // The reader is only touched by the thread in run(); the lock guards the input queue.
    if (!deliver_messages(reader_, handler)) return transport_status::stopped;
    std::string chunk;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stop_requested_ || !input_.empty() || input_closed_; });
      if (stop_requested_) return transport_status::stopped;
      if (input_.empty()) return reader_.mid_message() ? transport_status::truncated : transport_status::closed;
      chunk = std::move(input_.front());
      input_.pop_front();
    }
    reader_.feed(chunk);
  }
}

void memory_transport::send(std::string body) {
  std::function<void(const std::string&)> on_send;
  {
    std::lock_guard lock(mutex_);
    on_send = on_send_;
  }
  if (on_send) on_send(body);
  {
    std::lock_guard lock(mutex_);
    sent_.push_back(std::move(body));
  }
  changed_.notify_all();
}

void memory_transport::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  changed_.notify_all();
}

}  // namespace rwkv::lsp
