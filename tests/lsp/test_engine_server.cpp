// The real language server on the real engine: in-process with deterministic scheduling, and as
// the rwkv-lsp executable over pipes.
#include "lsp/engine_service.hpp"
#include "lsp/lsp_server.hpp"
#include "lsp/memory_transport.hpp"
#include "lsp/support/child_server.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

using json = nlohmann::json;
using namespace rwkv;

namespace {

const std::string uri = "file:///project/src/add.cpp";

lsp::server_options quiet() {
  lsp::server_options o;
  o.stderr_log_level = 0;
  return o;
}

// A server whose inference runs only inside call(): every answer is deterministic.
class engine_fixture {
 public:
  explicit engine_fixture(json init_options) : service(make_options()), server(transport, service, quiet()) {
    auto r = call("initialize", {{"processId", nullptr}, {"capabilities", json::object()},
                                 {"initializationOptions", std::move(init_options)}});
    REQUIRE(r.contains("result"));
    notify("initialized", json::object());
  }
  ~engine_fixture() { server.finish(lsp::transport_status::closed); }

  json call(const std::string& method, json params) {
    json id = next_id_++;
    server.on_message(test::rpc_request(id, method, std::move(params)).dump());
    service.run_pending();
    for (const auto& body : transport.sent()) {
      auto m = json::parse(body);
      if (!m.contains("method") && m.value("id", json()) == id) return m;
    }
    FAIL("no response to " << method);
    return {};
  }
  void notify(const std::string& method, json params) {
    server.on_message(test::rpc_notification(method, std::move(params)).dump());
    service.run_pending();
  }
  void open(const std::string& text) {
    notify("textDocument/didOpen",
           {{"textDocument", {{"uri", uri}, {"languageId", "cpp"}, {"version", 1}, {"text", text}}}});
  }
  void insert(int line, int character, const std::string& text) {
    json pos = {{"line", line}, {"character", character}};
    json change = {{"range", {{"start", pos}, {"end", pos}}}, {"text", text}};
    notify("textDocument/didChange", {{"textDocument", {{"uri", uri}, {"version", ++version_}}},
                                      {"contentChanges", json::array({change})}});
  }
  // Whether a window/showMessage sent so far contains `text`.
  bool told(const std::string& text) const {
    for (const auto& body : transport.sent()) {
      auto m = json::parse(body);
      if (m.value("method", "") == "window/showMessage" &&
          m["params"]["message"].get<std::string>().find(text) != std::string::npos)
        return true;
    }
    return false;
  }
  std::vector<std::string> inline_items(int line, int character) {
    auto r = call("textDocument/inlineCompletion",
                  {{"textDocument", {{"uri", uri}}},
                   {"position", {{"line", line}, {"character", character}}},
                   {"context", {{"triggerKind", 1}}}});
    REQUIRE(r.contains("result"));
    std::vector<std::string> out;
    for (const auto& item : r["result"]["items"]) out.push_back(item["insertText"].get<std::string>());
    return out;
  }

  lsp::memory_transport transport;
  lsp::engine_service service;
  lsp::lsp_server server;

 private:
  static lsp::engine_service::options make_options() {
    lsp::engine_service::options o;
    o.mode = lsp::scheduler::mode::manual;
    return o;
  }
  int next_id_ = 1;
  int version_ = 1;
};

}  // namespace

namespace {

void edit_above_equals_fresh(const json& options) {
  engine_fixture a(options);
  a.open("int add(int a, int b) {\n    return a");
  const std::string typed = " + b; // sum";
  for (std::size_t i = 0; i < typed.size(); ++i) a.insert(1, static_cast<int>(12 + i), typed.substr(i, 1));
  const int end_col = static_cast<int>(12 + typed.size());
  auto first = a.inline_items(1, end_col);

  a.insert(0, 0, "// adds two numbers\n");
  auto second = a.inline_items(2, end_col);
  CHECK_FALSE(first.empty());
  CHECK_FALSE(second.empty());

  engine_fixture fresh(options);
  fresh.open("// adds two numbers\nint add(int a, int b) {\n    return a + b; // sum");
  CHECK(fresh.inline_items(2, end_col) == second);

  engine_fixture fresh_before(options);
  fresh_before.open("int add(int a, int b) {\n    return a + b; // sum");
  CHECK(fresh_before.inline_items(1, end_col) == first);

  auto status = a.call("rwkv/status", json::object());
  REQUIRE(status.contains("result"));
  const auto& s = status["result"];
  CHECK(s["model"]["version"] == "7");
  CHECK(s["documents"][0]["tokens"].get<int>() > 40);
  CHECK(s["documents"][0]["checkpoints"].get<int>() > 0);
  CHECK(s["lastCompletion"]["tokensRefed"].get<int>() >= 0);
}

}  // namespace

