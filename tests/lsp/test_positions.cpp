// Code units per encoding, surrogate pairs, line breaks, and the incremental line index.
#include "lsp/positions.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>

using namespace rwkv::lsp;

namespace {
const std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600: 4 bytes, 2 UTF-16 units, 1 code point
const std::string cjk = "\xE4\xB8\x96";        // U+4E16: 3 bytes, 1 unit
const std::string e_acute = "\xC3\xA9";        // U+00E9: 2 bytes, 1 unit
}  // namespace

TEST_CASE("code units are counted per encoding", "[lsp][positions]") {
  std::string text = "a" + e_acute + cjk + emoji + "z";
  CHECK(count_code_units(text, position_encoding::utf8) == 11);
  CHECK(count_code_units(text, position_encoding::utf16) == 6);
  CHECK(count_code_units(text, position_encoding::utf32) == 5);
  CHECK(count_code_units("", position_encoding::utf16) == 0);
}

TEST_CASE("code units map back to bytes without splitting characters", "[lsp][positions]") {
  std::string line = "x" + emoji + "y" + cjk;  // bytes: x=0, emoji=1..4, y=5, cjk=6..8
  using enum position_encoding;
  CHECK(code_units_to_bytes(line, 0, utf16) == 0);
  CHECK(code_units_to_bytes(line, 1, utf16) == 1);
  CHECK(code_units_to_bytes(line, 2, utf16) == 1);  // between the surrogates: start of the emoji
  CHECK(code_units_to_bytes(line, 3, utf16) == 5);
  CHECK(code_units_to_bytes(line, 4, utf16) == 6);
  CHECK(code_units_to_bytes(line, 5, utf16) == 9);
  CHECK(code_units_to_bytes(line, 99, utf16) == 9);  // past the end: the end
  CHECK(code_units_to_bytes(line, 2, utf32) == 5);
  CHECK(code_units_to_bytes(line, 3, utf32) == 6);
  CHECK(code_units_to_bytes(line, 3, utf8) == 1);  // inside the emoji: its start
  CHECK(code_units_to_bytes(line, 5, utf8) == 5);
  CHECK(code_units_to_bytes(line, 7, utf8) == 6);
}

TEST_CASE("floor_to_char_boundary backs off to a character start", "[lsp][positions]") {
  std::string s = "a" + emoji;
  CHECK(floor_to_char_boundary(s, 0) == 0);
  CHECK(floor_to_char_boundary(s, 1) == 1);
  CHECK(floor_to_char_boundary(s, 2) == 1);
  CHECK(floor_to_char_boundary(s, 4) == 1);
  CHECK(floor_to_char_boundary(s, 5) == 5);
  CHECK(floor_to_char_boundary(s, 50) == 5);
}

TEST_CASE("lines end at LF, CRLF and a lone CR", "[lsp][positions]") {
  std::string text = "a\nb\r\nc\rd\r";
  line_index lines(text);
  REQUIRE(lines.line_count() == 5);
  CHECK(lines.line_start(1) == 2);
  CHECK(lines.line_start(2) == 5);
  CHECK(lines.line_start(3) == 7);
  CHECK(lines.line_start(4) == 9);
  CHECK(lines.line_end(0, text) == 1);
  CHECK(lines.line_end(1, text) == 3);  // before "\r\n"
  CHECK(lines.line_end(2, text) == 6);
  CHECK(lines.line_end(3, text) == 8);
  CHECK(lines.line_end(4, text) == 9);
  CHECK(lines.line_of(0) == 0);
  CHECK(lines.line_of(3) == 1);
  CHECK(lines.line_of(4) == 1);
  CHECK(lines.line_of(5) == 2);
  CHECK(lines.line_of(100) == 4);
  CHECK(line_index("").line_count() == 1);
  CHECK(line_index("\r\n").line_count() == 2);
}

TEST_CASE("line index updates at CR/LF seams match a rebuild", "[lsp][positions]") {
  struct edit {
    std::string before;
    std::size_t start, end;
    std::string text;
  };
  for (const auto& e : std::vector<edit>{
           {"a\rb", 2, 2, "\n"},      // CR + inserted LF becomes one CRLF break
           {"a\r\nb", 2, 3, ""},      // removing the LF of CRLF leaves a lone CR break
           {"a\r\nb", 2, 2, "x"},     // splitting CRLF into two breaks
           {"a\r", 2, 2, "\n"},       // trailing CR, then LF appended
           {"a\r", 1, 2, ""},         // removing a trailing CR
           {"\n\n\n", 0, 3, "x"},     // everything replaced
           {"abc", 0, 0, "\r\n\r"},   // breaks inserted at the start
           {"a\nb\nc", 1, 4, "\r"},   // several breaks replaced by one
       }) {
    std::string text = e.before;
    line_index lines(text);
    text.replace(e.start, e.end - e.start, e.text);
    lines.update(text, e.start, e.end, e.text.size());
    INFO("edit of \"" << e.before << "\"");
    CHECK(lines == line_index(text));
  }
}

TEST_CASE("random edits keep the line index equal to a rebuild", "[lsp][positions]") {
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a", "bc", "\n", "\r", "\r\n", " ", emoji, cjk, "\n\n", "x\r"};
  std::string text;
  line_index lines(text);
  for (int step = 0; step < 5000; ++step) {
    std::size_t start = text.empty() ? 0 : rng() % (text.size() + 1);
    std::size_t end = std::min(text.size(), start + rng() % 6);
    std::string insert;
    for (std::size_t k = rng() % 4; k > 0; --k) insert += pieces[rng() % pieces.size()];
    text.replace(start, end - start, insert);
    lines.update(text, start, end, insert.size());
    REQUIRE(lines == line_index(text));
  }
}

TEST_CASE("encodings have names", "[lsp][positions]") {
  CHECK(to_string(position_encoding::utf16) == "utf-16");
  CHECK(parse_position_encoding("utf-8") == position_encoding::utf8);
  CHECK(parse_position_encoding("utf-32") == position_encoding::utf32);
  CHECK(!parse_position_encoding("latin1"));
}
