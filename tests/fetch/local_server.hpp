// A small HTTP/1.1 server on 127.0.0.1 (ephemeral port) for the download tests, plain or TLS,
// running on its own thread inside the test process.
//
// Each connection carries one request; a handler decides the reply. The server applies
// "Range: bytes=N-" to 200 replies by itself (206 or 416), unless the reply opts out, and can cut
// the connection after some body bytes or hang without answering, to imitate broken networks.
#pragma once

#include "fetch/test_certificate.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rwkv::test {

struct seen_request {
  std::string target;  // "/path?query"
  std::string range;   // the Range header, "" when absent
  std::string host;    // the Host header
};

struct server_reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool honour_range = true;                // turn a 200 into 206/416 when the request has a Range
  std::optional<std::size_t> cut_after;    // close after this many body bytes (headers announce all)
  bool hang = false;                       // answer nothing until the server stops
};

class local_server {
 public:
  using handler = std::function<server_reply(const seen_request&)>;

  // Serves HTTPS with `tls` when given, else plain HTTP. Listens before returning.
  explicit local_server(handler h, std::optional<test_certificate> tls = std::nullopt);
  ~local_server();
  local_server(const local_server&) = delete;
  local_server& operator=(const local_server&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:PORT/path" (https for a TLS server); `host` replaces 127.0.0.1.
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const;
  std::vector<seen_request> requests() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A port on 127.0.0.1 where nothing listens (bound, then released).
std::uint16_t unused_port();

}  // namespace rwkv::test
