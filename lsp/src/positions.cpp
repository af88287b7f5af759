#include "lsp/positions.hpp"

#include <algorithm>

namespace rwkv::lsp {
namespace {

// Length of the UTF-8 sequence a lead byte announces; 1 for bytes that cannot lead one.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC0 && lead < 0xE0) return 2;
  if (lead >= 0xE0 && lead < 0xF0) return 3;
  if (lead >= 0xF0 && lead < 0xF8) return 4;
  return 1;
}

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Bytes of the character starting at `i`, never past the end of `text`.
std::size_t char_length(std::string_view text, std::size_t i) {
  std::size_t n = std::min(sequence_length(static_cast<unsigned char>(text[i])), text.size() - i);
  for (std::size_t k = 1; k < n; ++k)
    if (!is_continuation(static_cast<unsigned char>(text[i + k]))) return k;
  return n;
}

std::size_t units_of(std::size_t char_bytes, position_encoding encoding) {
  switch (encoding) {
    case position_encoding::utf8:
      return char_bytes;
    case position_encoding::utf16:
      return char_bytes == 4 ? 2 : 1;
    case position_encoding::utf32:
      return 1;
  }
  return 1;
}

// Whether offset p (0 < p <= text.size()) starts a line, looking at the bytes around it.
bool starts_line(std::string_view text, std::size_t p) {
  char before = text[p - 1];
  if (before == '\n') return true;
  return before == '\r' && (p == text.size() || text[p] != '\n');
}

void collect_starts(std::string_view text, std::size_t from, std::size_t to, std::vector<std::size_t>& out) {
  // Only bytes just before a start matter, so look for '\n' and '\r' rather than testing each p.
  for (std::size_t i = from == 0 ? 0 : from - 1; i < to && i < text.size(); ++i) {
    char c = text[i];
    if ((c == '\n' || c == '\r') && i + 1 >= from && i + 1 <= to && starts_line(text, i + 1)) out.push_back(i + 1);
  }
}

}  // namespace

std::string_view to_string(position_encoding encoding) {
  switch (encoding) {
    case position_encoding::utf8:
      return "utf-8";
    case position_encoding::utf16:
      return "utf-16";
    case position_encoding::utf32:
      return "utf-32";
  }
  return "utf-16";
}

std::optional<position_encoding> parse_position_encoding(std::string_view name) {
  if (name == "utf-8") return position_encoding::utf8;
  if (name == "utf-16") return position_encoding::utf16;
  if (name == "utf-32") return position_encoding::utf32;
  return std::nullopt;
}

std::size_t count_code_units(std::string_view text, position_encoding encoding) {
  if (encoding == position_encoding::utf8) return text.size();
  std::size_t units = 0;
  for (std::size_t i = 0; i < text.size();) {
    // ASCII fast path: most code is ASCII.
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++units;
      ++i;
      continue;
    }
    std::size_t n = char_length(text, i);
    units += units_of(n, encoding);
    i += n;
  }
  return units;
}

std::size_t code_units_to_bytes(std::string_view line, std::size_t units, position_encoding encoding) {
  if (encoding == position_encoding::utf8) return floor_to_char_boundary(line, std::min(units, line.size()));
  std::size_t i = 0;
  while (i < line.size()) {
    std::size_t n = char_length(line, i);
    std::size_t u = units_of(n, encoding);
    if (u > units) break;  // `units` ends inside this character (between surrogates)
    units -= u;
    i += n;
    if (units == 0) break;
  }
  return i;
}

std::size_t floor_to_char_boundary(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t limit = offset >= 3 ? offset - 3 : 0;  // a character is at most 4 bytes
  std::size_t p = offset;
  while (p > limit && p < text.size() && is_continuation(static_cast<unsigned char>(text[p]))) --p;
  if (p < text.size() && is_continuation(static_cast<unsigned char>(text[p]))) return offset;  // not UTF-8 here
  // p starts a sequence; offset is a boundary unless that sequence reaches past it.
  if (p < offset && p + char_length(text, p) > offset) return p;
  return offset;
}

line_index::line_index(std::string_view text) { collect_starts(text, 1, text.size(), starts_); }

std::size_t line_index::line_end(std::size_t line, std::string_view text) const {
  if (line + 1 >= starts_.size()) return text.size();
  std::size_t next = starts_[line + 1];
  if (text[next - 1] == '\n' && next >= 2 && next - 2 >= starts_[line] && text[next - 2] == '\r') return next - 2;
  return next - 1;
}

std::size_t line_index::line_of(std::size_t offset) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  return static_cast<std::size_t>(it - starts_.begin()) - 1;
}

void line_index::update(std::string_view text, std::size_t start, std::size_t old_end, std::size_t inserted) {
  // Starts in [start, old_end] depended on replaced bytes; later ones only move.
  auto first = std::lower_bound(starts_.begin() + 1, starts_.end(), std::max<std::size_t>(start, 1));
  auto last = std::upper_bound(first, starts_.end(), old_end);
  std::ptrdiff_t delta = static_cast<std::ptrdiff_t>(inserted) - static_cast<std::ptrdiff_t>(old_end - start);
  for (auto it = last; it != starts_.end(); ++it) *it = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(*it) + delta);

  std::vector<std::size_t> fresh;
  collect_starts(text, std::max<std::size_t>(start, 1), start + inserted, fresh);
  std::size_t removed = static_cast<std::size_t>(last - first);
  std::size_t at = static_cast<std::size_t>(first - starts_.begin());
  if (fresh.size() == removed) {
    std::copy(fresh.begin(), fresh.end(), starts_.begin() + static_cast<std::ptrdiff_t>(at));
  } else {
    starts_.erase(first, last);
    starts_.insert(starts_.begin() + static_cast<std::ptrdiff_t>(at), fresh.begin(), fresh.end());
  }
}

}  // namespace rwkv::lsp
