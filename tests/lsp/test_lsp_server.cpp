// The LSP server in-process with the fake service: lifecycle, every method, every error code,
// documents, completion, cancellation, configuration, trace, logging and progress.
#include "lsp/support/server_fixture.hpp"

#include <catch2/catch.hpp>

using namespace rwkv::test;
using rwkv::lsp::position_encoding;

namespace {

const std::string uri = "file:///src/main.cpp";
const std::string emoji = "\xF0\x9F\x98\x80";

int error_code_of(const json& response) {
  REQUIRE(response.contains("error"));
  return response["error"]["code"].get<int>();
}

json inline_params(const std::string& u, int line, int character, int trigger = 2) {
  return {{"textDocument", {{"uri", u}}}, {"position", position_json(line, character)}, {"context", {{"triggerKind", trigger}}}};
}

json completion_params(const std::string& u, int line, int character) {
  return {{"textDocument", {{"uri", u}}}, {"position", position_json(line, character)}, {"context", {{"triggerKind", 1}}}};
}

}  // namespace

// ---- Lifecycle -------------------------------------------------------------------------------

TEST_CASE("requests before initialize get -32002 and notifications are dropped", "[lsp][server][lifecycle]") {
  server_fixture f;
  CHECK(error_code_of(f.call(1, "textDocument/completion", completion_params(uri, 0, 0))) == -32002);
  CHECK(error_code_of(f.call(2, "rwkv/status")) == -32002);
  CHECK(error_code_of(f.call(3, "shutdown")) == -32002);
  CHECK(error_code_of(f.call(4, "$/unknown")) == -32002);
  f.open(uri, "text");
  f.notify("initialized", json::object());
  CHECK(f.service.calls().empty());
  CHECK(f.sent().size() == 4);  // only the four errors: nothing answers a notification
  // The server still initializes afterwards.
  CHECK(f.initialize().contains("capabilities"));
}

TEST_CASE("initialize answers capabilities, serverInfo and the negotiated position encoding", "[lsp][server][lifecycle]") {
  SECTION("utf-16 when the client says nothing") {
    server_fixture f;
    json result = f.initialize();
    CHECK(result["capabilities"]["positionEncoding"] == "utf-16");
    CHECK(result["capabilities"]["inlineCompletionProvider"] == true);
    CHECK(result["capabilities"]["textDocumentSync"]["change"] == 2);
    CHECK(result["capabilities"]["completionProvider"]["triggerCharacters"].size() > 3);
    CHECK(result["serverInfo"]["name"] == "rwkv-lsp");
    CHECK(result["serverInfo"]["version"] == rwkv::lsp::server_version());
    CHECK(f.server->encoding() == position_encoding::utf16);
  }
  SECTION("utf-8 when offered, whatever the client's order") {
    server_fixture f;
    json result = f.initialize({{"general", {{"positionEncodings", {"utf-16", "utf-8"}}}}});
    CHECK(result["capabilities"]["positionEncoding"] == "utf-8");
  }
  SECTION("utf-16 when only utf-32 and utf-16 are offered") {
    server_fixture f;
    json result = f.initialize({{"general", {{"positionEncodings", {"utf-32", "utf-16"}}}}});
    CHECK(result["capabilities"]["positionEncoding"] == "utf-16");
  }
  SECTION("utf-32 when a client offers only utf-32") {
    server_fixture f;
    json result = f.initialize({{"general", {{"positionEncodings", {"utf-32"}}}}});
    CHECK(result["capabilities"]["positionEncoding"] == "utf-32");
    CHECK(f.server->encoding() == position_encoding::utf32);
  }
  SECTION("a second initialize is an invalid request") {
    server_fixture f;
    f.initialize();
    CHECK(error_code_of(f.call(2, "initialize", {{"capabilities", json::object()}})) == -32600);
  }
  SECTION("wrong params are -32602 and leave the server uninitialized") {
    server_fixture f;
    json response = f.call(1, "initialize", {{"capabilities", {{"general", {{"positionEncodings", "utf-8"}}}}}});
    CHECK(error_code_of(response) == -32602);
    CHECK(response["error"]["message"].get<std::string>().find("capabilities.general.positionEncodings") !=
          std::string::npos);
    CHECK(error_code_of(f.call(2, "rwkv/status")) == -32002);
    CHECK(f.initialize().contains("capabilities"));
  }
}

