#include "fetch/checksum.hpp"

#include <cctype>

namespace rwkv::fetch {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // standard and URL-safe alphabets
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : s) {
    int v = base64_value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::optional<std::string> hex64(std::string_view s) {
  if (s.size() != 64) return std::nullopt;
  std::string out;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

std::optional<std::string> sha256_from_digest_field(std::string_view value) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || !iequals(trim(item.substr(0, eq)), "sha-256")) continue;
    std::string_view encoded = trim(item.substr(eq + 1));
    if (encoded.size() >= 2 && encoded.front() == ':' && encoded.back() == ':')  // RFC 9530 byte sequence
      encoded = encoded.substr(1, encoded.size() - 2);
    auto raw = base64_decode(encoded);
    if (raw && raw->size() == 32) return to_hex(*raw);
  }
  return std::nullopt;
}

std::optional<std::string> sha256_from_etag_field(std::string_view value) {
  value = trim(value);
  if (value.rfind("W/", 0) == 0) return std::nullopt;  // weak: equivalent content, not these bytes
  return hex64(unquote(value));
}

void checksum_collector::add(const response_head& head) {
  auto offer = [&](int rank, std::optional<std::string> sha, const char* source) {
    if (sha && rank > rank_) {
      rank_ = rank;
      best_ = {std::move(*sha), source};
    }
  };
  for (const auto& f : head.fields) {
    if (iequals(f.name, "Digest") || iequals(f.name, "Repr-Digest"))
      offer(3, sha256_from_digest_field(f.value), "digest");
    else if (iequals(f.name, "X-Checksum-Sha256"))
      offer(3, hex64(unquote(f.value)), "x-checksum-sha256");
    else if (iequals(f.name, "X-Linked-Etag"))
      offer(2, sha256_from_etag_field(f.value), "x-linked-etag");
  }
  if (head.has("X-Repo-Commit")) offer(1, sha256_from_etag_field(head.get("ETag")), "etag");
}

}  // namespace rwkv::fetch
