// UTF-8 validation and repair for text that arrives as token bytes.
//
// Tokens hold bytes, not characters: a World token may end in the middle of a multi-byte character
// and the next token completes it. utf8_decoder turns such a byte stream into valid UTF-8, holding
// back an incomplete trailing sequence until the bytes that complete it arrive. Invalid bytes become
// U+FFFD following the Unicode "substitution of maximal subparts" practice (Unicode 15, section 3.9,
// U+FFFD Substitution; the same as the WHATWG Encoding Standard's UTF-8 decoder): each maximal prefix
// of a well-formed sequence that cannot be completed becomes one U+FFFD, and a byte that cannot start
// or continue any sequence becomes one U+FFFD of its own. Overlong forms (C0 80, E0 80 80, ...),
// encoded surrogates (ED A0 80 ...) and code points above U+10FFFF are invalid.
//
// The free functions are pure and thread-safe. A utf8_decoder is a small value owned by one stream
// (one completion being streamed); use it from one thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rwkv::engine {

// The length of the longest prefix of `bytes` made only of complete, well-formed UTF-8 sequences:
// bytes.size() when the whole string is valid UTF-8.
std::size_t utf8_valid_prefix(std::string_view bytes) noexcept;

// The number of bytes (0-3) at the end of `bytes` that form an incomplete but so far well-formed
// sequence, i.e. what a decoder would hold back waiting for more input.
std::size_t utf8_incomplete_suffix(std::string_view bytes) noexcept;

// `bytes` with every invalid sequence (including an incomplete one at the end) replaced by U+FFFD.
std::string utf8_repair(std::string_view bytes);

class utf8_decoder {
 public:
  // Appends bytes and returns the text that is now complete: valid UTF-8, with invalid sequences
  // replaced by U+FFFD. An incomplete sequence at the end is held back (pending() bytes).
  std::string push(std::string_view bytes);
  // Returns what is held back as one U+FFFD (an incomplete sequence that will never be completed),
  // or an empty string when nothing is held back, and resets the decoder.
  std::string flush();
  // Bytes held back: 0-3, always the prefix of a well-formed sequence.
  std::size_t pending() const noexcept { return pending_.size(); }

 private:
  std::string pending_;
};

}  // namespace rwkv::engine
