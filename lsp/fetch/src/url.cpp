#include "fetch/url.hpp"

#include "fetch/error.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace rwkv::fetch {

namespace {

// "scheme:" per RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool has_scheme(std::string_view s) {
  std::size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

// RFC 3986 5.2.4
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  bool trailing_slash = false;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(pos, slash - pos);
    bool last = slash == path.size();
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = last;
    } else if (seg == ".") {
      trailing_slash = last;
    } else if (!seg.empty() || last) {
      if (!seg.empty()) out.push_back(seg);
      trailing_slash = last && seg.empty() && pos > 0;
    }
    pos = slash + 1;
  }
  std::string result;
  for (auto seg : out) {
    result += '/';
    result += seg;
  }
  if (trailing_slash || result.empty()) result += '/';
  return result;
}

std::string strip_fragment(std::string_view s) {
  std::size_t hash = s.find('#');
  return std::string(hash == std::string_view::npos ? s : s.substr(0, hash));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string url::authority() const {
  std::string h;
  if (host.find(':') != std::string::npos) {
    h.append(1, '[').append(host).append(1, ']');
  } else {
    h = host;
  }
  if (!default_port()) h.append(1, ':').append(std::to_string(port));
  return h;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string url::host_port() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string url::to_string() const { return scheme + "://" + authority() + target; }

std::string percent_decode(std::string_view text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      decoded += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      decoded += text[i];
    }
  }
  return decoded;
}

url parse_url(std::string_view text) {
  auto bad = [&](const std::string& why) {
    std::string message(1, '\'');
    message.append(text).append("' is not a usable URL: ").append(why);
    return error(errc::bad_url, message);
  };
  for (char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) throw bad("it contains a space or a control character");
  std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) throw bad("expected http://… or https://…");
  url u;
  u.scheme = ascii_lower(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") throw bad("only http and https are supported");
  std::string rest = strip_fragment(text.substr(sep + 3));
  std::size_t path_start = rest.find_first_of("/?");
  std::string authority = rest.substr(0, path_start);
  std::string target = path_start == std::string::npos ? "/" : rest.substr(path_start);
  if (target[0] == '?') target = "/" + target;
  if (authority.find('@') != std::string::npos) throw bad("user names and passwords in URLs are not supported");
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string::npos) throw bad("unterminated [IPv6] address");
    u.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw bad("unexpected text after the [IPv6] address");
      port_text = after.substr(1);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) throw bad("no host name");
  u.host = ascii_lower(u.host);
  if (port_text.empty()) {
    u.port = u.tls() ? 443 : 80;
  } else {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || value == 0 || value > 65535)
      throw bad("bad port '" + port_text + "'");
    u.port = static_cast<std::uint16_t>(value);
  }
  u.target = std::move(target);
  return u;
}

url resolve_location(const url& base, std::string_view location) {
  std::string loc = strip_fragment(location);
  if (has_scheme(loc)) return parse_url(loc);
  if (loc.rfind("//", 0) == 0) return parse_url(base.scheme + ":" + loc);
  url out = base;
  std::string base_path = base.target.substr(0, base.target.find('?'));
  if (loc.empty()) return out;
  if (loc[0] == '?') {
    out.target = base_path + loc;
    return out;
  }
  std::size_t q = loc.find('?');
  std::string path = loc.substr(0, q);
  std::string query = q == std::string::npos ? "" : loc.substr(q);
  if (path.empty() || path[0] != '/') path = base_path.substr(0, base_path.rfind('/') + 1) + path;
  out.target = remove_dot_segments(path) + query;
  return out;
}

std::string file_name_from_url(const url& u) {
  std::string path = u.target.substr(0, u.target.find('?'));
  const std::string decoded = percent_decode(path.substr(path.rfind('/') + 1));
  if (decoded.empty() || decoded == "." || decoded == ".." || decoded.find('/') != std::string::npos ||
      decoded.find('\0') != std::string::npos)
    return "";
  return decoded;
}

}  // namespace rwkv::fetch
