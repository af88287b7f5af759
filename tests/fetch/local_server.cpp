#include "fetch/local_server.hpp"

#include "fetch/loopback_listener.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>

namespace rwkv::test {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 404: return "Not Found";
    case 416: return "Range Not Satisfiable";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

struct local_server::impl {
  handler respond;
  std::optional<ssl::context> tls;
  std::atomic<bool> stopping{false};
  std::atomic<int> active_fd{-1};
  mutable std::mutex mutex;
  std::condition_variable stopped;
  std::vector<seen_request> seen;
  std::optional<loopback_listener> listener;  // last: stopped first

  void accept(tcp::socket& socket) {
    active_fd = socket.native_handle();
    error_code ec;
    try {
      if (tls) {
        ssl::stream<tcp::socket> stream(std::move(socket), *tls);
        stream.handshake(ssl::stream_base::server, ec);
        if (!ec) serve(stream);
        active_fd = -1;
        stream.next_layer().close(ec);  // no close_notify: a cut looks like a real network cut
      } else {
        serve(socket);
        active_fd = -1;
        socket.shutdown(tcp::socket::shutdown_send, ec);
      }
    } catch (const std::exception&) {
      active_fd = -1;
    }
  }

  template <class Stream>
  void serve(Stream& stream) {
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    error_code ec;
    http::read(stream, buffer, req, ec);
    if (ec) return;
    seen_request r{std::string(req.target()), std::string(req[http::field::range]), std::string(req[http::field::host])};
    {
      std::lock_guard<std::mutex> lock(mutex);
      seen.push_back(r);
    }
    server_reply reply = respond(r);
    if (reply.hang) {
      std::unique_lock<std::mutex> lock(mutex);
      stopped.wait_for(lock, std::chrono::seconds(30), [&] { return stopping.load(); });
      return;
    }
    int status = reply.status;
    std::string body = std::move(reply.body);
    auto headers = reply.headers;
    if (status == 200 && reply.honour_range && r.range.rfind("bytes=", 0) == 0 && r.range.back() == '-') {
      std::size_t from = 0;
      std::from_chars(r.range.data() + 6, r.range.data() + r.range.size() - 1, from);
      const std::string size = std::to_string(body.size());
      if (from >= body.size()) {
        status = 416;
        headers.emplace_back("Content-Range", "bytes */" + size);
        body.clear();
      } else {
        status = 206;
        headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(body.size() - 1) + "/" + size);
        body.erase(0, from);
      }
    }
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
    for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    std::size_t send = reply.cut_after ? std::min(*reply.cut_after, body.size()) : body.size();
    net::write(stream, net::buffer(head), ec);
    if (!ec && send > 0) net::write(stream, net::buffer(body.data(), send), ec);
  }
};

local_server::local_server(handler h, std::optional<test_certificate> tls) : impl_(std::make_unique<impl>()) {
  impl_->respond = std::move(h);
  if (tls) {
    impl_->tls.emplace(ssl::context::tls_server);
    impl_->tls->use_certificate_chain(net::buffer(tls->cert_pem));
    impl_->tls->use_private_key(net::buffer(tls->key_pem), ssl::context::pem);
  }
  impl_->listener.emplace([this](tcp::socket& socket) { impl_->accept(socket); });
}

local_server::~local_server() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->stopped.notify_all();
  if (int fd = impl_->active_fd.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);  // wakes a blocked read
  impl_->listener->stop();
}

std::uint16_t local_server::port() const { return impl_->listener->port(); }

std::string local_server::url(const std::string& path, const std::string& host) const {
  return std::string(impl_->tls ? "https" : "http") + "://" + host + ":" + std::to_string(port()) + path;
}

std::vector<seen_request> local_server::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->seen;
}

std::uint16_t unused_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  return a.local_endpoint().port();
}

}  // namespace rwkv::test
