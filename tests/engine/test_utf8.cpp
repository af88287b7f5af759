// utf8_decoder and the UTF-8 helpers: characters split across pushes at every byte, U+FFFD for
// each maximal subpart of an invalid sequence (Unicode 3.9), overlongs, surrogates, flush.
#include "engine/utf8.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <vector>

namespace {

using rwkv::engine::utf8_decoder;
using rwkv::engine::utf8_repair;

const std::string fffd = "\xEF\xBF\xBD";

std::string repeat_fffd(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += fffd;
  return s;
}

// Decodes `bytes` pushed in pieces that end at the given cut offsets, then flushes.
std::string decode_in_pieces(std::string_view bytes, const std::vector<std::size_t>& cuts) {
  utf8_decoder d;
  std::string out;
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    out += d.push(bytes.substr(start, cut - start));
    start = cut;
  }
  out += d.push(bytes.substr(start));
  out += d.flush();
  return out;
}

bool is_valid(std::string_view s) { return rwkv::engine::utf8_valid_prefix(s) == s.size(); }

}  // namespace

TEST_CASE("utf8_decoder reassembles characters split at every byte position", "[engine][utf8]") {
  // 1-, 2-, 3- and 4-byte characters, including the boundaries of each length.
  const std::string text = "a\xC2\x80\xC3\xA9\xDF\xBF\xE0\xA0\x80\xE2\x82\xAC\xED\x9F\xBF\xEE\x80\x80"
                           "\xEF\xBF\xBF\xF0\x90\x80\x80\xF0\x9F\x98\x80\xF4\x8F\xBF\xBFz";
  REQUIRE(is_valid(text));
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    INFO("cut at " << cut);
    CHECK(decode_in_pieces(text, {cut}) == text);
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < text.size(); ++i) every_byte.push_back(i);
  CHECK(decode_in_pieces(text, every_byte) == text);
}

TEST_CASE("utf8_decoder holds back a 4-byte emoji until its last byte", "[engine][utf8]") {
  utf8_decoder d;
  CHECK(d.push("ok \xF0") == "ok ");
  CHECK(d.pending() == 1);
  CHECK(d.push("\x9F\x98").empty());
  CHECK(d.pending() == 3);
  CHECK(d.push("\x80!") == "\xF0\x9F\x98\x80!");
  CHECK(d.pending() == 0);
  CHECK(d.flush().empty());
}

TEST_CASE("utf8_decoder flush turns an unfinished character into one U+FFFD", "[engine][utf8]") {
  utf8_decoder d;
  CHECK(d.push("a\xE2\x82") == "a");
  CHECK(d.flush() == fffd);
  CHECK(d.pending() == 0);
  CHECK(d.flush().empty());
  CHECK(d.push("b") == "b");  // usable again after a flush
}

