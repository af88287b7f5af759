// Beast over a private io_context: each step is started asynchronously (so tcp_stream's deadline
// applies) and the context is run until that step completes — a blocking call with a timeout.
#include "fetch/http_connection.hpp"

#include "fetch/error.hpp"
#include "fetch/proxy.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <limits>

namespace rwkv::fetch {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string seconds_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

bool is_ip_address(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// The connection ended before the message did: worth resuming.
bool is_cut_off(const error_code& ec) {
  return ec == net::error::eof || ec == http::error::partial_message || ec == http::error::end_of_stream ||
         ec == net::error::connection_reset || ec == net::error::connection_aborted || ec == net::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

}  // namespace

std::string response_head::get(std::string_view name) const {
  for (const auto& f : fields)
    if (iequals(f.name, name)) return f.value;
  return "";
}

bool response_head::has(std::string_view name) const {
  for (const auto& f : fields)
    if (iequals(f.name, name)) return true;
  return false;
}

struct http_connection::impl {
  url target;
  connection_options options;
  net::io_context ioc;
  std::optional<ssl::context> tls_context;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  error_code pending;  // an error that came with body bytes: reported on the next read

  std::optional<proxy> via;  // the proxy the connection goes through

  std::string where() const { return target.authority(); }
  // Where the TCP connection goes: the host, or the proxy.
  std::string first_hop() const { return via ? "the proxy " + via->where() : where(); }

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Starts one asynchronous step and runs the context until it completes.
  template <class Start>
  error_code run(Start&& start) {
    error_code result = net::error::would_block;
    std::forward<Start>(start)([&result](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  template <class F>
  error_code with_stream(F&& f) {
    if (secure) return f(*secure);
    return f(*plain);
  }

  tcp::resolver::results_type resolve(const url& to) {
    tcp::resolver resolver(ioc);
    net::steady_timer timer(ioc);
    tcp::resolver::results_type results;
    error_code ec = net::error::would_block;
    bool timed_out = false;
    timer.expires_after(options.connect_timeout);
    timer.async_wait([&](error_code e) {
      if (!e) {
        timed_out = true;
        resolver.cancel();
      }
    });
    resolver.async_resolve(to.host, std::to_string(to.port),
                           [&](error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             results = std::move(r);
                             timer.cancel();
                           });
    ioc.restart();
    ioc.run();
    const std::string what = via ? "the proxy's host name '" + to.host + "'" : "the host name '" + to.host + "'";
    if (timed_out)
      throw error(errc::timeout, "looking up " + what + " took longer than " + seconds_text(options.connect_timeout) +
                                     " (no network, or DNS is not answering)");
    if (ec)
      throw error(errc::dns, "cannot resolve " + what + " (" + ec.message() + "): check the network connection and " +
                                 (via ? "the proxy setting" : "the name in the URL"));
    return results;
  }

  void connect(const tcp::resolver::results_type& endpoints) {
    lowest().expires_after(options.connect_timeout);
    error_code ec = run([&](auto handler) { lowest().async_connect(endpoints, std::move(handler)); });
    if (!ec) return;
    if (ec == beast::error::timeout)
      throw error(errc::timeout, "connecting to " + first_hop() + " took longer than " + seconds_text(options.connect_timeout) +
                                     " (network down, or a firewall dropping the connection)");
    if (ec == net::error::connection_refused)
      throw error(errc::refused, "connection refused by " + first_hop() + " (nothing is listening on that port)");
    if (ec == net::error::network_unreachable || ec == net::error::host_unreachable)
      throw error(errc::connect, "cannot reach " + first_hop() + " (" + ec.message() + "): check the network connection");
    throw error(errc::connect, "cannot connect to " + first_hop() + ": " + ec.message());
  }

  // CONNECT host:port through the proxy; afterwards the connection is a byte pipe to the host.
  void tunnel() {
    http::request<http::empty_body> req{http::verb::connect, target.host_port(), 11};
    req.set(http::field::host, target.host_port());
    req.set(http::field::user_agent, options.user_agent);
    if (!via->authorization.empty()) req.set(http::field::proxy_authorization, via->authorization);
    auto& stream = lowest();
    stream.expires_after(options.connect_timeout);
    error_code ec = run([&](auto handler) { http::async_write(stream, req, std::move(handler)); });
    http::response_parser<http::empty_body> answer;
    answer.skip(true);  // a CONNECT answer has no body
    beast::flat_buffer scratch;
    if (!ec) {
      stream.expires_after(options.connect_timeout);
      ec = run([&](auto handler) { http::async_read_header(stream, scratch, answer, std::move(handler)); });
    }
    if (ec == beast::error::timeout)
      throw error(errc::timeout, first_hop() + " did not open a tunnel to " + target.host_port() + " within " +
                                     seconds_text(options.connect_timeout));
    if (ec)
      throw error(errc::proxy, first_hop() + " closed the connection instead of opening a tunnel to " + target.host_port() +
                                   " (" + ec.message() + "): is it an HTTP proxy?");
    const int status = static_cast<int>(answer.get().result_int());
    if (status / 100 == 2) return;
    std::string hint;
    if (status == 407)
      hint = via->authorization.empty() ? "; it wants credentials: http://user:password@host:port"
                                        : "; it did not accept the credentials given in the proxy URL";
    throw error(errc::proxy, first_hop() + " refused the tunnel to " + target.host_port() + ": " + std::to_string(status) +
                                 " " + std::string(answer.get().reason()) + hint,
                status);
  }

  void start_tls() {
    tls_context.emplace(ssl::context::tls_client);
    tls_context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    if (options.ca_file.empty())
      tls_context->set_default_verify_paths(ec);
    else
      tls_context->load_verify_file(options.ca_file, ec);
    if (ec)
      throw error(errc::tls, options.ca_file.empty()
                                 ? "cannot load the system's trusted certificates (" + ec.message() +
                                       "); install ca-certificates or pass --ca-file PEM"
                                 : "cannot load the certificates in '" + options.ca_file + "' (" + ec.message() +
                                       "); --ca-file expects a PEM file");
    tls_context->set_verify_mode(ssl::verify_peer);
    secure.emplace(ioc, *tls_context);
    SSL* s = secure->native_handle();
    if (is_ip_address(target.host)) {
      // No SNI for addresses (RFC 6066); the certificate must name the address (iPAddress SAN).
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), target.host.c_str());
    } else {
      SSL_set_tlsext_host_name(s, target.host.c_str());
      SSL_set1_host(s, target.host.c_str());
    }
  }

  void handshake() {
    lowest().expires_after(options.connect_timeout);
    error_code ec = run([&](auto handler) { secure->async_handshake(ssl::stream_base::client, std::move(handler)); });
    if (!ec) return;
    if (ec == beast::error::timeout)
      throw error(errc::timeout, "the TLS handshake with " + where() + " took longer than " + seconds_text(options.connect_timeout));
    long verify = SSL_get_verify_result(secure->native_handle());
    if (verify != X509_V_OK)
      throw error(errc::tls, "the TLS certificate of " + where() + " is not trusted: " +
                                 X509_verify_cert_error_string(verify) +
                                 (options.ca_file.empty() ? "; if the server uses a private certificate authority, pass "
                                                            "its certificate with --ca-file PEM"
                                                          : "; it is not signed by a certificate in '" + options.ca_file + "'"));
    throw error(errc::tls, "the TLS handshake with " + where() + " failed: " + ec.message() +
                               " (is it an HTTPS server? an http:// URL may be meant)");
  }

  [[noreturn]] void throw_read_error(const error_code& ec, const char* what) {
    if (ec == beast::error::timeout)
      throw error(errc::timeout, std::string("no data from ") + where() + " for " + seconds_text(options.io_timeout) + " " + what);
    if (is_cut_off(ec))
      throw error(errc::interrupted, std::string("the connection to ") + where() + " closed " + what);
    throw error(errc::protocol, std::string("reading from ") + where() + " failed " + what + ": " + ec.message());
  }
};

http_connection::http_connection(const url& target, const connection_options& options) : impl_(std::make_unique<impl>()) {
  impl_->target = target;
  impl_->options = options;
  if (!options.proxy)
    impl_->via = proxy_from_environment(target);
  else if (!options.proxy->empty())
    impl_->via = parse_proxy(*options.proxy);
  auto endpoints = impl_->resolve(impl_->via ? impl_->via->address : target);
  if (target.tls())
    impl_->start_tls();
  else
    impl_->plain.emplace(impl_->ioc);
  impl_->connect(endpoints);
  if (impl_->via && target.tls()) impl_->tunnel();
  if (target.tls()) impl_->handshake();
}

http_connection::~http_connection() {
  if (!impl_) return;
  error_code ec;
  impl_->lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  impl_->lowest().socket().close(ec);
}

response_head http_connection::get(const std::vector<header_field>& extra) {
  auto& m = *impl_;
  // Through a proxy without a tunnel (http): the absolute URL, and the proxy's credentials.
  const bool absolute = m.via && !m.target.tls();
  http::request<http::empty_body> req{http::verb::get, absolute ? m.target.to_string() : m.target.target, 11};
  req.set(http::field::host, m.target.authority());
  if (absolute && !m.via->authorization.empty()) req.set(http::field::proxy_authorization, m.via->authorization);
  req.set(http::field::user_agent, m.options.user_agent);
  req.set(http::field::accept, "*/*");
  req.set(http::field::accept_encoding, "identity");  // bytes as stored: hashes and ranges refer to them
  req.set(http::field::connection, "close");
  for (const auto& f : extra) req.set(f.name, f.value);

  m.lowest().expires_after(m.options.io_timeout);
  error_code ec = m.with_stream([&](auto& stream) {
    return m.run([&](auto handler) { http::async_write(stream, req, std::move(handler)); });
  });
  if (ec) m.throw_read_error(ec, "while sending the request");

  m.parser.emplace();
  m.parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  m.parser->header_limit(64 * 1024);  // CDN redirects carry long signed URLs and many fields
  m.lowest().expires_after(m.options.io_timeout);
  ec = m.with_stream([&](auto& stream) {
    return m.run([&](auto handler) { http::async_read_header(stream, m.buffer, *m.parser, std::move(handler)); });
  });
  if (ec) m.throw_read_error(ec, "before it answered");

  const auto& msg = m.parser->get();
  response_head head;
  head.status = static_cast<int>(msg.result_int());
  head.reason = std::string(msg.reason());
  for (const auto& f : msg) head.fields.push_back({std::string(f.name_string()), std::string(f.value())});
  if (auto n = m.parser->content_length()) head.content_length = *n;
  return head;
}

std::size_t http_connection::read_body(char* buf, std::size_t size) {
  auto& m = *impl_;
  if (m.pending) m.throw_read_error(m.pending, "in the middle of the transfer");
  if (!m.parser || m.parser->is_done()) return 0;
  auto& body = m.parser->get().body();
  body.data = buf;
  body.size = size;
  m.lowest().expires_after(m.options.io_timeout);
  error_code ec = m.with_stream([&](auto& stream) {
    return m.run([&](auto handler) { http::async_read(stream, m.buffer, *m.parser, std::move(handler)); });
  });
  if (ec == http::error::need_buffer) ec = {};
  std::size_t got = size - body.size;
  if (ec && got > 0) {
    m.pending = ec;  // hand over what arrived before the failure first
    return got;
  }
  if (ec) m.throw_read_error(ec, "in the middle of the transfer");
  return got;
}

}  // namespace rwkv::fetch
