// An in-memory transport: the test (or an embedder) plays the client by pushing raw bytes and
// reading back the message bodies the server sent.
//
// Input is delivered to the reader exactly in the chunks it was pushed, so tests control how
// messages are split or coalesced. With all input (and close_input()) pushed before run(), run()
// returns on the calling thread without any other thread involved: fully deterministic.
//
// Threads: every method may be called from any thread; run() blocks waiting for input.
#pragma once

#include "lsp/transport.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::lsp {

class memory_transport final : public transport {
 public:
  explicit memory_transport(framing_limits limits = {});

  // Client side.
  void push_bytes(std::string bytes);        // delivered as one read
  void push_message(std::string_view body);  // framed with Content-Length
  void close_input();                        // EOF once the pushed input is consumed

  // Bodies the server sent, in order.
  std::vector<std::string> sent() const;
  std::size_t sent_count() const;
  // Waits until at least `count` bodies were sent; false on timeout.
  bool wait_for_sent(std::size_t count, std::chrono::milliseconds timeout) const;
  // Called (on the sending thread) for every body sent, before it is recorded.
  void set_on_send(std::function<void(const std::string&)> on_send);

  transport_status run(transport_handler& handler) override;
  void send(std::string body) override;
  void stop() override;
  void flush() override {}

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<std::string> input_;
  bool input_closed_ = false;
  bool stop_requested_ = false;
  std::vector<std::string> sent_;
  std::function<void(const std::string&)> on_send_;
  message_reader reader_;
};

}  // namespace rwkv::lsp
