// One open text document as the client sees it: its UTF-8 text, version and line index, and the
// translation of LSP changes into the byte edits the completion service consumes.
//
// Positions in requests and in didChange are treated differently on purpose:
// - offset_of() (requests): a line past the end of the document is an error the caller reports
//   as -32602; a character past the end of its line clamps to the line end (LSP).
// - apply() (didChange, a notification that cannot be answered): positions past the end clamp
//   to the end of the document and the caller logs it, and a range whose end is before its start
//   is reordered. Rejecting the change would leave the server on a text that differs from the
//   client's for the rest of the session; clamping, as vscode-languageserver's TextDocument does,
//   keeps both in step for well-behaved clients and degrades gracefully otherwise.
//
// Cost: an incremental change costs a copy of the text after the edit (std::string::replace)
// plus O(lines after it) for the index; typing at the end of a 1 MB file is a few microseconds
// (tests/lsp/test_document.cpp measures it).
//
// Threads: used by the protocol thread only.
#pragma once

#include "lsp/completion_service.hpp"
#include "lsp/positions.hpp"
#include "lsp/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rwkv::lsp {

class document {
 public:
  document(std::string language_id, std::string text, std::int64_t version);

  const std::string& text() const { return text_; }
  const std::string& language_id() const { return language_id_; }
  std::int64_t version() const { return version_; }
  void set_version(std::int64_t version) { version_ = version; }
  std::size_t line_count() const { return lines_.line_count(); }

  // Byte offset of `pos`, or nullopt when its line is past the end of the document.
  std::optional<std::size_t> offset_of(const position& pos, position_encoding encoding) const;
  // Byte offset of `pos`, clamped to the end of the document.
  std::size_t clamped_offset_of(const position& pos, position_encoding encoding) const;
  // The position of byte `offset` (an offset inside a line break maps to the end of that line).
  position position_of(std::size_t offset, position_encoding encoding) const;

  // The content of the line holding `offset`, before and after it (line breaks excluded).
  std::string_view line_before(std::size_t offset) const;
  std::string_view line_after(std::size_t offset) const;

  struct applied_change {
    byte_edit edit;        // relative to the text before this change
    bool clamped = false;  // a position was outside the text or the range was reversed
  };
  // Applies one content change (incremental or full) and returns it as a byte edit.
  applied_change apply(const text_document_content_change_event& change, position_encoding encoding);

 private:
  std::size_t offset_in_line(std::size_t line, std::uint32_t character, position_encoding encoding) const;

  std::string language_id_;
  std::string text_;
  std::int64_t version_;
  line_index lines_;
};

}  // namespace rwkv::lsp
