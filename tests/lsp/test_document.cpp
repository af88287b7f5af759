// Documents: positions <-> offsets on real text, incremental and full changes, clamping, and
// the cost of a keystroke in a large file.
#include "lsp/document.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <random>

using namespace rwkv::lsp;

namespace {

const std::string emoji = "\xF0\x9F\x98\x80";
const std::string cjk = "\xE4\xB8\x96\xE7\x95\x8C";  // 世界

text_document_content_change_event change(std::uint32_t l1, std::uint32_t c1, std::uint32_t l2, std::uint32_t c2,
                                          std::string text) {
  return {range{{l1, c1}, {l2, c2}}, std::move(text)};
}

}  // namespace

TEST_CASE("positions after emoji and CJK text depend on the encoding", "[lsp][document]") {
  // Line 1: "s = \"😀世界\";" with CRLF line ends.
  document doc("cpp", "int x;\r\ns = \"" + emoji + cjk + "\";\r\n", 1);
  REQUIRE(doc.line_count() == 3);
  std::size_t line1 = 8;
  std::size_t after_emoji = line1 + 5 + 4;
  // UTF-16: the emoji is two units.
  CHECK(doc.offset_of({1, 5}, position_encoding::utf16) == line1 + 5);
  CHECK(doc.offset_of({1, 7}, position_encoding::utf16) == after_emoji);
  CHECK(doc.offset_of({1, 8}, position_encoding::utf16) == after_emoji + 3);
  CHECK(doc.position_of(after_emoji + 3, position_encoding::utf16) == position{1, 8});
  // UTF-32: one unit; UTF-8: four.
  CHECK(doc.offset_of({1, 6}, position_encoding::utf32) == after_emoji);
  CHECK(doc.offset_of({1, 9}, position_encoding::utf8) == after_emoji);
  CHECK(doc.position_of(after_emoji + 6, position_encoding::utf32) == position{1, 8});
  CHECK(doc.position_of(after_emoji + 6, position_encoding::utf8) == position{1, 15});
}

TEST_CASE("a character past the line end clamps; a line past the end does not exist", "[lsp][document]") {
  document doc("cpp", "ab\r\ncd", 1);
  CHECK(doc.offset_of({0, 99}, position_encoding::utf16) == 2);  // before "\r\n"
  CHECK(doc.offset_of({1, 99}, position_encoding::utf16) == 6);
  CHECK(!doc.offset_of({2, 0}, position_encoding::utf16));
  CHECK(doc.clamped_offset_of({7, 3}, position_encoding::utf16) == 6);
  CHECK(doc.position_of(3, position_encoding::utf16) == position{0, 2});  // inside "\r\n"
  CHECK(doc.line_before(5) == "c");
  CHECK(doc.line_after(5) == "d");
  CHECK(doc.line_after(2).empty());
}

TEST_CASE("incremental changes yield byte edits relative to the text before each", "[lsp][document]") {
  document doc("cpp", "hello\nw" + emoji + "rld\n", 1);
  auto a = doc.apply(change(1, 3, 1, 3, "o"), position_encoding::utf16);  // after the emoji
  CHECK(a.edit.start == 6 + 5);
  CHECK(a.edit.end == 6 + 5);
  CHECK(!a.clamped);
  CHECK(doc.text() == "hello\nw" + emoji + "orld\n");
  auto b = doc.apply(change(0, 0, 1, 1, ""), position_encoding::utf16);
  CHECK(b.edit.start == 0);
  CHECK(b.edit.end == 7);
  CHECK(doc.text() == emoji + "orld\n");
  auto c = doc.apply(change(0, 0, 0, 2, "\r\n"), position_encoding::utf16);  // replace the whole emoji
  CHECK(c.edit.end == 4);
  CHECK(doc.text() == "\r\norld\n");
  CHECK(doc.line_count() == 3);
}

