#include "lsp/tcp_transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <system_error>

namespace rwkv::lsp {

namespace asio = boost::asio;
using asio::ip::tcp;

struct tcp_transport::impl {
  explicit impl(framing_limits limits) : reader(limits) {}

  void start_read();
  void start_write();
  void stop_on_loop();

  asio::io_context io;
  tcp::acceptor acceptor{io};
  tcp::socket socket{io};
  message_reader reader;
  std::array<char, 64 * 1024> buffer{};
  transport_handler* handler = nullptr;
  transport_status status = transport_status::closed;
  std::atomic<bool> stop_requested{false};
  // Touched only on the loop's thread.
  std::deque<std::string> queue;
  bool connected = false;
  bool writing = false;
  bool broken = false;
  bool reading = false;
  std::uint16_t port = 0;  // kept: the acceptor closes once the client is accepted
};

void tcp_transport::impl::start_read() {
  reading = true;
  socket.async_read_some(asio::buffer(buffer), [this](const boost::system::error_code& ec, std::size_t n) {
    reading = false;
    if (ec) {
      if (ec == asio::error::operation_aborted) {
        status = transport_status::stopped;
      } else if (ec == asio::error::eof || ec == asio::error::connection_reset) {
        status = reader.mid_message() ? transport_status::truncated : transport_status::closed;
      } else {
        status = transport_status::failed;
        handler->on_transport_error("read failed: " + ec.message());
      }
      return;  // no read pending: the loop ends once the writes are done
    }
    reader.feed(std::string_view(buffer.data(), n));
    if (!deliver_messages(reader, *handler) || stop_requested) {
      status = transport_status::stopped;
      return;
    }
    start_read();
  });
}

void tcp_transport::impl::start_write() {
  writing = true;
  asio::async_write(socket, asio::buffer(queue.front()), [this](const boost::system::error_code& ec, std::size_t) {
    writing = false;
    if (ec) {
      // The client is gone; the read side reports it, later sends are dropped.
      broken = true;
      queue.clear();
      return;
    }
    queue.pop_front();
    if (!queue.empty()) {
      start_write();
    } else if (stop_requested && reading) {
      socket.cancel();  // stop() waits for the queue to drain before ending the read
    }
  });
}

void tcp_transport::impl::stop_on_loop() {
  boost::system::error_code ignored;
  acceptor.close(ignored);  // a pending accept ends with operation_aborted
  if (reading && !writing) socket.cancel(ignored);
}

tcp_transport::tcp_transport(const std::string& host, std::uint16_t port, framing_limits limits)
    : impl_(std::make_unique<impl>(limits)) {
  std::string where = host + ":" + std::to_string(port);
  try {
    tcp::resolver resolver(impl_->io);
    auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service);
    tcp::endpoint endpoint = endpoints.begin()->endpoint();
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen(1);
    impl_->port = impl_->acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw std::system_error(e.code().value(), std::generic_category(), "cannot listen on " + where);
  }
}

tcp_transport::~tcp_transport() = default;

std::uint16_t tcp_transport::port() const { return impl_->port; }

transport_status tcp_transport::run(transport_handler& handler) {
  impl& self = *impl_;
  if (self.stop_requested) return transport_status::stopped;
  self.handler = &handler;
  self.acceptor.async_accept(self.socket, [&self](const boost::system::error_code& ec) {
    if (ec) {
      if (ec == asio::error::operation_aborted) {
        self.status = transport_status::stopped;
      } else {
        self.status = transport_status::failed;
        self.handler->on_transport_error("accept failed: " + ec.message());
      }
      return;
    }
    boost::system::error_code ignored;
    self.acceptor.close(ignored);  // one client only
    self.socket.set_option(tcp::no_delay(true), ignored);
    self.connected = true;
    if (self.stop_requested) {
      self.status = transport_status::stopped;
      return;
    }
    self.start_read();
    if (!self.queue.empty() && !self.writing) self.start_write();
  });
  self.io.run();
  self.io.restart();
  return self.status;
}

void tcp_transport::send(std::string body) {
  asio::post(impl_->io, [self = impl_.get(), frame = frame_message(body)]() mutable {
    if (self->broken) return;
    self->queue.push_back(std::move(frame));
    if (self->connected && !self->writing) self->start_write();
  });
}

void tcp_transport::stop() {
  impl_->stop_requested = true;
  asio::post(impl_->io, [self = impl_.get()] { self->stop_on_loop(); });
}

void tcp_transport::flush() {
  // After run() returned nothing runs the loop: run it until the posted writes are done.
  impl_->io.run();
  impl_->io.restart();
}

}  // namespace rwkv::lsp
