// http(s) URLs: parsing, resolving a redirect's Location against the URL it came from, and the
// file name a URL names. Only what downloading needs: no user-info, no IDNA, no percent-encoding
// normalisation of paths (the target goes to the server as written).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rwkv::fetch {

struct url {
  std::string scheme;      // "http" or "https" (lowercase)
  std::string host;        // name or address; IPv6 without brackets
  std::uint16_t port = 0;  // explicit or the scheme's default
  std::string target;      // path and query, always starting with '/'; no fragment

  bool tls() const noexcept { return scheme == "https"; }
  bool default_port() const noexcept { return port == (tls() ? 443 : 80); }
  // "host" or "host:port" (brackets around IPv6), as sent in the Host header.
  std::string authority() const;
  // "host:port" with the port always given (brackets around IPv6): a CONNECT request's target.
  std::string host_port() const;
  std::string to_string() const;
};

// Throws fetch::error(errc::bad_url) naming the problem.
url parse_url(std::string_view text);

// RFC 3986 reference resolution for a Location header: absolute URLs, "//host/path",
// "/path", "relative/path", "../x" and "?query" forms.
url resolve_location(const url& base, std::string_view location);

// ASCII letters lowered (scheme and host names compare without case).
std::string ascii_lower(std::string_view s);

// %XX escapes decoded; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text);

// The last path segment, percent-decoded ("" when the path ends in '/' or the name would be
// unsafe as a file name: ".", "..", a '/' or a NUL after decoding).
std::string file_name_from_url(const url& u);

}  // namespace rwkv::fetch