TEST_CASE("a full change replaces everything with one edit", "[lsp][document]") {
  document doc("cpp", "old text", 1);
  auto a = doc.apply({std::nullopt, "new\ntext"}, position_encoding::utf16);
  CHECK(a.edit.start == 0);
  CHECK(a.edit.end == 8);
  CHECK(a.edit.text == "new\ntext");
  CHECK(doc.line_count() == 2);
}

TEST_CASE("ranges past the end are clamped and reported; reversed ranges are reordered", "[lsp][document]") {
  document doc("cpp", "ab\ncd", 1);
  auto a = doc.apply(change(1, 1, 9, 0, "X"), position_encoding::utf16);
  CHECK(a.clamped);
  CHECK(doc.text() == "ab\ncX");
  auto b = doc.apply(change(0, 2, 0, 0, ""), position_encoding::utf16);
  CHECK(b.clamped);
  CHECK(doc.text() == "\ncX");
  auto c = doc.apply(change(0, 50, 0, 50, "y"), position_encoding::utf16);  // past the line end is fine
  CHECK(!c.clamped);
  CHECK(doc.text() == "y\ncX");
}

TEST_CASE("random edits through positions agree with edits on the bytes", "[lsp][document]") {
  std::mt19937 rng(99);
  const std::vector<std::string> pieces = {"a", "\n", "\r\n", "\r", emoji, cjk, "()", " "};
  for (auto encoding : {position_encoding::utf8, position_encoding::utf16, position_encoding::utf32}) {
    document doc("cpp", "", 1);
    std::string mirror;
    for (int step = 0; step < 2000; ++step) {
      // Pick two character boundaries, turn them into positions, edit through them.
      std::size_t a = floor_to_char_boundary(mirror, mirror.empty() ? 0 : rng() % (mirror.size() + 1));
      std::size_t b = floor_to_char_boundary(mirror, std::min(mirror.size(), a + rng() % 8));
      // Offsets between '\r' and '\n' have no position of their own.
      if (a > 0 && a < mirror.size() && mirror[a - 1] == '\r' && mirror[a] == '\n') --a;
      if (b > 0 && b < mirror.size() && mirror[b - 1] == '\r' && mirror[b] == '\n') ++b;
      std::string insert;
      for (std::size_t k = rng() % 3; k > 0; --k) insert += pieces[rng() % pieces.size()];
      position pa = doc.position_of(a, encoding), pb = doc.position_of(b, encoding);
      REQUIRE(doc.offset_of(pa, encoding) == a);
      REQUIRE(doc.offset_of(pb, encoding) == b);
      auto applied = doc.apply(change(pa.line, pa.character, pb.line, pb.character, insert), encoding);
      REQUIRE(applied.edit.start == a);
      REQUIRE(applied.edit.end == b);
      mirror.replace(a, b - a, insert);
      REQUIRE(doc.text() == mirror);
    }
  }
}

TEST_CASE("a keystroke in a 1 MB document costs microseconds", "[lsp][document][perf]") {
  std::string line = "    int value_" + std::string(20, 'x') + " = compute(a, b) + 42;  // comment\n";
  std::string text;
  while (text.size() < (1u << 20)) text += line;
  document doc("cpp", text, 1);
  auto lines = static_cast<std::uint32_t>(doc.line_count());

  auto time_keystrokes = [&](std::uint32_t at_line) {
    constexpr int n = 2000;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      auto c = static_cast<std::uint32_t>(4 + i % 2);
      doc.apply(change(at_line, c, at_line, c, "y"), position_encoding::utf16);          // type
      doc.apply(change(at_line, c, at_line, c + 1, ""), position_encoding::utf16);       // and delete it
    }
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / (2 * n);
  };
  double at_end = time_keystrokes(lines - 2);
  double at_middle = time_keystrokes(lines / 2);
  double at_start = time_keystrokes(0);
  WARN("1 MB document, " << lines << " lines; microseconds per edit: end " << at_end << ", middle " << at_middle
                         << ", start " << at_start);
  CHECK(doc.text() == text);
}
