// Python literal parsing for the World vocabulary: the subset of the language's string and bytes
// literal syntax that the vocabulary uses, and clear errors for everything else.
#include "tokenizer/python_literal.hpp"

#include "engine/utf8.hpp"

#include <cstdint>

namespace rwkv::engine::tokenizers {

namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class literal_parser {
 public:
  explicit literal_parser(std::string_view text) : text_(text) {}

  literal_result run() {
    literal_result result;
    result.error = parse(result.bytes);
    if (!result.error.empty()) result.bytes.clear();
    return result;
  }

 private:
  std::string parse(std::string& out) {
    if (text_.empty()) return "expected a string literal, found nothing";
    switch (text_[pos_]) {
      case 'b': case 'B': is_bytes_ = true; ++pos_; break;
      case 'u': case 'U': ++pos_; break;
      case 'r': case 'R': case 'f': case 'F':
        return "literal prefix '" + std::string(1, text_[pos_]) + "' (raw or formatted) is not supported";
      default: break;
    }
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      return "expected a quoted string literal, found `" + excerpt(text_) + "`";
    const char quote = text_[pos_++];
    if (pos_ + 1 < text_.size() && text_[pos_] == quote && text_[pos_ + 1] == quote)
      return "triple-quoted literals are not supported";
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == quote) {
        if (pos_ != text_.size())
          return "unexpected text after the closing quote: `" + excerpt(text_.substr(pos_)) + "`";
        if (!is_bytes_ && utf8_valid_prefix(out) != out.size())
          return "the str literal is not valid UTF-8";
        return {};
      }
      if (c == '\\') {
        if (auto error = escape(out); !error.empty()) return error;
      } else if (c == '\n' || c == '\r') {
        return "line break inside the literal";
      } else if (is_bytes_ && static_cast<unsigned char>(c) >= 0x80) {
        return "non-ASCII character in a bytes literal (write it as \\xhh)";
      } else {
        out += c;
      }
    }
    return "missing closing quote";
  }

  // Reads exactly `digits` hex digits after an escape letter.
  bool read_hex(int digits, std::uint32_t& value) {
    if (pos_ + static_cast<std::size_t>(digits) > text_.size()) return false;
    value = 0;
    for (int k = 0; k < digits; ++k) {
      const int h = hex_value(text_[pos_ + static_cast<std::size_t>(k)]);
      if (h < 0) return false;
      value = value * 16 + static_cast<std::uint32_t>(h);
    }
    pos_ += static_cast<std::size_t>(digits);
    return true;
  }

  std::string escape(std::string& out) {
    if (pos_ >= text_.size()) return "missing closing quote (the last quote is escaped)";
    const std::size_t start = pos_ - 1;
    const char c = text_[pos_++];
    auto bad = [&](const std::string& why) {
      return "bad escape `" + excerpt(text_.substr(start, pos_ - start)) + "`: " + why;
    };
    switch (c) {
      case '\\': out += '\\'; return {};
      case '\'': out += '\''; return {};
      case '"': out += '"'; return {};
      case 'a': out += '\a'; return {};
      case 'b': out += '\b'; return {};
      case 'f': out += '\f'; return {};
      case 'n': out += '\n'; return {};
      case 'r': out += '\r'; return {};
      case 't': out += '\t'; return {};
      case 'v': out += '\v'; return {};
      case 'x': {
        std::uint32_t v = 0;
        if (!read_hex(2, v)) return bad("\\x needs exactly two hex digits");
        if (is_bytes_) out += static_cast<char>(v);
        else append_utf8(out, v);  // in a str, \xhh is the code point U+00hh
        return {};
      }
      case 'u':
      case 'U': {
        if (is_bytes_) return bad("\\u and \\U are not escapes in a bytes literal");
        std::uint32_t v = 0;
        if (!read_hex(c == 'u' ? 4 : 8, v))
          return bad(c == 'u' ? "\\u needs exactly four hex digits" : "\\U needs exactly eight hex digits");
        if (v >= 0xD800 && v <= 0xDFFF) return bad("a surrogate code point cannot be encoded in UTF-8");
        if (v > 0x10FFFF) return bad("beyond U+10FFFF");
        append_utf8(out, v);
        return {};
      }
      case 'N': return bad("named escapes are not supported; write the character or \\u");
      default: break;
    }
    if (c >= '0' && c <= '7') {
      std::uint32_t v = static_cast<std::uint32_t>(c - '0');
      for (int k = 0; k < 2 && pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '7'; ++k)
        v = v * 8 + static_cast<std::uint32_t>(text_[pos_++] - '0');
      if (is_bytes_) {
        if (v > 0xFF) return bad("an octal escape in a bytes literal must be at most \\377");
        out += static_cast<char>(v);
      } else {
        append_utf8(out, v);
      }
      return {};
    }
    return bad("unknown escape");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  bool is_bytes_ = false;
};

}  // namespace

std::string excerpt(std::string_view text) {
  constexpr std::size_t max_bytes = 40;
  if (text.size() <= max_bytes) return utf8_repair(text);
  return utf8_repair(text.substr(0, max_bytes)) + "...";
}

literal_result parse_python_literal(std::string_view literal) { return literal_parser(literal).run(); }

}  // namespace rwkv::engine::tokenizers
