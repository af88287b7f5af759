// Reading the World vocabulary file: every literal form the file uses, the stricter-than-Python
// edge cases, and malformed lines rejected with "<file>:<line>: ..." messages.
#include "engine/error.hpp"
#include "engine/tokenizer.hpp"
#include "engine/tokenizer_fixtures.hpp"

#include <catch2/catch.hpp>

namespace {

using rwkv::engine::errc;
using rwkv::test::small_world;

// The bytes of token 257 in a vocabulary whose line 257 is `257 <literal> <byte_len>`.
std::string token_257(const std::string& literal, std::size_t byte_len) {
  auto t = small_world("257 " + literal + " " + std::to_string(byte_len) + "\n");
  return std::string(t->token_bytes(257));
}

// The error of a vocabulary with `extra_lines` after the 256 single bytes.
rwkv::test::caught vocab_error(const std::string& extra_lines) {
  return rwkv::test::catch_error([&] { (void)small_world(extra_lines); });
}

}  // namespace

TEST_CASE("World vocab literals decode to the bytes Python gives them", "[engine][tokenizer][vocab]") {
  CHECK(token_257("'ab'", 2) == "ab");
  CHECK(token_257("\"ab\"", 2) == "ab");
  CHECK(token_257("u'ab'", 2) == "ab");
  CHECK(token_257("'a b  c'", 6) == "a b  c");  // spaces inside: the literal spans first to last space
  CHECK(token_257("' '", 1) == " ");
  CHECK(token_257("\"'\"", 1) == "'");
  CHECK(token_257("'\"'", 1) == "\"");
  CHECK(token_257("'\\''", 1) == "'");
  CHECK(token_257("\"\\\"\"", 1) == "\"");
  CHECK(token_257("'\\\\'", 1) == "\\");
  CHECK(token_257("'\\\\n'", 2) == "\\n");
  CHECK(token_257("'\\a\\b\\f\\n\\r\\t\\v'", 7) == "\a\b\f\n\r\t\v");
  CHECK(token_257("'\\x41\\x7e'", 2) == "A~");
  CHECK(token_257("'\\x80'", 2) == "\xC2\x80");   // str: code point U+0080
  CHECK(token_257("b'\\x80'", 1) == "\x80");      // bytes: the byte
  CHECK(token_257("B'\\xFf'", 1) == "\xFF");
  CHECK(token_257("'\\u00e9'", 2) == "\xC3\xA9");
  CHECK(token_257("'\\u200b\\u200b'", 6) == "\xE2\x80\x8B\xE2\x80\x8B");
  CHECK(token_257("'\\U0001F600'", 4) == "\xF0\x9F\x98\x80");
  CHECK(token_257("'\\101\\0'", 2) == std::string("A\0", 2));  // octal, 1-3 digits
  CHECK(token_257("'\\1234'", 2) == "S4");                     // at most three octal digits
  CHECK(token_257("'\\777'", 2) == "\xC7\xBF");               // str: U+01FF
  CHECK(token_257("b'\\377'", 1) == "\xFF");
  CHECK(token_257("'caf\xC3\xA9'", 5) == "caf\xC3\xA9");      // characters as UTF-8 in the file
  CHECK(token_257("'\xF0\x9F\x98\x80'", 4) == "\xF0\x9F\x98\x80");
}

TEST_CASE("World vocab rejects literals it cannot read safely", "[engine][tokenizer][vocab]") {
  struct bad_case {
    const char* literal;
    const char* message;
  };
  const bad_case cases[] = {
      {"'\\q'", "unknown escape"},
      {"'\\x4'", "two hex digits"},
      {"'\\xg0'", "two hex digits"},
      {"'\\u12'", "four hex digits"},
      {"'\\U0001F60'", "eight hex digits"},
      {"b'\\u0041'", "not escapes in a bytes literal"},
      {"'\\ud800'", "surrogate"},
      {"'\\U00110000'", "beyond U+10FFFF"},
      {"'\\N{EM DASH}'", "named escapes"},
      {"b'\\400'", "at most \\377"},
      {"b'\xC3\xA9'", "non-ASCII"},
      {"'\xC3'", "not valid UTF-8"},
      {"'\xED\xA0\x80'", "not valid UTF-8"},
      {"r'x'", "raw or formatted"},
      {"f'x'", "raw or formatted"},
      {"'''x'''", "triple-quoted"},
      {"'abc", "missing closing quote"},
      {"'abc\\'", "missing closing quote"},
      {"'a'b", "unexpected text after the closing quote"},
      {"'a' 'b'", "unexpected text after the closing quote"},
      {"abc", "expected a quoted string literal"},
      {"''", "empty token"},
  };
  for (const auto& c : cases) {
    INFO("literal: " << c.literal);
    const auto e = vocab_error(std::string("257 ") + c.literal + " 1\n");
    REQUIRE(e.thrown);
    CHECK(e.code == errc::bad_format);
    CHECK_THAT(e.message, Catch::StartsWith("test.txt:257: "));
    CHECK_THAT(e.message, Catch::Contains(c.message));
  }
}

