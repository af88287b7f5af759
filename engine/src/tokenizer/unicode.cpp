// Character classes and Normalization Form C over the generated tables (unicode_tables.cpp).
#include "tokenizer/unicode.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace rwkv::engine::tokenizers {

namespace {

namespace ud = unicode_data;

bool in_ranges(const ud::code_range* r, std::size_t n, char32_t c) noexcept {
  const auto* end = r + n;
  const auto* it = std::upper_bound(r, end, c, [](char32_t v, const ud::code_range& x) { return v < x.first; });
  return it != r && c <= (it - 1)->last;
}

// Hangul syllable composition constants (Unicode chapter 3.12).
constexpr char32_t s_base = 0xAC00, l_base = 0x1100, v_base = 0x1161, t_base = 0x11A7;
constexpr char32_t l_count = 19, v_count = 21, t_count = 28, n_count = v_count * t_count, s_count = l_count * n_count;

constexpr char32_t invalid_marker = 0xFFFFFFFF;  // an invalid byte: a starter that composes with nothing

std::uint8_t combining_class(char32_t c) noexcept {
  if (c < 0x300 || c == invalid_marker) return 0;
  const auto* r = ud::combining_classes;
  const auto* end = r + ud::combining_classes_size;
  const auto* it = std::upper_bound(r, end, c, [](char32_t v, const ud::class_range& x) { return v < x.first; });
  return it != r && c <= (it - 1)->last ? (it - 1)->ccc : 0;
}

std::optional<char32_t> compose(char32_t a, char32_t b) noexcept {
  if (a >= l_base && a < l_base + l_count && b >= v_base && b < v_base + v_count)
    return s_base + ((a - l_base) * v_count + (b - v_base)) * t_count;
  if (a >= s_base && a < s_base + s_count && (a - s_base) % t_count == 0 && b > t_base && b < t_base + t_count)
    return a + (b - t_base);
  const ud::composition key{a, b, 0};
  const auto* end = ud::compositions + ud::compositions_size;
  const auto* it = std::lower_bound(ud::compositions, end, key, [](const ud::composition& x, const ud::composition& y) {
    return x.first != y.first ? x.first < y.first : x.second < y.second;
  });
  if (it != end && it->first == a && it->second == b) return it->composite;
  return std::nullopt;
}

void decompose(char32_t c, std::vector<char32_t>& out) {
  if (c >= s_base && c < s_base + s_count) {
    const char32_t s = c - s_base;
    out.push_back(l_base + s / n_count);
    out.push_back(v_base + (s % n_count) / t_count);
    if (s % t_count) out.push_back(t_base + s % t_count);
    return;
  }
  if (c >= 0xC0 && c != invalid_marker) {
    const auto* end = ud::decompositions + ud::decompositions_size;
    const auto* it = std::lower_bound(ud::decompositions, end, c,
                                      [](const ud::decomposition& x, char32_t v) { return x.cp < v; });
    if (it != end && it->cp == c) {
      out.insert(out.end(), ud::decomposition_chars + it->offset, ud::decomposition_chars + it->offset + it->length);
      return;
    }
  }
  out.push_back(c);
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace

bool is_letter(char32_t c) noexcept {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_ranges(ud::letters, ud::letters_size, c);
}

bool is_number(char32_t c) noexcept {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_ranges(ud::numbers, ud::numbers_size, c);
}

bool is_whitespace(char32_t c) noexcept {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: return true;
    default: return c >= 0x2000 && c <= 0x200A;
  }
}

decoded decode_utf8(std::string_view text, std::size_t at) noexcept {
  const auto b0 = static_cast<unsigned char>(text[at]);
  if (b0 < 0x80) return {b0, 1, true};
  const decoded bad{b0, 1, false};
  int n;
  char32_t cp, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 1, cp = b0 & 0x1F, min = 0x80;
  else if (b0 >= 0xE0 && b0 <= 0xEF) n = 2, cp = b0 & 0x0F, min = 0x800;
  else if (b0 >= 0xF0 && b0 <= 0xF4) n = 3, cp = b0 & 0x07, min = 0x10000;
  else return bad;
  if (at + static_cast<std::size_t>(n) >= text.size()) return bad;  // truncated
  for (int i = 1; i <= n; ++i) {
    const auto b = static_cast<unsigned char>(text[at + static_cast<std::size_t>(i)]);
    if ((b & 0xC0) != 0x80) return bad;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad;
  return {cp, static_cast<std::uint8_t>(n + 1), true};
}

std::string to_nfc(std::string_view utf8) {
  // Nothing below U+0300 decomposes, composes or reorders: most text returns here.
  bool simple = true;
  for (std::size_t i = 0; i < utf8.size() && simple;) {
    const auto d = decode_utf8(utf8, i);
    simple = d.cp < 0x300 || !d.valid;
    i += d.length;
  }
  if (simple) return std::string(utf8);

  // Decompose; invalid bytes become markers that remember their byte.
  std::vector<char32_t> chars;
  std::vector<std::uint8_t> raw;  // the byte of each invalid marker, in order
  chars.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size();) {
    const auto d = decode_utf8(utf8, i);
    if (d.valid) {
      decompose(d.cp, chars);
    } else {
      chars.push_back(invalid_marker);
      raw.push_back(static_cast<std::uint8_t>(d.cp));
    }
    i += d.length;
  }
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (std::size_t i = 0; i < chars.size();) {
    if (combining_class(chars[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < chars.size() && combining_class(chars[j]) != 0) ++j;
    std::stable_sort(chars.begin() + static_cast<std::ptrdiff_t>(i), chars.begin() + static_cast<std::ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // Canonical composition: a character joins the last starter unless a character between them
  // blocks it (class 0, or a class not below its own).
  std::vector<char32_t> out;
  out.reserve(chars.size());
  std::ptrdiff_t starter = -1;
  std::uint8_t last_class = 0;
  for (char32_t c : chars) {
    const std::uint8_t cc = combining_class(c);
    if (starter >= 0 && c != invalid_marker) {
      const bool adjacent = static_cast<std::size_t>(starter) + 1 == out.size();
      const bool blocked = !adjacent && (last_class == 0 || last_class >= cc);
      if (!blocked && out[static_cast<std::size_t>(starter)] != invalid_marker)
        if (auto composite = compose(out[static_cast<std::size_t>(starter)], c)) {
          out[static_cast<std::size_t>(starter)] = *composite;
          continue;
        }
    }
    if (cc == 0) starter = static_cast<std::ptrdiff_t>(out.size());
    out.push_back(c);
    last_class = cc;
  }
  std::string result;
  result.reserve(utf8.size());
  std::size_t next_raw = 0;
  for (char32_t c : out) {
    if (c == invalid_marker) result.push_back(static_cast<char>(raw[next_raw++]));
    else append_utf8(result, c);
  }
  return result;
}

}  // namespace rwkv::engine::tokenizers
