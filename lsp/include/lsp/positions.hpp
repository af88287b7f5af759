// LSP positions <-> byte offsets in UTF-8 text.
//
// A position is (line, character) where `character` counts code units of the negotiated
// encoding: UTF-16 by default (a character outside the BMP, such as an emoji, is a surrogate
// pair and counts 2), UTF-8 (bytes) or UTF-32 (code points). Lines end at "\n", "\r\n" or a lone
// "\r", as LSP says; the break itself belongs to no line's content.
//
// line_index keeps the byte offset of every line start and is updated in place after an edit:
// only the starts around the edit are recomputed and the later ones shifted, so an edit costs
// O(lines after it) integer additions, never a rescan of the text.
//
// Rules for positions that do not fit the text (the callers decide what to do with a line past
// the end): a character past the end of its line means the end of the line (LSP); a character
// inside a UTF-8 sequence or between the halves of a surrogate pair means the start of that
// character. Invalid UTF-8 (never produced by the JSON layer, which rejects it) counts one unit
// per byte, so scanning always advances.
//
// Threads: plain data; const methods may be called concurrently.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace rwkv::lsp {

enum class position_encoding { utf8, utf16, utf32 };

std::string_view to_string(position_encoding encoding);  // "utf-8", "utf-16", "utf-32"
std::optional<position_encoding> parse_position_encoding(std::string_view name);

// Code units that `text` (no line breaks needed) occupies in `encoding`.
std::size_t count_code_units(std::string_view text, position_encoding encoding);
// Bytes of the longest prefix of `line` that is at most `units` code units long and does not
// split a character; line.size() when `units` reaches past the end.
std::size_t code_units_to_bytes(std::string_view line, std::size_t units, position_encoding encoding);
// The largest offset <= `offset` that starts a UTF-8 character of `text` (or is text.size()).
std::size_t floor_to_char_boundary(std::string_view text, std::size_t offset);

class line_index {
 public:
  line_index() = default;  // the index of the empty text: one empty line
  explicit line_index(std::string_view text);

  std::size_t line_count() const { return starts_.size(); }
  std::size_t line_start(std::size_t line) const { return starts_[line]; }
  // Where the content of `line` ends in `text`, before its line break.
  std::size_t line_end(std::size_t line, std::string_view text) const;
  // The line holding byte `offset` (offsets past the end give the last line).
  std::size_t line_of(std::size_t offset) const;

  // Call after bytes [start, old_end) of the previous text were replaced by `inserted` bytes;
  // `text` is the text after the edit.
  void update(std::string_view text, std::size_t start, std::size_t old_end, std::size_t inserted);

  bool operator==(const line_index& other) const { return starts_ == other.starts_; }

 private:
  std::vector<std::size_t> starts_{0};  // starts_[0] == 0, strictly increasing
};

}  // namespace rwkv::lsp