TEST_CASE("World vocab rejects malformed lines with the file and line", "[engine][tokenizer][vocab]") {
  struct bad_case {
    std::string lines;
    std::string message;
  };
  const bad_case cases[] = {
      {"257 'ab' 3\n", "test.txt:257: the literal `'ab'` is 2 bytes but byte_len says 3"},
      {"257 '\\x80' 1\n", "is 2 bytes but byte_len says 1"},
      {"257 'ab' 2\n258 'cd' 2\n257 'ef' 2\n", "test.txt:259: duplicate id 257 (first defined on line 257)"},
      {"1 'x' 1\n", "duplicate id 1 (first defined on line 1)"},
      {"257 'ab'\n", "test.txt:257: missing fields"},
      {"257\n", "missing fields"},
      {"x57 'ab' 2\n", "the id `x57` is not a number"},
      {"-5 'ab' 2\n", "is not a number"},
      {"0 'ab' 2\n", "id 0 is reserved for end-of-text"},
      {"99999999 'ab' 2\n", "is too large"},
      {"257 'ab' two\n", "byte_len `two` is not a number"},
      {"257 'ab' 2 \n", "byte_len `` is not a number"},
      {"257  'ab' 2\n", "expected a quoted string literal"},
  };
  for (const auto& c : cases) {
    INFO("lines: " << c.lines);
    const auto e = vocab_error(c.lines);
    REQUIRE(e.thrown);
    CHECK(e.code == errc::bad_format);
    CHECK_THAT(e.message, Catch::Contains(c.message));
  }
}

TEST_CASE("World vocab must give every byte a token of its own", "[engine][tokenizer][vocab]") {
  std::string lines = rwkv::test::single_byte_lines();
  const std::string a_line = "66 '\\x41' 1\n";
  REQUIRE(lines.find(a_line) != std::string::npos);
  lines.erase(lines.find(a_line), a_line.size());
  const auto e = rwkv::test::catch_error([&] { (void)rwkv::engine::make_world_tokenizer_from_text(lines, "v.txt"); });
  CHECK(e.code == errc::bad_format);
  CHECK_THAT(e.message, Catch::Contains("v.txt: no token for the byte 0x41"));
}

TEST_CASE("World vocab tolerates blank lines, CRLF and a byte order mark", "[engine][tokenizer][vocab]") {
  std::string lines = "\xEF\xBB\xBF" + rwkv::test::single_byte_lines();
  lines += "\n257 'ab' 2\r\n\r\n258 ' x' 2";  // and no final line break
  auto t = rwkv::engine::make_world_tokenizer_from_text(lines);
  CHECK(t->token_bytes(257) == "ab");
  CHECK(t->token_bytes(258) == " x");
  CHECK(t->encode("ab x") == std::vector<std::int32_t>{257, 258});
}

TEST_CASE("World vocab with the same bytes twice encodes to the later id", "[engine][tokenizer][vocab]") {
  // BlinkDL's TRIE_TOKENIZER builds token -> id by overwriting, so the last line wins.
  auto t = small_world("300 'ab' 2\n257 'ab' 2\n");
  CHECK(t->encode("abab") == std::vector<std::int32_t>{257, 257});
  CHECK(t->token_bytes(300) == "ab");
  CHECK(t->token_bytes(299).empty());
  CHECK(t->vocab_size() == 65536);
  auto wide = small_world("70000 'ab' 2\n");
  CHECK(wide->vocab_size() == 70001);
}