TEST_CASE("shutdown then exit ends with exit code 0", "[lsp][server][lifecycle]") {
  server_fixture f;
  f.initialize();
  json response = f.call(9, "shutdown");
  CHECK(response["result"].is_null());
  CHECK(f.service.shutdown_calls() == 1);
  // After shutdown: requests are invalid, notifications dropped.
  CHECK(error_code_of(f.call(10, "textDocument/completion", completion_params(uri, 0, 0))) == -32600);
  CHECK(error_code_of(f.call(11, "shutdown")) == -32600);
  f.open(uri, "x");
  CHECK(f.service.calls().empty());
  CHECK_FALSE(f.send(make_notification("exit")));
  CHECK(f.server->exit_received());
  CHECK(f.server->exit_code() == 0);
}

TEST_CASE("exit without shutdown ends with exit code 1", "[lsp][server][lifecycle]") {
  SECTION("after initialize") {
    server_fixture f;
    f.initialize();
    CHECK_FALSE(f.send(make_notification("exit")));
    CHECK(f.server->exit_code() == 1);
  }
  SECTION("before initialize: exit is the one notification that counts") {
    server_fixture f;
    CHECK_FALSE(f.send(make_notification("exit")));
    CHECK(f.server->exit_code() == 1);
  }
}

// ---- Error codes -----------------------------------------------------------------------------

TEST_CASE("every JSON-RPC error code is produced where it should be", "[lsp][server][errors]") {
  server_fixture f;
  f.initialize();
  f.open(uri, "int main() {}\n");

  SECTION("-32700 for invalid JSON and invalid UTF-8, with id null") {
    f.send_raw("{\"jsonrpc\": \"2.0\", \"id\": 5, ");
    f.send_raw("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"rwkv/status\",\"params\":{\"x\":\"\xC3\x28\"}}");
    auto sent = f.sent();
    std::vector<json> errors;
    for (auto& m : sent)
      if (m.contains("error")) errors.push_back(m);
    REQUIRE(errors.size() == 2);
    for (auto& e : errors) {
      CHECK(e["error"]["code"] == -32700);
      CHECK(e["id"].is_null());
    }
  }
  SECTION("-32600 for a batch, with id null") {
    f.send(json::array({make_request(1, "rwkv/status"), make_request(2, "rwkv/status")}));
    auto last = f.sent().back();
    CHECK(last["error"]["code"] == -32600);
    CHECK(last["id"].is_null());
    CHECK(f.response_to(1) == std::nullopt);
  }
  SECTION("-32600 for a broken envelope") {
    f.send(json{{"id", 3}, {"method", "rwkv/status"}});
    CHECK(error_code_of(*f.response_to(3)) == -32600);
    f.send(json{{"jsonrpc", "2.0"}, {"id", 1.5}, {"method", "rwkv/status"}});
    CHECK(f.sent().back()["error"]["code"] == -32600);
    CHECK(f.sent().back()["id"].is_null());
  }
  SECTION("-32601 for unknown and $/ requests") {
    CHECK(error_code_of(f.call(4, "textDocument/hover", inline_params(uri, 0, 0))) == -32601);
    CHECK(error_code_of(f.call(5, "$/cancelRequest", {{"id", 1}})) == -32601);
    CHECK(error_code_of(f.call(6, "$/anything")) == -32601);
  }
  SECTION("-32602 naming the field") {
    json params = inline_params(uri, 0, 0);
    params["position"]["line"] = "zero";
    json response = f.call(7, "textDocument/inlineCompletion", params);
    CHECK(error_code_of(response) == -32602);
    CHECK(response["error"]["message"] == "position.line: expected a non-negative integer");
  }
  SECTION("-32602 for a line past the end and for a document that is not open") {
    json past = f.call(8, "textDocument/inlineCompletion", inline_params(uri, 2, 0));
    CHECK(error_code_of(past) == -32602);
    CHECK(past["error"]["message"].get<std::string>().find("past the end") != std::string::npos);
    CHECK(error_code_of(f.call(9, "textDocument/completion", completion_params("file:///nope", 0, 0))) == -32602);
  }
  SECTION("-32803 when the service fails") {
    f.service.set_mode(fake_service::mode::fail);
    json response = f.call(10, "textDocument/inlineCompletion", inline_params(uri, 0, 4));
    CHECK(error_code_of(response) == -32803);
    CHECK(response["error"]["message"] == "the fake service was told to fail");
  }
  SECTION("-32600 for an id that is still pending") {
    f.service.set_mode(fake_service::mode::held);
    f.send(make_request(11, "textDocument/inlineCompletion", inline_params(uri, 0, 4)));
    CHECK(error_code_of(f.call(11, "textDocument/inlineCompletion", inline_params(uri, 0, 4))) == -32600);
    f.service.release_held();
  }
  // -32002 and -32800: see the lifecycle and cancellation tests.
}

