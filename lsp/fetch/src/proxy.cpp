#include "fetch/proxy.hpp"

#include "fetch/error.hpp"

#include <boost/asio/ip/address.hpp>


namespace rwkv::fetch {

namespace {

std::string base64(std::string_view bytes) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k) v = v << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? digits[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"))) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

// no_proxy: comma- (or space-) separated entries; "*" covers every host; a port is ignored.
bool excluded(const std::string& host, std::string_view no_proxy) {
  std::size_t pos = 0;
  while (pos < no_proxy.size()) {
    std::size_t end = no_proxy.find_first_of(", ", pos);
    if (end == std::string_view::npos) end = no_proxy.size();
    std::string entry = ascii_lower(no_proxy.substr(pos, end - pos));
    pos = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.find(':') == entry.rfind(':') && entry.find(':') != std::string::npos && entry.front() != '[')
      entry.erase(entry.find(':'));  // "host:port": the port is not compared
    if (entry.front() == '[') entry = entry.substr(1, entry.find(']') - 1);
    if (entry.front() == '.') entry.erase(0, 1);
    if (host == entry || (host.size() > entry.size() && host.ends_with(entry) && host[host.size() - entry.size() - 1] == '.'))
      return true;
  }
  return false;
}

const char* first_set(const environment& env, std::initializer_list<const char*> names, const char** which) {
  for (const char* name : names) {
    const char* v = env(name);
    if (v && *v) {
      *which = name;
      return v;
    }
  }
  return nullptr;
}

}  // namespace

proxy parse_proxy(std::string_view text) {
  std::string_view rest = text;
  std::string scheme = "http";
  if (const std::size_t sep = rest.find("://"); sep != std::string_view::npos) {
    scheme = ascii_lower(rest.substr(0, sep));
    rest.remove_prefix(sep + 3);
  }
  // The credentials are cut off before anything can repeat the text in a message.
  std::string userinfo;
  const std::size_t slash = rest.find('/');
  if (const std::size_t at = rest.substr(0, slash).rfind('@'); at != std::string_view::npos) {
    userinfo = std::string(rest.substr(0, at));
    rest.remove_prefix(at + 1);
  }
  const std::string shown = scheme + "://" + std::string(rest);
  if (scheme != "http")
    throw error(errc::bad_url, "the proxy '" + shown + "' is not an http:// proxy; HTTPS and SOCKS proxies are not supported");
  std::string hostport(rest.substr(0, rest.find('/')));
  bool has_port;
  if (!hostport.empty() && hostport.front() == '[') {
    const std::size_t close = hostport.find(']');
    has_port = close != std::string::npos && close + 1 < hostport.size() && hostport[close + 1] == ':';
  } else {
    if (hostport.find(':') != hostport.rfind(':'))
      throw error(errc::bad_url, "the proxy '" + shown + "' is not usable: put an IPv6 address in brackets, http://[::1]:3128");
    has_port = hostport.find(':') != std::string::npos;
  }
  if (!has_port) hostport += ":1080";  // as curl
  proxy p;
  try {
    p.address = parse_url("http://" + hostport + "/");
  } catch (const error&) {
    throw error(errc::bad_url, "the proxy '" + shown + "' is not usable: expected http://[user:password@]host[:port]");
  }
  if (!userinfo.empty()) {
    const std::size_t colon = userinfo.find(':');
    const std::string user = percent_decode(userinfo.substr(0, colon));
    const std::string password = colon == std::string::npos ? "" : percent_decode(userinfo.substr(colon + 1));
    p.authorization = "Basic " + base64(user + ":" + password);
  }
  return p;
}

std::optional<proxy> proxy_from_environment(const url& target, const environment& env) {
  if (is_loopback(target.host)) return std::nullopt;
  const char* which = nullptr;
  const char* value = target.tls() ? first_set(env, {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}, &which)
                                   : first_set(env, {"http_proxy", "all_proxy", "ALL_PROXY"}, &which);
  if (!value) return std::nullopt;
  for (const char* name : {"no_proxy", "NO_PROXY"})
    if (const char* np = env(name); np && excluded(target.host, np)) return std::nullopt;
  try {
    return parse_proxy(value);
  } catch (const error& e) {
    throw error(errc::bad_url, std::string(e.what()) + " (from $" + which + ")");
  }
}

}  // namespace rwkv::fetch