TEST_CASE("typing, an edit above the cursor and completing again equal a fresh server", "[lsp][engine]") {
  RWKV_REQUIRE_SHARED(model, "golden/v7-small.pth");
  edit_above_equals_fresh({{"model", model}, {"vocab", "bytes"}, {"precision", "exact"}, {"checkpointSpacing", 16},
                           {"maxTokens", 24}});
}

TEST_CASE("the same with rwkv.cpp's trained tiny model in both precisions", "[lsp][engine]") {
  RWKV_REQUIRE_SHARED(model, "rwkvcpp/tiny-rwkv-7v0-834K-FP16.bin");
  for (const char* precision : {"exact", "fast"})
    edit_above_equals_fresh({{"model", model}, {"precision", precision}, {"checkpointSpacing", 16}, {"maxTokens", 24}});
}

TEST_CASE("a model that cannot be loaded is reported and the server keeps answering", "[lsp][engine]") {
  engine_fixture a(json{{"model", "/nonexistent/model.pth"}});
  a.open("int x = ");
  auto r = a.call("textDocument/inlineCompletion",
                  {{"textDocument", {{"uri", uri}}}, {"position", {{"line", 0}, {"character", 8}}},
                   {"context", {{"triggerKind", 2}}}});
  CHECK(r.contains("result") != r.contains("error"));
  CHECK(a.told("/nonexistent/model.pth"));
  auto bad = a.call("workspace/didChangeConfiguration", {{"settings", {{"maxTokens", "many"}}}});
  (void)bad;
}

TEST_CASE("the weights setting re-encodes the model's matrices at load, and a bad value keeps the last", "[lsp][engine]") {
  RWKV_REQUIRE_SHARED(model, "golden/v7-small.pth");
  engine_fixture a(json{{"model", model}, {"vocab", "bytes"}, {"weights", "q8_0"}});
  a.open("int x = ");
  auto status = [&] { return a.call("rwkv/status", json::object())["result"]; };
  CHECK(status()["model"]["weights"] == "q8_0");
  CHECK(a.inline_items(0, 8).size() >= 1);

  a.notify("workspace/didChangeConfiguration", {{"settings", {{"weights", "bf16"}}}});
  CHECK(status()["model"]["weights"] == "bf16");
  CHECK(status()["settings"]["weights"] == "bf16");

  // A K-quant is produced at load too (rows of 256 and more: here the 512-wide ffn.value).
  a.notify("workspace/didChangeConfiguration", {{"settings", {{"weights", "q6_k"}}}});
  CHECK_FALSE(a.told("\"weights\""));
  CHECK(status()["settings"]["weights"] == "q6_k");
  CHECK(a.inline_items(0, 8).size() >= 1);
  a.notify("workspace/didChangeConfiguration", {{"settings", {{"weights", "bf16"}}}});

  // Names that are no type at all.
  for (const char* bad : {"q7_k", "int3"}) {
    a.notify("workspace/didChangeConfiguration", {{"settings", {{"weights", bad}}}});
    CHECK(a.told("\"weights\""));
    CHECK(status()["model"]["weights"] == "bf16");
  }
  a.notify("workspace/didChangeConfiguration", {{"settings", {{"weights", "stored"}}}});
  CHECK(status()["model"]["weights"] == "f32");
  CHECK(a.inline_items(0, 8).size() >= 1);
}

TEST_CASE("rwkv-lsp serves completions over pipes with a real model", "[lsp][engine][subprocess]") {
  RWKV_REQUIRE_SHARED(model, "golden/v6-small.pth");
  test::child_server server(RWKV_LSP_SERVER, {"serve", "--model", model, "--vocab", "bytes", "--threads", "2"});
  server.send(test::rpc_request(1, "initialize", {{"processId", nullptr}, {"capabilities", json::object()}}));
  auto init = server.response(1);
  REQUIRE(init);
  CHECK((*init)["result"]["serverInfo"]["name"] == "rwkv-lsp");
  CHECK((*init)["result"]["capabilities"].contains("inlineCompletionProvider"));
  server.send(test::rpc_notification("initialized", json::object()));
  server.send(test::rpc_notification(
      "textDocument/didOpen",
      {{"textDocument", {{"uri", uri}, {"languageId", "cpp"}, {"version", 1}, {"text", "int main() {\n    retu"}}}}));
  server.send(test::rpc_request(2, "textDocument/inlineCompletion",
                                {{"textDocument", {{"uri", uri}}},
                                 {"position", {{"line", 1}, {"character", 8}}},
                                 {"context", {{"triggerKind", 1}}}}));
  auto completion = server.response(2, std::chrono::seconds(60));
  REQUIRE(completion);
  CHECK((*completion).contains("result"));
  server.send(test::rpc_request(3, "rwkv/status", json::object()));
  auto status = server.response(3);
  REQUIRE(status);
  CHECK((*status)["result"]["model"]["version"] == "6");
  server.send(test::rpc_request(4, "shutdown"));
  REQUIRE(server.response(4));
  server.send(test::rpc_notification("exit"));
  CHECK(server.wait() == 0);
}

