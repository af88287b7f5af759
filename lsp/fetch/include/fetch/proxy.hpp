// HTTP proxies for downloads, as curl and wget take them from the environment.
//
// A proxy is an HTTP/1.1 server, "http://[user[:password]@]host[:port]" (the scheme may be left
// out; port 1080 when none is given, as curl does). https targets go through a CONNECT tunnel, so
// TLS still runs end to end with the target and verifies its certificate; http targets are asked
// of the proxy in absolute form. Credentials in the URL (percent-encoded) are sent as
// "Proxy-Authorization: Basic". HTTPS and SOCKS proxies are not supported.
#pragma once

#include "fetch/url.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace rwkv::fetch {

struct proxy {
  url address;                // http://host:port/
  std::string authorization;  // "Basic <base64(user:password)>", or "" without credentials

  // "host:port", never the credentials: for messages.
  std::string where() const { return address.host_port(); }
};

// Throws fetch::error(errc::bad_url) naming the problem; the message never repeats a password.
proxy parse_proxy(std::string_view text);

using environment = std::function<const char*(const char*)>;

// The proxy for `target` from the environment: https_proxy (or HTTPS_PROXY) for https targets,
// http_proxy for http ones (lowercase only, as curl: a CGI environment sets HTTP_PROXY from a
// request header), else all_proxy / ALL_PROXY. None when no_proxy / NO_PROXY covers the host —
// "*", the host itself, or a domain it is in ("example.com" and ".example.com" both cover
// "dl.example.com") — and never for loopback hosts (localhost, 127.0.0.0/8, ::1).
// Throws errc::bad_url, naming the variable, when the chosen value is not a usable proxy.
std::optional<proxy> proxy_from_environment(const url& target, const environment& env = std::getenv);

}  // namespace rwkv::fetch
