// Byte-level BPE from a Hugging Face tokenizer.json — the GPT-NeoX 20B tokenizer of RWKV-4 Pile
// models — computing what the `tokenizers` library computes for encode(text).ids:
//
//  1. added tokens whose "normalized" is false (<|endoftext|>, <|padding|>) are split out of the
//     raw text, leftmost-longest (AddedVocabulary::extract_and_normalize);
//  2. the rest is normalized (NFC when the file says so) and added tokens whose "normalized" is
//     true are split out of it the same way (20B: runs of 2-24 spaces);
//  3. the ByteLevel pre-tokenizer splits each remaining piece with GPT-2's pattern
//       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     (matched here by hand over code points; \s is White_Space, \p{L}/\p{N} the general
//     categories from unicode_tables.cpp) and maps bytes to GPT-2's printable alphabet;
//  4. BPE merges each piece, lowest merge rank first, leftmost first among equal ranks (the
//     tokenizers crate's Word::merge_all).
// Input that is not valid UTF-8 (which the library cannot take) is still tokenized: each invalid
// byte is a character of no class, so every byte string has a tokenization.
//
// Decoding concatenates token bytes; special tokens decode to their own text, so
// decode(encode(text)) == text for every text already in NFC.
#include "engine/error.hpp"
#include "engine/tokenizer.hpp"
#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/unicode.hpp"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_map>

namespace rwkv::engine {

namespace {

using tokenizers::decode_utf8;

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to 256 + n.
std::array<char32_t, 256> byte_to_char() {
  std::array<char32_t, 256> map{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[static_cast<std::size_t>(b)] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[static_cast<std::size_t>(b)] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[static_cast<std::size_t>(b)] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) map[static_cast<std::size_t>(b)] = printable[static_cast<std::size_t>(b)] ? static_cast<char32_t>(b) : next++;
  return map;
}

enum class char_class { letter, number, space, other };

char_class class_at(std::string_view s, std::size_t at, std::size_t& length) {
  const auto d = decode_utf8(s, at);
  length = d.length;
  if (!d.valid) return char_class::other;
  if (tokenizers::is_letter(d.cp)) return char_class::letter;
  if (tokenizers::is_number(d.cp)) return char_class::number;
  if (tokenizers::is_whitespace(d.cp)) return char_class::space;
  return char_class::other;
}

std::size_t run_end(std::string_view s, std::size_t at, char_class c) {
  std::size_t len = 0;
  while (at < s.size() && class_at(s, at, len) == c) at += len;
  return at;
}

// End of the GPT-2 pattern's match starting at `i` (i < s.size()).
std::size_t pretoken_end(std::string_view s, std::size_t i) {
  if (s[i] == '\'' && i + 1 < s.size()) {
    const char a = s[i + 1], b = i + 2 < s.size() ? s[i + 2] : '\0';
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
  }
  const std::size_t start = s[i] == ' ' && i + 1 < s.size() ? i + 1 : i;
  std::size_t len = 0;
  const char_class c = class_at(s, start, len);
  if (c != char_class::space && (start == i + 1 || c == class_at(s, i, len))) return run_end(s, start, c);
  // Whitespace: \s+(?!\S) leaves the last whitespace character before a non-space to the next
  // match; a single whitespace character before a non-space is matched by \s+.
  const std::size_t end = run_end(s, i, char_class::space);
  if (end == s.size()) return end;
  std::size_t last = i, at = i;
  while (at < end) {
    last = at;
    at += decode_utf8(s, at).length;
  }
  return last > i ? last : end;
}

class bpe_tokenizer final : public tokenizer {
 public:
  explicit bpe_tokenizer(bpe_definition d) : d_(std::move(d)) {
    for (const auto& a : d_.added)
      if (a.content.find('\n') != std::string::npos) newline_in_added_ = true;
  }

  std::string_view name() const noexcept override { return "bpe"; }
  std::int64_t vocab_size() const noexcept override { return static_cast<std::int64_t>(d_.bytes_by_id.size()); }
  std::optional<std::int32_t> end_of_text() const noexcept override { return d_.end_of_text; }

  std::vector<std::int32_t> encode(std::string_view text) const override {
    std::vector<std::int32_t> out;
    out.reserve(text.size() / 3 + 1);
    split_added(text, false, [&](std::string_view piece) {
      const std::string normalized = d_.nfc ? tokenizers::to_nfc(piece) : std::string(piece);
      split_added(normalized, true, [&](std::string_view part) { encode_plain(part, out); }, out);
    }, out);
    return out;
  }

  std::string_view token_bytes(std::int32_t id) const override {
    if (id < 0 || id >= vocab_size())
      throw error(errc::bad_argument, "token id " + std::to_string(id) + " is outside the BPE vocabulary (0-" +
                                          std::to_string(vocab_size() - 1) + ")");
    return d_.bytes_by_id[static_cast<std::size_t>(id)];
  }

