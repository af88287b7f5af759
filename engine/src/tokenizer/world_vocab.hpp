// Reading the RWKV World vocabulary file (rwkv_vocab_v20230424.txt) into (id, bytes) entries.
//
// Format, one token per line: `id literal byte_len`, e.g. `261 '\n\n' 2` or `2412 b'\x82\xac' 2`.
// The literal is a Python str literal (its UTF-8 encoding is the token) or bytes literal and may
// contain spaces; it lies between the first and the last space of the line, as in BlinkDL's
// TRIE_TOKENIZER. Id 0 (end of text) has no line. Blank lines and a UTF-8 byte order mark are
// ignored; a '\r' before the line break is allowed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine::tokenizers {

struct vocab_entry {
  std::int32_t id;
  std::string bytes;
};

// Ids above this are rejected, so that a corrupt file cannot ask for a huge id table.
inline constexpr std::int32_t max_vocab_id = (1 << 20) - 1;

// The entries in file order. Throws engine::error(errc::bad_format, "<source_name>:<line>: ...")
// for a malformed line (missing fields, a bad number or literal, byte_len not the literal's
// length, an empty token) or an id that is 0, too large or already defined.
std::vector<vocab_entry> parse_world_vocab(std::string_view contents, std::string_view source_name);

}  // namespace rwkv::engine::tokenizers
