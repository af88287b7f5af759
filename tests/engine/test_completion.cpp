// The rules that turn generated text into an insertable suggestion.
#include "engine/completion.hpp"

#include <catch2/catch.hpp>

using namespace rwkv::engine;

namespace {

suggestion finish(const std::string& doc_with_cursor, std::string generated, int max_lines = 8) {
  auto pos = doc_with_cursor.find('|');
  std::string doc = doc_with_cursor;
  doc.erase(pos, 1);
  static std::string keep;
  keep = doc;
  auto where = cursor_context::at(keep, pos);
  return finish_suggestion(std::move(generated), where, mode_for(where), max_lines);
}

}  // namespace

TEST_CASE("the mode follows what is after the cursor", "[engine][completion]") {
  auto mode = [](std::string doc) {
    auto pos = doc.find('|');
    doc.erase(pos, 1);
    static std::string keep;
    keep = doc;
    return mode_for(cursor_context::at(keep, pos));
  };
  CHECK(mode("int x = |\n") == completion_mode::multi_line);
  CHECK(mode("int x = |   \nfoo") == completion_mode::multi_line);
  CHECK(mode("f(|)") == completion_mode::single_line);
  CHECK(mode("f(\"|\");") == completion_mode::single_line);
  CHECK(mode("f(|x)") == completion_mode::none);
  CHECK(mode("|") == completion_mode::multi_line);
  CHECK(mode("a\r\nb|\r\nc") == completion_mode::multi_line);
}

TEST_CASE("single-line suggestions stop at the line end and trim the overlap", "[engine][completion]") {
  CHECK(finish("foo(|)\n", "a, b)\nnext").text == "a, b");
  CHECK(finish("foo(|);\n", "a);").text == "a");
  CHECK(finish("foo(|);\n", "a)").text == "a");
  auto re = finish("if (|)\n", "x) {");
  CHECK(re.text == "x) {");
  CHECK(re.replace_after == 1);
  CHECK(finish("foo(|)\n", ")").text.empty());
  CHECK(finish("foo(|)\n", "   ").text.empty());
}

TEST_CASE("multi-line suggestions end with the block", "[engine][completion]") {
  const std::string doc = "int f() {\n    int a = 1;\n    |\n}\n";
  auto s = finish(doc, "return a;\n}\n\nint g() {");
  CHECK(s.text == "return a;");
  s = finish(doc, "a += 2;\n    return a;\n}");
  CHECK(s.text == "a += 2;\n    return a;");
  s = finish(doc, "if (a) {\n        a = 0;\n    }\n    return a;\n}", 3);
  CHECK(s.text == "if (a) {\n        a = 0;\n    }");
}

TEST_CASE("multi-line suggestions do not repeat the lines after the cursor", "[engine][completion]") {
  const std::string doc = "def f(x):\n    |\n    return y\n";
  auto s = finish(doc, "y = x * 2\n    return y");
  CHECK(s.text == "y = x * 2");
}

TEST_CASE("whitespace-only suggestions are dropped", "[engine][completion]") {
  CHECK(finish("x = 1|\n", "\n\n   \n").text.empty());
  CHECK(finish("x = 1|", "").text.empty());
}

TEST_CASE("a line that loops on a short pattern is dropped", "[engine][completion]") {
  CHECK(degenerate_line_start("i++ {\n    if (x == 0x000000000000000000") == 6);
  CHECK(degenerate_line_start(", self, self, self, self, self") == 0);
  CHECK(degenerate_line_start("return a + b;") == std::string_view::npos);
  CHECK(degenerate_line_start("x\n                        ") == std::string_view::npos);  // indentation
  CHECK(degenerate_line_start("abcdefghijklmnopqrstuvwxyz") == std::string_view::npos);
}