TEST_CASE("unknown notifications and $/ notifications are ignored", "[lsp][server][errors]") {
  server_fixture f;
  f.initialize();
  std::size_t before = f.sent().size();
  CHECK(f.send(make_notification("workspace/didChangeWatchedFiles", {{"changes", json::array()}})));
  CHECK(f.send(make_notification("$/somethingNew", {{"x", 1}})));
  CHECK(f.send(make_notification("textDocument/didOpen", {{"textDocument", 5}})));  // bad params: logged only
  auto sent = f.sent();
  for (std::size_t i = before; i < sent.size(); ++i) CHECK(sent[i]["method"] == "window/logMessage");
  CHECK(f.service.calls().empty());
}

TEST_CASE("responses from the client are matched or ignored", "[lsp][server][errors]") {
  server_fixture f;
  f.initialize();
  std::size_t before = f.sent().size();
  f.send(json{{"jsonrpc", "2.0"}, {"id", "rwkv-99"}, {"result", nullptr}});
  f.send(json{{"jsonrpc", "2.0"}, {"id", 5}, {"error", {{"code", -1}, {"message", "x"}}}});
  f.send(json{{"jsonrpc", "2.0"}, {"id", 6}, {"result", 1}, {"error", {{"code", -1}}}});  // malformed
  for (std::size_t i = before; i < f.sent().size(); ++i) CHECK(f.sent()[i]["method"] == "window/logMessage");
}

// ---- Documents -------------------------------------------------------------------------------

