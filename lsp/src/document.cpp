#include "lsp/document.hpp"

#include <algorithm>
#include <utility>

namespace rwkv::lsp {

document::document(std::string language_id, std::string text, std::int64_t version)
    : language_id_(std::move(language_id)), text_(std::move(text)), version_(version), lines_(text_) {}

std::size_t document::offset_in_line(std::size_t line, std::uint32_t character, position_encoding encoding) const {
  std::size_t start = lines_.line_start(line);
  std::string_view content(text_.data() + start, lines_.line_end(line, text_) - start);
  return start + code_units_to_bytes(content, character, encoding);
}

std::optional<std::size_t> document::offset_of(const position& pos, position_encoding encoding) const {
  if (pos.line >= lines_.line_count()) return std::nullopt;
  return offset_in_line(pos.line, pos.character, encoding);
}

std::size_t document::clamped_offset_of(const position& pos, position_encoding encoding) const {
  if (pos.line >= lines_.line_count()) return text_.size();
  return offset_in_line(pos.line, pos.character, encoding);
}

position document::position_of(std::size_t offset, position_encoding encoding) const {
  offset = std::min(offset, text_.size());
  std::size_t line = lines_.line_of(offset);
  std::size_t start = lines_.line_start(line);
  std::size_t end = std::min(offset, lines_.line_end(line, text_));
  std::size_t units = count_code_units(std::string_view(text_.data() + start, end - start), encoding);
  return position{static_cast<std::uint32_t>(line), static_cast<std::uint32_t>(units)};
}

std::string_view document::line_before(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  std::size_t line = lines_.line_of(offset);
  std::size_t start = lines_.line_start(line);
  std::size_t end = std::min(offset, lines_.line_end(line, text_));
  return std::string_view(text_.data() + start, end - start);
}

std::string_view document::line_after(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  std::size_t line = lines_.line_of(offset);
  std::size_t end = lines_.line_end(line, text_);
  if (offset >= end) return {};
  return std::string_view(text_.data() + offset, end - offset);
}

document::applied_change document::apply(const text_document_content_change_event& change,
                                         position_encoding encoding) {
  applied_change result;
  if (!change.range) {
    result.edit = byte_edit{0, text_.size(), change.text};
    text_ = change.text;
    lines_ = line_index(text_);
    return result;
  }
  const range& r = *change.range;
  std::size_t line_count = lines_.line_count();
  result.clamped = r.start.line >= line_count || r.end.line >= line_count;
  std::size_t start = clamped_offset_of(r.start, encoding);
  std::size_t end = clamped_offset_of(r.end, encoding);
  if (end < start) {
    std::swap(start, end);
    result.clamped = true;
  }
  result.edit = byte_edit{start, end, change.text};
  text_.replace(start, end - start, change.text);
  lines_.update(text_, start, end, change.text.size());
  return result;
}

}  // namespace rwkv::lsp
