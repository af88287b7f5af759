// The accept loop the test servers share: a listening socket on 127.0.0.1 (ephemeral port) and a
// thread that hands each connection to `serve`, one at a time, until stop().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

namespace rwkv::test {

class loopback_listener {
 public:
  using serve_fn = std::function<void(boost::asio::ip::tcp::socket&)>;

  // Listens before returning, then accepts on its own thread. `serve` owns the socket's use; the
  // listener closes it afterwards.
  explicit loopback_listener(serve_fn serve);
  ~loopback_listener() { stop(); }
  loopback_listener(const loopback_listener&) = delete;
  loopback_listener& operator=(const loopback_listener&) = delete;

  // Ends the accept loop and joins the thread. A `serve` blocked on its socket must be woken by
  // the owner first (shutdown of its descriptor).
  void stop();
  bool stopping() const noexcept { return stopping_; }
  std::uint16_t port() const noexcept { return port_; }
  boost::asio::io_context& context() noexcept { return ioc_; }

 private:
  serve_fn serve_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace rwkv::test