TEST_CASE("document notifications reach the service as byte edits", "[lsp][server][documents]") {
  server_fixture f;
  f.initialize();  // utf-16
  std::string text = "int a;\r\nauto s = \"" + emoji + "\";\r\n";
  f.open(uri, text);
  CHECK(f.service.text(uri) == text);

  SECTION("incremental changes in utf-16 after an emoji and across CRLF") {
    // Insert after the emoji (utf-16 column 12 on line 1), then join lines 0 and 1.
    f.change(uri, 2, {{{"range", range_json(1, 12, 1, 12)}, {"text", "!"}}, {{"range", range_json(0, 6, 1, 0)}, {"text", " "}}});
    std::string expected = "int a; auto s = \"" + emoji + "!\";\r\n";
    CHECK(f.service.text(uri) == expected);
    CHECK(f.server->find_document(uri)->text() == expected);
    CHECK(f.service.edits_valid());
    CHECK(f.service.calls().back() == "change " + uri + " 2");
  }
  SECTION("full sync") {
    f.change(uri, 2, {{{"text", "replaced\n"}}});
    CHECK(f.service.text(uri) == "replaced\n");
  }
  SECTION("a range past the end is clamped and logged, and typing goes on") {
    f.change(uri, 2, {{{"range", range_json(9, 0, 9, 0)}, {"text", "// end"}}});
    CHECK(f.service.text(uri) == text + "// end");
    bool logged = false;
    for (auto& m : f.notifications("window/logMessage"))
      logged = logged || m["params"]["message"].get<std::string>().find("clamped") != std::string::npos;
    CHECK(logged);
  }
  SECTION("a malformed change is rejected whole") {
    f.change(uri, 2, {{{"range", range_json(0, 0, 0, 1)}, {"text", "X"}}, {{"range", 5}, {"text", "Y"}}});
    CHECK(f.service.text(uri) == text);
  }
  SECTION("save, close, and changes to closed documents") {
    f.notify("textDocument/didSave", {{"textDocument", {{"uri", uri}}}});
    f.notify("textDocument/didClose", {{"textDocument", {{"uri", uri}}}});
    f.change(uri, 3, {{{"text", "x"}}});
    auto calls = f.service.calls();
    CHECK(calls == std::vector<std::string>{"open " + uri, "save " + uri, "close " + uri});
    CHECK(f.server->open_documents() == 0);
  }
  SECTION("reopening replaces the document") {
    f.open(uri, "new", 5);
    CHECK(f.service.calls() == std::vector<std::string>{"open " + uri, "close " + uri, "open " + uri});
    CHECK(f.server->find_document(uri)->text() == "new");
  }
}

TEST_CASE("positions are converted in the negotiated utf-8 encoding", "[lsp][server][documents]") {
  server_fixture f;
  f.initialize({{"general", {{"positionEncodings", {"utf-8"}}}}});
  f.open(uri, "s = \"" + emoji + "\";\n");
  f.change(uri, 2, {{{"range", range_json(0, 9, 0, 9)}, {"text", "?"}}});  // byte 9: after the emoji
  CHECK(f.service.text(uri) == "s = \"" + emoji + "?\";\n");
  json r = f.call(1, "textDocument/inlineCompletion", inline_params(uri, 0, 10));
  CHECK(f.service.requests().back().offset == 10);
  CHECK(r["result"]["items"][0]["range"]["start"] == position_json(0, 10));
}

// ---- Completion ------------------------------------------------------------------------------

TEST_CASE("inline completion: Invoked asks for several candidates, Automatic for one", "[lsp][server][completion]") {
  server_fixture f;
  f.initialize();
  f.open(uri, "say(\"hel\");\n" + emoji + "x\n");
  f.service.set_canned("hello world\")", 2);  // re-types the `")` after the cursor

  json invoked = f.call(1, "textDocument/inlineCompletion", inline_params(uri, 0, 8, 1));
  auto request = f.service.requests().back();
  CHECK(request.offset == 8);
  CHECK(request.trigger == rwkv::lsp::trigger_kind::invoked);
  CHECK(request.max_candidates == 3);
  auto items = invoked["result"]["items"];
  REQUIRE(items.size() == 3);
  CHECK(items[0]["insertText"] == "lo world\")");
  CHECK(items[0]["range"] == range_json(0, 8, 0, 10));
  CHECK(items[1]["insertText"] == "lo world\")#1");

  json automatic = f.call(2, "textDocument/inlineCompletion", inline_params(uri, 1, 2, 2));
  CHECK(f.service.requests().back().max_candidates == 1);
  CHECK(f.service.requests().back().trigger == rwkv::lsp::trigger_kind::automatic);
  CHECK(f.service.requests().back().offset == 12 + 4);  // after the emoji: utf-16 column 2
  CHECK(automatic["result"]["items"].size() == 1);
  CHECK(automatic["result"]["items"][0]["range"]["start"] == position_json(1, 2));

  // A character past the line end means the line end; the answer uses the clamped position.
  json clamped = f.call(3, "textDocument/inlineCompletion", inline_params(uri, 1, 40));
  CHECK(f.service.requests().back().offset == 12 + 5);
  CHECK(clamped["result"]["items"][0]["range"]["start"] == position_json(1, 3));
}

