#include "fetch/loopback_listener.hpp"

namespace rwkv::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;

loopback_listener::loopback_listener(serve_fn serve) : serve_(std::move(serve)) {
  tcp::endpoint ep(net::ip::address_v4::loopback(), 0);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  thread_ = std::thread([this] {
    while (!stopping_) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) break;
      if (ec) continue;
      serve_(socket);
      socket.close(ec);
    }
  });
}

void loopback_listener::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  // Wake the blocking accept with a connection of our own.
  net::io_context ioc;
  tcp::socket poke(ioc);
  boost::system::error_code ec;
  poke.connect(tcp::endpoint(net::ip::address_v4::loopback(), port_), ec);
  thread_.join();
}

}  // namespace rwkv::test
