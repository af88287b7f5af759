// Parsing one Python string or bytes literal ('...', "...", b'...') into the bytes it denotes,
// without executing anything. The RWKV World vocabulary writes each token this way.
#pragma once

#include <string>
#include <string_view>

namespace rwkv::engine::tokenizers {

struct literal_result {
  std::string bytes;  // str literals: the UTF-8 encoding of the string; bytes literals: the bytes
  std::string error;  // empty on success, else what is wrong, for a "<file>:<line>: " prefix
};

// Accepts exactly one literal, nothing before or after it: an optional prefix u/U (str) or b/B
// (bytes), then '...' or "...". Escapes: \\ \' \" \a \b \f \n \r \t \v, \ooo (1-3 octal digits),
// \xhh, and in str literals \uhhhh and \Uhhhhhhhh. Stricter than Python on purpose: an unknown
// escape (Python keeps the backslash), \N{name}, raw and triple-quoted literals, a code point that
// UTF-8 cannot encode (a surrogate, above U+10FFFF) and non-ASCII characters in a bytes literal
// are errors. Characters of a str literal must be valid UTF-8.
literal_result parse_python_literal(std::string_view literal);

// A piece of vocabulary text for an error message: at most 40 bytes, made valid UTF-8 (messages
// end up in JSON-RPC replies).
std::string excerpt(std::string_view text);

}  // namespace rwkv::engine::tokenizers