  // Pre-tokens never span a line break that stands alone between two non-space ASCII characters
  // ("x\ny"): the regex ends a match there in the whole text and in both halves alike, NFC cannot
  // combine across ASCII, and no added token may contain '\n' (checked at load). Anywhere else a
  // split could change how whitespace runs or combining characters group, so only 0 and the end
  // are promised besides.
  bool is_resync_point(std::string_view text, std::size_t offset) const override {
    if (offset > text.size()) return false;
    if (offset == 0 || offset == text.size()) return true;
    if (newline_in_added_ || text[offset - 1] != '\n') return false;
    auto plain = [](char c) { return c > ' ' && c < 0x7f; };
    return plain(text[offset]) && (offset == 1 || plain(text[offset - 2]));
  }
  std::size_t lookahead_bytes() const noexcept override { return SIZE_MAX; }

 private:
  // Calls plain(piece) for text between added tokens and appends the added tokens' ids, matching
  // leftmost-longest among the tokens of the given normalization.
  template <class Plain>
  void split_added(std::string_view text, bool normalized, Plain plain, std::vector<std::int32_t>& out) const {
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size();) {
      const bpe_definition::added_token* best = nullptr;
      for (const auto* a : d_.added_by_first_byte[static_cast<unsigned char>(text[i])])
        if (a->normalized == normalized && text.compare(i, a->content.size(), a->content) == 0 &&
            (!best || a->content.size() > best->content.size()))
          best = a;
      if (!best) {
        ++i;
        continue;
      }
      if (i > start) plain(text.substr(start, i - start));
      out.push_back(best->id);
      i += best->content.size();
      start = i;
    }
    if (start < text.size()) plain(text.substr(start));
  }

  void encode_plain(std::string_view text, std::vector<std::int32_t>& out) const {
    // Bytes the vocabulary has no token for (only possible in invalid UTF-8) become U+FFFD.
    std::string replaced;
    for (std::size_t i = 0; i < text.size(); ++i)
      if (d_.byte_ids[static_cast<unsigned char>(text[i])] < 0) {
        if (replaced.empty()) replaced.assign(text.substr(0, i));
        replaced += "\xEF\xBF\xBD";
      } else if (!replaced.empty()) {
        replaced.push_back(text[i]);
      }
    if (!replaced.empty()) text = replaced;
    std::string prefixed;
    if (d_.add_prefix_space && !text.empty() && text.front() != ' ') {
      prefixed.reserve(text.size() + 1);
      prefixed.push_back(' ');
      prefixed.append(text);
      text = prefixed;
    }
    for (std::size_t i = 0; i < text.size();) {
      const std::size_t end = pretoken_end(text, i);
      merge(text.substr(i, end - i), out);
      i = end;
    }
  }

  void merge(std::string_view piece, std::vector<std::int32_t>& out) const {
    struct symbol {
      std::int32_t id;
      std::int32_t prev, next;
    };
    std::vector<symbol> sym(piece.size());
    for (std::size_t i = 0; i < piece.size(); ++i)
      sym[i] = {d_.byte_ids[static_cast<unsigned char>(piece[i])], static_cast<std::int32_t>(i) - 1,
                i + 1 < piece.size() ? static_cast<std::int32_t>(i + 1) : -1};
    struct candidate {
      std::int32_t rank, pos, left, right;
      bool operator>(const candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<candidate, std::vector<candidate>, std::greater<>> queue;
    auto consider = [&](std::int32_t pos) {
      if (pos < 0 || sym[static_cast<std::size_t>(pos)].next < 0) return;
      const auto l = sym[static_cast<std::size_t>(pos)].id, r = sym[static_cast<std::size_t>(sym[static_cast<std::size_t>(pos)].next)].id;
      const auto it = d_.merges.find(bpe_definition::pair_key(l, r));
      if (it != d_.merges.end()) queue.push({it->second.rank, pos, l, r});
    };
    for (std::size_t i = 0; i + 1 < piece.size(); ++i) consider(static_cast<std::int32_t>(i));
    while (!queue.empty()) {
      const candidate c = queue.top();
      queue.pop();
      symbol& s = sym[static_cast<std::size_t>(c.pos)];
      if (s.id != c.left || s.next < 0 || sym[static_cast<std::size_t>(s.next)].id != c.right) continue;  // stale
      const auto merged = d_.merges.find(bpe_definition::pair_key(c.left, c.right))->second.merged;
      const std::int32_t gone = s.next;
      s.id = merged;
      s.next = sym[static_cast<std::size_t>(gone)].next;
      sym[static_cast<std::size_t>(gone)].id = -1;
      if (s.next >= 0) sym[static_cast<std::size_t>(s.next)].prev = c.pos;
      consider(s.prev);
      consider(c.pos);
    }
    for (std::int32_t i = piece.empty() ? -1 : 0; i >= 0; i = sym[static_cast<std::size_t>(i)].next)
      out.push_back(sym[static_cast<std::size_t>(i)].id);
  }

  bpe_definition d_;
  bool newline_in_added_ = false;
};

}  // namespace

std::unique_ptr<tokenizer> make_bpe_tokenizer(bpe_definition definition) {
  return std::make_unique<bpe_tokenizer>(std::move(definition));
}

std::u32string byte_level_alphabet() {
  const auto map = byte_to_char();
  return std::u32string(map.begin(), map.end());
}

}  // namespace rwkv::engine