TEST_CASE("utf8_decoder replaces each maximal subpart of an invalid sequence by one U+FFFD",
          "[engine][utf8]") {
  struct replacement_case {
    const char* name;
    std::string bytes;
    std::string expected;
  };
  const replacement_case cases[] = {
      {"stray continuation", "\x80", fffd},
      {"stray continuations", "a\x80\xBFz", std::string("a") + repeat_fffd(2) + "z"},
      {"bytes that never occur", "\xC0\xC1\xF5\xFF", repeat_fffd(4)},
      {"overlong 2-byte NUL", "\xC0\x80", repeat_fffd(2)},
      {"overlong 2-byte", "\xC1\xBF", repeat_fffd(2)},
      {"overlong 3-byte", "\xE0\x80\x80", repeat_fffd(3)},
      {"overlong 3-byte max", "\xE0\x9F\xBF", repeat_fffd(3)},
      {"overlong 4-byte", "\xF0\x80\x80\x80", repeat_fffd(4)},
      {"overlong 4-byte max", "\xF0\x8F\xBF\xBF", repeat_fffd(4)},
      {"high surrogate", "\xED\xA0\x80", repeat_fffd(3)},
      {"low surrogate", "\xED\xBF\xBF", repeat_fffd(3)},
      {"surrogate pair", "\xED\xA0\xBD\xED\xB8\x80", repeat_fffd(6)},
      {"above U+10FFFF", "\xF4\x90\x80\x80", repeat_fffd(4)},
      {"5-byte form", "\xF8\x88\x80\x80\x80", repeat_fffd(5)},
      {"truncated 3-byte then ASCII", "\xE2\x82" "A", fffd + "A"},
      {"truncated 4-byte then ASCII", "\xF0\x9F\x98" "A", fffd + "A"},
      {"truncated then lead of a valid one", "\xE2\x82\xC3\xA9", fffd + "\xC3\xA9"},
      {"lead then lead", "\xC3\xC3\xA9", fffd + "\xC3\xA9"},
      // The example of Unicode section 3.9 ("U+FFFD Substitution of Maximal Subparts").
      {"Unicode 3.9 example", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
       std::string("a") + repeat_fffd(3) + "b" + fffd + "c" + repeat_fffd(2) + "d"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(utf8_repair(c.bytes) == c.expected);
    for (std::size_t cut = 0; cut <= c.bytes.size(); ++cut) CHECK(decode_in_pieces(c.bytes, {cut}) == c.expected);
  }
}

TEST_CASE("utf8_decoder streaming equals whole-string repair on random bytes", "[engine][utf8]") {
  std::mt19937 rng(5);
  // Mostly bytes that form or almost form sequences, so that every path is taken.
  const unsigned char alphabet[] = {'a', 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC2, 0xC3, 0xDF, 0xE0,
                                    0xE1, 0xED, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xC0, 0xFF};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes(rng() % 24, '\0');
    for (char& b : bytes) b = static_cast<char>(alphabet[rng() % sizeof alphabet]);
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < bytes.size(); ++i)
      if (rng() % 3 == 0) cuts.push_back(i);
    const std::string whole = utf8_repair(bytes);
    REQUIRE(is_valid(whole));
    REQUIRE(decode_in_pieces(bytes, cuts) == whole);
  }
}

TEST_CASE("utf8_valid_prefix and utf8_incomplete_suffix find where valid text ends", "[engine][utf8]") {
  using rwkv::engine::utf8_incomplete_suffix;
  using rwkv::engine::utf8_valid_prefix;
  CHECK(utf8_valid_prefix("") == 0);
  CHECK(utf8_valid_prefix("abc") == 3);
  CHECK(utf8_valid_prefix("ab\xC3\xA9") == 4);
  CHECK(utf8_valid_prefix("ab\xC3") == 2);
  CHECK(utf8_valid_prefix("ab\xF0\x9F\x98") == 2);
  CHECK(utf8_valid_prefix("ab\x80" "cd") == 2);
  CHECK(utf8_valid_prefix("\xED\xA0\x80") == 0);
  CHECK(utf8_incomplete_suffix("") == 0);
  CHECK(utf8_incomplete_suffix("abc") == 0);
  CHECK(utf8_incomplete_suffix("ab\xC3") == 1);
  CHECK(utf8_incomplete_suffix("ab\xE2\x82") == 2);
  CHECK(utf8_incomplete_suffix("ab\xF0\x9F\x98") == 3);
  CHECK(utf8_incomplete_suffix("ab\xF0\x9F\x98\x80") == 0);  // complete
  CHECK(utf8_incomplete_suffix("ab\xE0\x80") == 0);          // invalid, not incomplete
  CHECK(utf8_incomplete_suffix("ab\xED\xA0") == 0);          // would be a surrogate
  CHECK(utf8_incomplete_suffix("\x80\x80\x80") == 0);
  CHECK(utf8_incomplete_suffix("\xF4\x8F") == 2);
  CHECK(utf8_incomplete_suffix("\xF4\x90") == 0);
}
