// Building InlineCompletionList and CompletionList from service results.
#include "lsp/completion_format.hpp"

#include <catch2/catch.hpp>

#include <tuple>

using namespace rwkv::lsp;

namespace {

completion_result result_of(std::vector<completion_candidate> items) {
  completion_result r;
  r.items = std::move(items);
  return r;
}

}  // namespace

TEST_CASE("labels are the first non-blank line, trimmed and shortened", "[lsp][format]") {
  CHECK(completion_label("foo(bar);\n  baz();") == "foo(bar);");
  CHECK(completion_label("\n\n   return x;  \n}") == "return x;");
  CHECK(completion_label("   ") == "");
  CHECK(completion_label(std::string(70, 'a')) == std::string(60, 'a') + "\xE2\x80\xA6");
  // Counted in characters: 61 CJK characters are cut after 60 without splitting one.
  std::string cjk;
  for (int i = 0; i < 61; ++i) cjk += "\xE4\xB8\x96";
  CHECK(completion_label(cjk) == cjk.substr(0, 180) + "\xE2\x80\xA6");
}

TEST_CASE("the word before the cursor is identifier characters", "[lsp][format]") {
  CHECK(trailing_word("  int fo") == "fo");
  CHECK(trailing_word("call(") == "");
  CHECK(trailing_word("x.na\xC3\xAF") == "na\xC3\xAF");
  CHECK(trailing_word("a_b9") == "a_b9");
}

TEST_CASE("inline items insert at the cursor and replace the re-typed closing characters", "[lsp][format]") {
  // Cursor after "f(" on line 1, with ")" after it; a line with an emoji before the cursor.
  document doc("cpp", "int x;\n\xF0\x9F\x98\x80 f();\n", 1);
  std::size_t offset = 7 + 4 + 3;  // after "😀 f("
  auto at = snapshot_cursor(doc, offset, position_encoding::utf16);
  CHECK(at.cursor == position{1, 5});
  CHECK(at.line_after == ");");
  CHECK(at.word_before.empty());

  auto list = make_inline_completion_list(result_of({{"a, b)", 1}, {"", 0}, {"c)", 5}}), at);
  REQUIRE(list.items.size() == 2);  // the empty candidate is dropped
  CHECK(list.items[0].insert_text == "a, b)");
  CHECK(list.items[0].range == range{{1, 5}, {1, 6}});
  CHECK(list.items[1].range == range{{1, 5}, {1, 7}});  // replace_after clamped to the line
}

TEST_CASE("the completion item completes the word being typed and keeps matching", "[lsp][format]") {
  document doc("cpp", "  result = comp", 1);
  auto at = snapshot_cursor(doc, 15, position_encoding::utf8);
  auto list = make_completion_list(result_of({{"ute(x);\nreturn result;", 0}, {"other", 0}}), at);
  CHECK(list.is_incomplete);
  REQUIRE(list.items.size() == 1);
  const auto& item = list.items[0];
  CHECK(item.label == "compute(x);");
  CHECK(item.filter_text == "compute(x);\nreturn result;");
  CHECK(item.text_edit.new_text == "compute(x);\nreturn result;");
  CHECK(item.text_edit.range == range{{0, 11}, {0, 15}});  // over "comp"
  CHECK(item.insert_text_format == plain_text_format);
  CHECK(item.documentation.has_value());

  CHECK(make_completion_list(result_of({}), at).items.empty());
}

TEST_CASE("the completion item's word is measured in the client's position units", "[lsp][format]") {
  // "naïve" before the cursor: 5 UTF-16 units, 6 bytes; a closing bracket the suggestion re-types.
  document doc("cpp", "f(na\xC3\xAFve)", 1);
  for (auto [encoding, start, cursor] : {std::tuple{position_encoding::utf16, 2u, 7u}, {position_encoding::utf8, 2u, 8u}}) {
    auto at = snapshot_cursor(doc, 8, encoding);
    CHECK(at.word_before == "na\xC3\xAFve");
    auto list = make_completion_list(result_of({{"_x)", 1}}), at);
    REQUIRE(list.items.size() == 1);
    CHECK(list.items[0].text_edit.new_text == "na\xC3\xAFve_x)");
    CHECK(list.items[0].text_edit.range == range{{0, start}, {0, cursor + 1}});
    CHECK(list.items[0].label == "na\xC3\xAFve_x)");
  }
  // A run of identifier characters longer than a word (minified code, base64) is not repeated.
  document blob("js", "x=" + std::string(5000, 'A'), 1);
  auto at_blob = snapshot_cursor(blob, 5002, position_encoding::utf16);
  CHECK(at_blob.word_before.empty());
  auto blob_list = make_completion_list(result_of({{"==", 0}}), at_blob);
  REQUIRE(blob_list.items.size() == 1);
  CHECK(blob_list.items[0].text_edit.range == range{{0, 5002}, {0, 5002}});
  CHECK(blob_list.items[0].text_edit.new_text == "==");
  // After punctuation there is no word: the edit starts at the cursor.
  document call("cpp", "f(", 1);
  auto list = make_completion_list(result_of({{"x)", 0}}), snapshot_cursor(call, 2, position_encoding::utf16));
  REQUIRE(list.items.size() == 1);
  CHECK(list.items[0].text_edit.range == range{{0, 2}, {0, 2}});
  CHECK(list.items[0].label == "x)");
}
