// One HTTP/1.1 exchange over a fresh connection: plain TCP or TLS (Boost.Beast + OpenSSL),
// directly or through an HTTP proxy (fetch/proxy.hpp: a CONNECT tunnel for https).
//
// TLS verifies the server: the system's certificate store (or a PEM file given instead), SNI and
// host name (or IP address) verification against the certificate, TLS 1.2 or newer. Every network
// step has a deadline; errors are fetch::error with a message that says what to check.
//
// Blocking and single-threaded: a connection is used by one thread at a time (its own
// io_context runs inside each call). It sends "Connection: close"; one request per connection.
#pragma once

#include "fetch/url.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::fetch {

struct connection_options {
  std::string ca_file;  // PEM file of trusted certificates; "" = the system store
  std::chrono::milliseconds connect_timeout{30'000};  // name lookup, TCP connect, TLS handshake (each)
  std::chrono::milliseconds io_timeout{60'000};       // longest wait for the next bytes
  std::string user_agent = "rwkv-lsp";
  // The proxy: unset = from the environment (proxy_from_environment), "" = none, else a proxy URL
  // for every host.
  std::optional<std::string> proxy;
};

struct header_field {
  std::string name;
  std::string value;
};

struct response_head {
  int status = 0;
  std::string reason;
  std::vector<header_field> fields;
  std::optional<std::uint64_t> content_length;

  // Value of the first field with this name (case-insensitive), or "".
  std::string get(std::string_view name) const;
  bool has(std::string_view name) const;
};

class http_connection {
 public:
  // Resolves, connects and (https) completes the TLS handshake. Throws fetch::error.
  http_connection(const url& target, const connection_options& options);
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  // Sends GET for the URL's target with the extra fields and reads the response head.
  response_head get(const std::vector<header_field>& extra = {});
  // Reads the next body bytes into buf; returns 0 once the body is complete. Throws
  // errc::interrupted when the connection ends early, errc::timeout when no byte comes in time.
  std::size_t read_body(char* buf, std::size_t size);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rwkv::fetch