TEST_CASE("checkpoint memory stays within the budget, least recently used documents first", "[lsp][engine]") {
  RWKV_REQUIRE_SHARED(model, "golden/v7-small.pth");
  // One state of v7-small is 3 layers x (2*128 + 2*64*64) floats = 101 KB; 1 MB holds about 10.
  engine_fixture a(json{{"model", model}, {"vocab", "bytes"}, {"checkpointSpacing", 32}, {"memoryBudgetMb", 1}});
  std::string text;
  for (int i = 0; i < 60; ++i) text += "line " + std::to_string(i) + " of some text\n";
  for (int d = 0; d < 3; ++d)
    a.notify("textDocument/didOpen", {{"textDocument", {{"uri", "file:///d" + std::to_string(d) + ".txt"},
                                                         {"languageId", "plaintext"}, {"version", 1}, {"text", text}}}});
  auto s = a.call("rwkv/status", json::object())["result"];
  CHECK(s["memory"]["checkpointBytes"].get<std::size_t>() <= s["memory"]["budgetBytes"].get<std::size_t>());
  std::map<std::string, std::size_t> bytes;
  for (const auto& d : s["documents"]) bytes[d["uri"].get<std::string>()] = d["checkpointBytes"].get<std::size_t>();
  CHECK(bytes["file:///d0.txt"] <= bytes["file:///d2.txt"]);  // the oldest gave up memory first

  a.notify("textDocument/didClose", {{"textDocument", {{"uri", "file:///d2.txt"}}}});
  s = a.call("rwkv/status", json::object())["result"];
  CHECK(s["documents"].size() == 2);
}

TEST_CASE("a newer edit cancels a pending completion, which is still answered", "[lsp][engine][subprocess]") {
  RWKV_REQUIRE_SHARED(model, "golden/v7-small.pth");
  test::child_server server(RWKV_LSP_SERVER, {"--model", model, "--vocab", "bytes"});
  server.send(test::rpc_request(1, "initialize", {{"processId", nullptr}, {"capabilities", json::object()}}));
  REQUIRE(server.response(1));
  server.send(test::rpc_notification("initialized", json::object()));
  std::string text;
  for (int i = 0; i < 400; ++i) text += "value_" + std::to_string(i) + " = f(value_" + std::to_string(i) + ");\n";
  server.send(test::rpc_notification(
      "textDocument/didOpen", {{"textDocument", {{"uri", uri}, {"languageId", "cpp"}, {"version", 1}, {"text", text}}}}));
  const json at_end = {{"line", 400}, {"character", 0}};
  for (int id = 2; id < 12; ++id) {
    server.send(test::rpc_request(id, "textDocument/inlineCompletion",
                                  {{"textDocument", {{"uri", uri}}}, {"position", at_end}, {"context", {{"triggerKind", 2}}}}));
    server.send(test::rpc_notification(
        "textDocument/didChange",
        {{"textDocument", {{"uri", uri}, {"version", id}}},
         {"contentChanges", json::array({{{"range", {{"start", at_end}, {"end", at_end}}}, {"text", ""}}})}}));
  }
  server.send(test::rpc_request(12, "textDocument/inlineCompletion",
                                {{"textDocument", {{"uri", uri}}}, {"position", at_end}, {"context", {{"triggerKind", 1}}}}));
  int cancelled = 0, answered = 0;
  for (int id = 2; id <= 12; ++id) {
    auto r = server.response(id, std::chrono::seconds(120));
    REQUIRE(r);  // never dropped
    if (r->contains("error")) {
      CHECK((*r)["error"]["code"] == -32800);
      ++cancelled;
    } else {
      ++answered;
    }
  }
  CHECK(cancelled + answered == 11);
  CHECK(cancelled >= 1);  // the edits made the earlier requests stale
  server.send(test::rpc_request(13, "shutdown"));
  REQUIRE(server.response(13));
  server.send(test::rpc_notification("exit"));
  CHECK(server.wait() == 0);
}
