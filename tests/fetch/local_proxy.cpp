#include "fetch/local_proxy.hpp"

#include "fetch/loopback_listener.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <sstream>

namespace rwkv::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

struct local_proxy::impl {
  std::string required;
  std::atomic<bool> stopping{false};
  std::atomic<int> client_fd{-1}, upstream_fd{-1};
  mutable std::mutex mutex;
  std::vector<proxy_request> seen;
  std::optional<loopback_listener> listener;  // last: stopped first

  void accept(tcp::socket& client) {
    client_fd = client.native_handle();
    handle(client);
    client_fd = -1;
    error_code ec;
    client.shutdown(tcp::socket::shutdown_both, ec);
  }

  static void reply(tcp::socket& s, const std::string& status) {
    error_code ec;
    net::write(s, net::buffer("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), ec);
  }

  void handle(tcp::socket& client) {
    net::streambuf in;
    error_code ec;
    const std::size_t head_size = net::read_until(client, in, "\r\n\r\n", ec);
    if (ec) return;
    std::string head(net::buffers_begin(in.data()), net::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(head_size));
    in.consume(head_size);
    std::istringstream lines(head);
    std::string request_line, line, forwarded;
    std::getline(lines, request_line);
    proxy_request r;
    std::istringstream first(request_line);
    std::string version;
    first >> r.method >> r.target >> version;
    while (std::getline(lines, line) && line != "\r") {
      const std::string name = line.substr(0, line.find(':'));
      std::string lower_name;
      for (char c : name) lower_name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower_name == "proxy-authorization") {
        r.authorization = line.substr(line.find(':') + 1);
        r.authorization.erase(0, r.authorization.find_first_not_of(' '));
        if (!r.authorization.empty() && r.authorization.back() == '\r') r.authorization.pop_back();
      } else if (lower_name != "proxy-connection") {
        forwarded += line + "\n";
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      seen.push_back(r);
    }
    if (!required.empty() && r.authorization != required) {
      error_code ignored;
      net::write(client, net::buffer(std::string("HTTP/1.1 407 Proxy Authentication Required\r\n"
                                                 "Proxy-Authenticate: Basic realm=\"test\"\r\n"
                                                 "Content-Length: 0\r\nConnection: close\r\n\r\n")),
                 ignored);
      return;
    }
    // The upstream host and port: "host:port" (CONNECT) or from "http://host:port/path".
    std::string authority = r.target, path;
    const bool tunnel = r.method == "CONNECT";
    if (!tunnel) {
      if (authority.rfind("http://", 0) != 0) return reply(client, "400 Bad Request");
      authority = authority.substr(7);
      path = authority.substr(std::min(authority.find('/'), authority.size()));
      authority = authority.substr(0, authority.find('/'));
      if (path.empty()) path = "/";
    }
    const std::size_t colon = authority.rfind(':');
    if (colon == std::string::npos) return reply(client, "400 Bad Request");
    tcp::socket upstream(listener->context());
    tcp::resolver resolver(listener->context());
    auto endpoints = resolver.resolve(authority.substr(0, colon), authority.substr(colon + 1), ec);
    if (!ec) net::connect(upstream, endpoints, ec);
    if (ec) return reply(client, "502 Bad Gateway");
    upstream_fd = upstream.native_handle();
    if (tunnel) {
      net::write(client, net::buffer(std::string("HTTP/1.1 200 Connection established\r\n\r\n")), ec);
    } else {
      net::write(upstream, net::buffer(r.method + " " + path + " " + version + "\r\n" + forwarded + "\r\n"), ec);
    }
    if (!ec && in.size() > 0) net::write(upstream, in.data(), ec);
    if (!ec) relay(client.native_handle(), upstream.native_handle());
    upstream_fd = -1;
    upstream.close(ec);
  }

  // Copies bytes both ways until both directions have ended.
  void relay(int a, int b) {
    bool open[2] = {true, true};  // a -> b, b -> a
    char buf[16384];
    while ((open[0] || open[1]) && !stopping) {
      pollfd fds[2] = {{a, static_cast<short>(open[0] ? POLLIN : 0), 0}, {b, static_cast<short>(open[1] ? POLLIN : 0), 0}};
      if (::poll(fds, 2, 30000) <= 0) return;
      for (int i = 0; i < 2; ++i) {
        if (!open[i] || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const int from = i == 0 ? a : b, to = i == 0 ? b : a;
        const ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0) {
          open[i] = false;
          ::shutdown(to, SHUT_WR);
          continue;
        }
        for (ssize_t done = 0; done < n;) {
          const ssize_t w = ::write(to, buf + done, static_cast<std::size_t>(n - done));
          if (w <= 0) return;
          done += w;
        }
      }
    }
  }
};

local_proxy::local_proxy(std::string required_authorization) : impl_(std::make_unique<impl>()) {
  impl_->required = std::move(required_authorization);
  impl_->listener.emplace([this](tcp::socket& client) { impl_->accept(client); });
}

local_proxy::~local_proxy() {
  impl_->stopping = true;
  for (int fd : {impl_->client_fd.load(), impl_->upstream_fd.load()})
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);  // wakes a blocked relay
  impl_->listener->stop();
}

std::uint16_t local_proxy::port() const { return impl_->listener->port(); }

std::string local_proxy::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

std::vector<proxy_request> local_proxy::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->seen;
}

}  // namespace rwkv::test