TEST_CASE("textDocument/completion returns one item that survives further typing", "[lsp][server][completion]") {
  server_fixture f;
  f.initialize();
  f.open(uri, "  auto total = comp\n");
  f.service.set_canned("compute(values);");
  json r = f.call(1, "textDocument/completion", completion_params(uri, 0, 19));
  CHECK(r["result"]["isIncomplete"] == true);
  REQUIRE(r["result"]["items"].size() == 1);
  json item = r["result"]["items"][0];
  CHECK(item["label"] == "compute(values);");
  CHECK(item["filterText"] == "compute(values);");
  CHECK(item["textEdit"] == json{{"range", range_json(0, 15, 0, 19)}, {"newText", "compute(values);"}});
  CHECK(item["insertTextFormat"] == 1);
  CHECK(f.service.requests().back().max_candidates == 1);
}

TEST_CASE("rwkv/status returns the service's status", "[lsp][server][completion]") {
  server_fixture f;
  f.initialize();
  f.open(uri, "abc");
  json r = f.call(1, "rwkv/status");
  CHECK(r["result"]["backend"] == "fake");
  CHECK(r["result"]["documents"][uri]["bytes"] == 3);
  CHECK(r["result"]["lsp"]["openDocuments"] == 1);
}

// ---- Cancellation ----------------------------------------------------------------------------

TEST_CASE("a cancelled request is answered with -32800, never dropped", "[lsp][server][cancel]") {
  server_fixture f(fake_service::mode::held);
  f.initialize();
  f.open(uri, "int x");
  f.send(make_request("a", "textDocument/inlineCompletion", inline_params(uri, 0, 5)));
  f.send(make_request("b", "textDocument/completion", completion_params(uri, 0, 5)));
  CHECK(!f.response_to("a"));
  CHECK(f.server->pending_requests() == 2);

  f.notify("$/cancelRequest", {{"id", "a"}});
  CHECK(f.service.requests()[0].cancel->load());
  CHECK(!f.service.requests()[1].cancel->load());
  CHECK(f.service.answer_cancelled() == 1);
  CHECK(error_code_of(*f.response_to("a")) == -32800);
  CHECK(!f.response_to("b"));

  SECTION("a request that finished anyway gets its result") {
    f.notify("$/cancelRequest", {{"id", "b"}});
    f.service.release_held();
    CHECK(f.response_to("b")->contains("result"));
  }
  SECTION("cancelling an unknown or answered id does nothing") {
    f.notify("$/cancelRequest", {{"id", "a"}});
    f.notify("$/cancelRequest", {{"id", 12345}});
    f.service.release_held();
    CHECK(f.response_to("b")->contains("result"));
  }
  SECTION("shutdown answers what is still pending before its own response") {
    json response = f.call(9, "shutdown");
    auto sent = f.sent();
    std::size_t b_at = 0, shutdown_at = 0;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      if (sent[i].value("id", json()) == "b") b_at = i;
      if (sent[i].value("id", json()) == 9) shutdown_at = i;
    }
    CHECK(error_code_of(sent[b_at]) == -32800);
    CHECK(b_at < shutdown_at);
  }
  for (const char* id : {"a", "b"}) {
    int answers = 0;
    for (auto& m : f.sent()) answers += m.value("id", json()) == id;
    CHECK(answers <= 1);
  }
}

TEST_CASE("requests left pending when the server stops are answered", "[lsp][server][cancel]") {
  server_fixture f(fake_service::mode::held);
  f.initialize();
  f.open(uri, "x");
  f.send(make_request(1, "textDocument/inlineCompletion", inline_params(uri, 0, 1)));
  f.server->finish(rwkv::lsp::transport_status::closed);
  CHECK(error_code_of(*f.response_to(1)) == -32800);
  CHECK(f.server->pending_requests() == 0);
  CHECK(f.server->exit_code() == 1);
}

