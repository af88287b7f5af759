// Typed protocol structures: round trips, and -32602 errors that name the offending field.
#include "lsp/protocol.hpp"

#include <catch2/catch.hpp>

using namespace rwkv::lsp;
using json = nlohmann::json;

namespace {

// The message of the protocol_error that parsing `j` as T throws.
template <class T>
std::string error_of(const json& j) {
  try {
    (void)j.get<T>();
  } catch (const protocol_error& e) {
    CHECK(e.code() == error_code::invalid_params);
    return e.what();
  }
  FAIL("no protocol_error for " << j.dump());
  return {};
}

}  // namespace

TEST_CASE("protocol structures survive a round trip through JSON", "[lsp][protocol]") {
  text_document_content_change_event change{range{{1, 2}, {3, 4}}, "x"};
  auto back = json(change).get<text_document_content_change_event>();
  CHECK(back.range == change.range);
  CHECK(back.text == "x");

  inline_completion_params params{{"file:///a.cpp"}, {5, 6}, {inline_invoked}};
  json j = params;
  CHECK(j["context"]["triggerKind"] == 1);
  auto p = j.get<inline_completion_params>();
  CHECK(p.position == position{5, 6});

  completion_item item;
  item.label = "foo";
  item.filter_text = "foo";
  item.text_edit = {range{{0, 1}, {0, 1}}, "foo"};
  json ji = item;
  CHECK(ji["textEdit"]["newText"] == "foo");
  CHECK(ji["insertTextFormat"] == 1);
  CHECK(!ji.contains("detail"));
  CHECK(ji.get<completion_item>().text_edit.new_text == "foo");

  json progress = progress_params{"tok", work_done_progress_begin{"Reading", std::nullopt, 5, false}};
  CHECK(progress["value"]["kind"] == "begin");
  CHECK(progress["value"]["percentage"] == 5);
  CHECK(json(work_done_progress_end{}) == json{{"kind", "end"}});
}

TEST_CASE("wrong types are -32602 errors naming the field by its path", "[lsp][protocol]") {
  json good = {{"textDocument", {{"uri", "file:///a"}}}, {"position", {{"line", 1}, {"character", 2}}},
               {"context", {{"triggerKind", 1}}}};

  CHECK(error_of<inline_completion_params>(nullptr) == "params: expected an object");
  json j = good;
  j["textDocument"]["uri"] = 5;
  CHECK(error_of<inline_completion_params>(j) == "textDocument.uri: expected a string");
  j = good;
  j["position"]["line"] = -1;
  CHECK(error_of<inline_completion_params>(j) == "position.line: expected a non-negative integer");
  j = good;
  j["position"]["character"] = 1.5;
  CHECK(error_of<inline_completion_params>(j) == "position.character: expected a non-negative integer");
  j = good;
  j["position"]["line"] = 5000000000LL;
  CHECK(error_of<inline_completion_params>(j) == "position.line: integer out of range");
  j = good;
  j["position"].erase("line");
  CHECK(error_of<inline_completion_params>(j) == "position.line: missing");
  j = good;
  j["context"]["triggerKind"] = 7;
  CHECK(error_of<inline_completion_params>(j) == "context.triggerKind: expected 1 (Invoked) or 2 (Automatic)");
  j = good;
  j["context"]["triggerKind"] = "1";
  CHECK(error_of<inline_completion_params>(j) == "context.triggerKind: expected an integer");

  json change = {{"textDocument", {{"uri", "u"}, {"version", 2}}},
                 {"contentChanges", {{{"text", "a"}}, {{"range", {{"start", {{"line", 0}}}}}, {"text", "b"}}}}};
  CHECK(error_of<did_change_text_document_params>(change) == "contentChanges[1].range.start.character: missing");
  change["textDocument"]["version"] = nullptr;
  CHECK(error_of<did_change_text_document_params>(change) == "textDocument.version: expected an integer");

  CHECK(error_of<did_open_text_document_params>(json{{"textDocument", {{"uri", "u"}, {"languageId", "c"},
                                                                       {"version", 1}, {"text", true}}}}) ==
        "textDocument.text: expected a string");
  CHECK(error_of<cancel_params>(json{{"id", 1.5}}) == "id: expected an integer or a string");
  CHECK(error_of<set_trace_params>(json{{"value", 1}}) == "value: expected a string");
}

TEST_CASE("optional fields may be absent or null", "[lsp][protocol]") {
  auto p = json{{"textDocument", {{"uri", "u"}}}, {"position", {{"line", 0}, {"character", 0}}}, {"context", nullptr}}
               .get<completion_params>();
  CHECK(!p.context);
  auto c = json{{"text", "all"}, {"range", nullptr}}.get<text_document_content_change_event>();
  CHECK(!c.range);
}

TEST_CASE("initialize params read the capabilities rwkv-lsp acts on", "[lsp][protocol]") {
  json j = {{"processId", 42},
            {"clientInfo", {{"name", "editor"}, {"version", "1.2"}}},
            {"capabilities",
             {{"general", {{"positionEncodings", {"utf-8", "utf-16"}}}},
              {"window", {{"workDoneProgress", true}}},
              {"textDocument", {{"inlineCompletion", json::object()}}}}},
            {"initializationOptions", {{"model", "m.pth"}}},
            {"trace", "verbose"},
            {"rootUri", nullptr}};
  auto p = j.get<initialize_params>();
  CHECK(p.process_id == 42);
  CHECK(p.client_info->name == "editor");
  CHECK(p.position_encodings == std::vector<std::string>{"utf-8", "utf-16"});
  CHECK(p.work_done_progress);
  CHECK(p.initialization_options["model"] == "m.pth");
  CHECK(p.trace == "verbose");

  auto minimal = json{{"processId", nullptr}, {"capabilities", json::object()}}.get<initialize_params>();
  CHECK(minimal.position_encodings.empty());
  CHECK(!minimal.work_done_progress);
  CHECK(minimal.initialization_options.is_null());

  j["capabilities"]["general"]["positionEncodings"] = {"utf-8", 16};
  CHECK(error_of<initialize_params>(j) == "capabilities.general.positionEncodings[1]: expected a string");
  j["capabilities"]["general"] = "x";
  CHECK(error_of<initialize_params>(j) == "capabilities.general: expected an object");
  j["capabilities"].erase("general");
  j["capabilities"]["window"]["workDoneProgress"] = "yes";
  CHECK(error_of<initialize_params>(j) == "capabilities.window.workDoneProgress: expected a boolean");
}

TEST_CASE("the initialize result announces what the server does", "[lsp][protocol]") {
  initialize_result r;
  r.position_encoding = "utf-8";
  r.completion_trigger_characters = {"."};
  r.info = {"rwkv-lsp", "0.1.0"};
  json j = r;
  const json& caps = j["capabilities"];
  CHECK(caps["positionEncoding"] == "utf-8");
  CHECK(caps["textDocumentSync"]["change"] == 2);
  CHECK(caps["textDocumentSync"]["openClose"] == true);
  CHECK(caps["textDocumentSync"]["save"].is_object());
  CHECK(caps["inlineCompletionProvider"] == true);
  CHECK(caps["completionProvider"]["resolveProvider"] == false);
  CHECK(caps["completionProvider"]["triggerCharacters"] == json::array({"."}));
  CHECK(j["serverInfo"] == json{{"name", "rwkv-lsp"}, {"version", "0.1.0"}});
}
