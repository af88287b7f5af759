#include "lsp/completion_format.hpp"

#include <algorithm>

namespace rwkv::lsp {
namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// The range a candidate replaces: from the cursor over `replace_after` bytes of the line.
range replaced_range(const completion_candidate& candidate, const cursor_snapshot& at) {
  std::string_view after(at.line_after);
  std::size_t bytes = floor_to_char_boundary(after, std::min(candidate.replace_after, after.size()));
  position end = at.cursor;
  end.character += static_cast<std::uint32_t>(count_code_units(after.substr(0, bytes), at.encoding));
  return range{at.cursor, end};
}

}  // namespace

std::string_view trailing_word(std::string_view text) {
  std::size_t i = text.size();
  while (i > 0 && is_word_byte(static_cast<unsigned char>(text[i - 1]))) --i;
  return text.substr(i);
}

cursor_snapshot snapshot_cursor(const document& doc, std::size_t offset, position_encoding encoding) {
  cursor_snapshot at;
  at.cursor = doc.position_of(offset, encoding);
  at.encoding = encoding;
  std::string_view after = doc.line_after(offset);
  at.line_after = std::string(after.substr(0, floor_to_char_boundary(after, max_line_after)));
  const std::string_view word = trailing_word(doc.line_before(offset));
  if (word.size() <= max_word_before) at.word_before = std::string(word);  // else: a blob, not a word
  return at;
}

std::string completion_label(std::string_view suggestion, std::size_t max_chars) {
  std::string_view line;
  while (!suggestion.empty()) {
    std::size_t nl = suggestion.find_first_of("\r\n");
    line = trim(suggestion.substr(0, nl));
    if (!line.empty() || nl == std::string_view::npos) break;
    suggestion.remove_prefix(nl + 1);
  }
  // Count characters (code points), not bytes, and never cut one in half.
  std::size_t chars = 0, i = 0;
  while (i < line.size() && chars < max_chars) {
    ++i;
    while (i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) ++i;
    ++chars;
  }
  std::string label(line.substr(0, i));
  if (i < line.size()) label += "\xE2\x80\xA6";  // "…"
  return label;
}

inline_completion_list make_inline_completion_list(const completion_result& result, const cursor_snapshot& at) {
  inline_completion_list list;
  for (const auto& candidate : result.items) {
    if (candidate.text.empty()) continue;
    inline_completion_item item;
    item.insert_text = candidate.text;
    item.range = replaced_range(candidate, at);
    list.items.push_back(std::move(item));
  }
  return list;
}

completion_list make_completion_list(const completion_result& result, const cursor_snapshot& at) {
  completion_list list;
  list.is_incomplete = true;
  for (const auto& candidate : result.items) {
    if (candidate.text.empty()) continue;
    completion_item item;
    const std::string whole = at.word_before + candidate.text;
    item.label = completion_label(whole);
    if (item.label.empty()) item.label = "\xE2\x86\xB5";  // "↵": the suggestion is only line breaks
    item.kind = item_kind_text;
    item.detail = "rwkv-lsp";
    if (candidate.text.find('\n') != std::string::npos) item.documentation = candidate.text;
    item.filter_text = whole;
    item.sort_text.emplace(1, '0');  // (not = "0": GCC 12 warns falsely, -Wrestrict PR105329)
    item.preselect = true;
    range r = replaced_range(candidate, at);
    r.start.character -= static_cast<std::uint32_t>(count_code_units(at.word_before, at.encoding));
    item.text_edit = text_edit{r, whole};
    item.insert_text_format = plain_text_format;
    list.items.push_back(std::move(item));
    break;  // one item: the popup is a fallback for editors without inline completion
  }
  return list;
}

}  // namespace rwkv::lsp