// ---- Configuration ---------------------------------------------------------------------------

TEST_CASE("initializationOptions override the command-line settings before initialize is answered", "[lsp][server][config]") {
  auto options = quiet_options();
  options.default_settings = {{"model", "cli.pth"}, {"threads", 2}, {"sampling", {{"topP", 0.9}, {"temperature", 0.2}}}};
  SECTION("merged key by key") {
    server_fixture f(fake_service::mode::immediate, options);
    f.initialize(json::object(), {{"threads", 8}, {"sampling", {{"temperature", 0.5}}}});
    auto calls = f.service.configure_calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0] == json{{"model", "cli.pth"}, {"threads", 8}, {"sampling", {{"topP", 0.9}, {"temperature", 0.5}}}});
  }
  SECTION("bad initializationOptions: a showMessage error, then the command-line settings alone") {
    server_fixture f(fake_service::mode::immediate, options);
    f.initialize(json::object(), {{"threads", 0}});
    auto shown = f.notifications("window/showMessage");
    REQUIRE(shown.size() == 1);
    CHECK(shown[0]["params"]["type"] == 1);
    CHECK(shown[0]["params"]["message"].get<std::string>().find("threads") != std::string::npos);
    auto calls = f.service.configure_calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[1] == options.default_settings);
    CHECK(f.service.settings()["threads"] == 2);
    // The message came before the initialize response.
    auto sent = f.sent();
    CHECK(sent[0]["method"] == "window/showMessage");
  }
}

TEST_CASE("didChangeConfiguration accepts settings.rwkv, settings[\"rwkv-lsp\"] or top-level", "[lsp][server][config]") {
  server_fixture f;
  f.initialize();
  f.notify("workspace/didChangeConfiguration", {{"settings", {{"rwkv", {{"threads", 4}}}, {"python", {{"x", 1}}}}}});
  CHECK(f.service.configure_calls().back() == json{{"threads", 4}});
  f.notify("workspace/didChangeConfiguration", {{"settings", {{"rwkv-lsp", {{"model", "b.pth"}}}}}});
  CHECK(f.service.configure_calls().back() == json{{"model", "b.pth"}});
  f.notify("workspace/didChangeConfiguration", {{"settings", {{"maxTokens", 32}}}});
  CHECK(f.service.configure_calls().back() == json{{"maxTokens", 32}});
  std::size_t calls = f.service.configure_calls().size();
  f.notify("workspace/didChangeConfiguration", {{"settings", nullptr}});  // pull-model clients
  CHECK(f.service.configure_calls().size() == calls);
}

TEST_CASE("bad settings show a message and the server keeps working", "[lsp][server][config]") {
  server_fixture f;
  f.initialize();
  f.open(uri, "he");
  f.notify("workspace/didChangeConfiguration", {{"settings", {{"rwkv", {{"threads", "many"}}}}}});
  auto shown = f.notifications("window/showMessage");
  REQUIRE(shown.size() == 1);
  CHECK(shown[0]["params"]["type"] == 1);
  CHECK(shown[0]["params"]["message"].get<std::string>().find("keeping the previous settings") != std::string::npos);
  json r = f.call(1, "textDocument/inlineCompletion", inline_params(uri, 0, 2));
  CHECK(r["result"]["items"][0]["insertText"] == "llo world");
}

// ---- Trace, logging, progress ----------------------------------------------------------------

