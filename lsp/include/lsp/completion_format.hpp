// Turning completion_service results into LSP answers: InlineCompletionList for
// textDocument/inlineCompletion and a one-item CompletionList for textDocument/completion.
//
// The document may change (on the protocol thread) while a completion runs (on a worker), so
// everything a result needs from the document is copied at request time into a cursor_snapshot;
// the formatting functions then run on any thread without touching the document.
//
// Both answers replace `replace_after` bytes after the cursor (closing brackets the suggestion
// re-types), clamped to the end of the line and to a character boundary. The inline item inserts
// at the cursor. The completion item, for editors without inline completion, completes the word
// being typed — the identifier characters just before the cursor, "comp" in "x = comp" — as
// completion items do, so that clients that insert the item over that word themselves (Neovim's
// omnifunc, Eglot 1.9) get the same text as those that apply its edit:
//   textEdit    replaces that word (and the re-typed characters) with the word followed by the
//               suggestion; plain text, never a snippet (the model's `$` are literal);
//   label       the first non-blank line of that, trimmed, at most max_label_chars characters
//               (then "…"); it begins with the word, which such clients rely on;
//   filterText  the whole new text, so the item keeps matching while the user types on;
//   isIncomplete true, so the client asks again as the user types.
//
// Threads: free functions and plain data.
#pragma once

#include "lsp/completion_service.hpp"
#include "lsp/document.hpp"
#include "lsp/positions.hpp"
#include "lsp/protocol.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace rwkv::lsp {

struct cursor_snapshot {
  position cursor;           // canonical: a character past the line end is clamped
  std::string line_after;    // the rest of the line after the cursor (at most max_line_after bytes)
  std::string word_before;   // identifier characters right before the cursor ("" past max_word_before)
  position_encoding encoding = position_encoding::utf16;
};

inline constexpr std::size_t max_line_after = 256;
inline constexpr std::size_t max_label_chars = 60;
// Longer runs of identifier characters (minified code, base64) are not treated as a word: the
// item then inserts at the cursor rather than repeating them.
inline constexpr std::size_t max_word_before = 256;

cursor_snapshot snapshot_cursor(const document& doc, std::size_t offset, position_encoding encoding);

inline_completion_list make_inline_completion_list(const completion_result& result, const cursor_snapshot& at);
completion_list make_completion_list(const completion_result& result, const cursor_snapshot& at);

// The label for a suggestion, as described above.
std::string completion_label(std::string_view suggestion, std::size_t max_chars = max_label_chars);
// The identifier characters (ASCII letters, digits, '_', and any non-ASCII character) at the end of `text`.
std::string_view trailing_word(std::string_view text);

}  // namespace rwkv::lsp
