// A small HTTP proxy on 127.0.0.1 (ephemeral port) for the download tests, on its own thread:
// CONNECT opens a tunnel to the named host and port; a request in absolute form ("GET
// http://host:port/path") is passed on in origin form. One connection at a time, as the
// downloader makes them. It can demand "Proxy-Authorization" (407 otherwise).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rwkv::test {

struct proxy_request {
  std::string method;         // "CONNECT", "GET"
  std::string target;         // "127.0.0.1:4430", "http://127.0.0.1:8080/a.bin"
  std::string authorization;  // the Proxy-Authorization header, "" when absent
};

class local_proxy {
 public:
  // `required_authorization`: the Proxy-Authorization value to insist on; "" = none.
  explicit local_proxy(std::string required_authorization = "");
  ~local_proxy();
  local_proxy(const local_proxy&) = delete;
  local_proxy& operator=(const local_proxy&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"
  std::vector<proxy_request> requests() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rwkv::test
