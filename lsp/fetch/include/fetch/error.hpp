// The one exception type of the download library, with a code a caller can act on (retry,
// report, clean up) and a message written for the user: what failed, where, and what to do.
#pragma once

#include <stdexcept>
#include <string>

namespace rwkv::fetch {

enum class errc {
  bad_url,             // the URL cannot be parsed or uses a scheme other than http/https
  dns,                 // the host name could not be resolved (no network, DNS failure, typo)
  connect,             // no TCP connection (network unreachable, host down)
  refused,             // the host answered the connection attempt with a refusal
  timeout,             // connecting, or waiting for the next bytes, took longer than allowed
  tls,                 // TLS handshake or certificate verification failed
  proxy,               // the proxy refused or failed to open a tunnel to the host
  http_status,         // the server answered with an error status (404, 403, 500, ...)
  too_many_redirects,  // the redirect limit was reached
  protocol,            // the server's answer made no sense (bad Content-Range, missing Location)
  interrupted,         // the connection closed before the whole body arrived
  checksum,            // the SHA-256 of the download differs from the expected one
  disk,                // no space left on the device
  io,                  // another local file error
  busy,                // another process is downloading the same file
  cancelled,           // the caller's cancel flag was set
};

const char* errc_name(errc code) noexcept;

class error : public std::runtime_error {
 public:
  error(errc code, const std::string& message, int http_status = 0)
      : std::runtime_error(message), code_(code), http_status_(http_status) {}
  errc code() const noexcept { return code_; }
  // The HTTP status for errc::http_status (and the proxy's for errc::proxy), else 0.
  int http_status() const noexcept { return http_status_; }
  // Worth another attempt in the same run: the transfer broke off, timed out or the server was
  // briefly unavailable (5xx, 429).
  bool retryable() const noexcept;

 private:
  errc code_;
  int http_status_;
};

}  // namespace rwkv::fetch