TEST_CASE("$/setTrace decides which log messages reach the client", "[lsp][server][trace]") {
  server_fixture f;
  f.initialize();
  auto log_count = [&] { return f.notifications("window/logMessage").size(); };
  f.service.emit_log_message(3, "info line");
  f.service.emit_log_message(2, "warning line");
  CHECK(log_count() == 1);  // off: warnings and errors only
  f.notify("$/setTrace", {{"value", "messages"}});
  f.service.emit_log_message(3, "info line");
  f.service.emit_log_message(4, "debug line");
  CHECK(log_count() == 2);
  f.notify("$/setTrace", {{"value", "verbose"}});
  std::size_t before = log_count();
  f.call(1, "rwkv/status");
  CHECK(log_count() > before);  // one line per incoming message
  f.notify("$/setTrace", {{"value", "loud"}});  // invalid: a warning, trace unchanged
  CHECK(f.notifications("window/logMessage").back()["params"]["type"] == 2);
}

TEST_CASE("the service's messages reach the client", "[lsp][server][trace]") {
  server_fixture f;
  f.initialize();
  f.service.emit_show_message(2, "model is large");
  auto shown = f.notifications("window/showMessage");
  REQUIRE(shown.size() == 1);
  CHECK(shown[0]["params"] == json{{"type", 2}, {"message", "model is large"}});
}

TEST_CASE("progress goes through window/workDoneProgress/create when the client supports it", "[lsp][server][progress]") {
  SECTION("created, held until the client answers, then sent in order") {
    server_fixture f;
    f.initialize({{"window", {{"workDoneProgress", true}}}});
    f.service.emit_progress("open:1", "begin", "Reading main.cpp", 0);
    f.service.emit_progress("open:1", "report", "", 50);
    auto creates = f.requests_from_server("window/workDoneProgress/create");
    REQUIRE(creates.size() == 1);
    CHECK(creates[0]["params"]["token"] == "open:1");
    CHECK(f.notifications("$/progress").empty());
    f.send(json{{"jsonrpc", "2.0"}, {"id", creates[0]["id"]}, {"result", nullptr}});
    f.service.emit_progress("open:1", "end", "done", -1);
    auto progress = f.notifications("$/progress");
    REQUIRE(progress.size() == 3);
    CHECK(progress[0]["params"]["value"] ==
          json{{"kind", "begin"}, {"title", "Reading main.cpp"}, {"percentage", 0}, {"cancellable", false}});
    CHECK(progress[1]["params"]["value"] == json{{"kind", "report"}, {"percentage", 50}});
    CHECK(progress[2]["params"]["value"] == json{{"kind", "end"}, {"message", "done"}});
    f.service.emit_progress("open:1", "report", "", 60);  // ended: dropped
    CHECK(f.notifications("$/progress").size() == 3);
  }
  SECTION("dropped when the client refuses the token") {
    server_fixture f;
    f.initialize({{"window", {{"workDoneProgress", true}}}});
    f.service.emit_progress("t", "begin", "Work", -1);
    auto create = f.requests_from_server("window/workDoneProgress/create").at(0);
    f.send(json{{"jsonrpc", "2.0"}, {"id", create["id"]}, {"error", {{"code", -32603}, {"message", "no"}}}});
    f.service.emit_progress("t", "report", "", 10);
    CHECK(f.notifications("$/progress").empty());
  }
  SECTION("nothing at all without the capability") {
    server_fixture f;
    f.initialize();
    f.service.emit_progress("t", "begin", "Work", -1);
    CHECK(f.requests_from_server("window/workDoneProgress/create").empty());
    CHECK(f.notifications("$/progress").empty());
  }
  SECTION("progress begun while initializing waits for the initialize response") {
    server_fixture f;
    f.initialize({{"window", {{"workDoneProgress", true}}}}, {{"fakeProgress", "load"}});
    auto sent = f.sent();
    std::size_t response_at = sent.size(), create_at = sent.size();
    for (std::size_t i = 0; i < sent.size(); ++i) {
      if (sent[i].value("id", json()) == "init") response_at = i;
      if (sent[i].value("method", "") == "window/workDoneProgress/create") create_at = i;
    }
    REQUIRE(create_at < sent.size());
    CHECK(response_at < create_at);
  }
}
