// rwkv-lsp-fake-server driven over real pipes: the whole stack as an editor runs it.
#include "lsp/framing.hpp"
#include "lsp/support/child_server.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>


#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace lsp = rwkv::lsp;

namespace {

const std::string uri = "file:///w/app.js";

using rwkv::test::child_server;

json request(json id, const std::string& method, json params = nullptr) {
  return rwkv::test::rpc_request(std::move(id), method, std::move(params));
}
json notification(const std::string& method, json params = nullptr) {
  return rwkv::test::rpc_notification(method, std::move(params));
}

void start_session(child_server& server) {
  server.send(request(1, "initialize", {{"processId", nullptr}, {"capabilities", {{"general", {{"positionEncodings", {"utf-16"}}}}}}}));
  auto init = server.response(1);
  REQUIRE(init);
  REQUIRE(init->contains("result"));
  CHECK((*init)["result"]["serverInfo"]["name"] == "rwkv-lsp-fake-server");
  server.send(notification("initialized", json::object()));
  server.send(notification("textDocument/didOpen",
                           {{"textDocument", {{"uri", uri}, {"languageId", "javascript"}, {"version", 1}, {"text", "log('hel"}}}}));
}

json inline_request(json id) {
  return request(std::move(id), "textDocument/inlineCompletion",
                 {{"textDocument", {{"uri", uri}}}, {"position", {{"line", 0}, {"character", 8}}}, {"context", {{"triggerKind", 1}}}});
}

}  // namespace

TEST_CASE("over pipes: initialize, didOpen, inlineCompletion, shutdown, exit -> 0", "[lsp][subprocess]") {
  child_server server(RWKV_LSP_FAKE_SERVER, {});
  start_session(server);
  server.send(inline_request(2));
  auto completion = server.response(2);
  REQUIRE(completion);
  CHECK((*completion)["result"]["items"].size() == 3);
  CHECK((*completion)["result"]["items"][0]["insertText"] == "lo world");
  server.send(request(3, "shutdown"));
  REQUIRE(server.response(3));
  server.send(notification("exit"));
  CHECK(server.wait() == 0);
}

TEST_CASE("over pipes: exit without shutdown -> 1", "[lsp][subprocess]") {
  child_server server(RWKV_LSP_FAKE_SERVER, {});
  start_session(server);
  server.send(notification("exit"));
  CHECK(server.wait() == 1);
}

TEST_CASE("over pipes: the client closes stdin -> clean exit", "[lsp][subprocess]") {
  SECTION("between messages") {
    child_server server(RWKV_LSP_FAKE_SERVER, {});
    start_session(server);
    server.close_stdin();
    CHECK(server.wait() == 1);
  }
  SECTION("in the middle of a message") {
    child_server server(RWKV_LSP_FAKE_SERVER, {});
    start_session(server);
    server.write_bytes("Content-Length: 100\r\n\r\n{\"jsonrpc\":");
    server.close_stdin();
    CHECK(server.wait() == 1);
  }
  SECTION("after a huge Content-Length") {
    child_server server(RWKV_LSP_FAKE_SERVER, {});
    server.write_bytes("Content-Length: 99999999999999\r\n\r\n");
    server.write_bytes(std::string(1 << 20, '{'));
    server.close_stdin();
    CHECK(server.wait() == 1);
  }
}

TEST_CASE("over pipes: a client that disappears mid-request", "[lsp][subprocess]") {
  child_server server(RWKV_LSP_FAKE_SERVER, {"--fake-mode", "held"});
  start_session(server);
  server.send(inline_request(2));
  server.send(request(3, "rwkv/status"));
  REQUIRE(server.response(3));  // the server is past the completion request, which is held
  server.close_stdout();        // the server's answer to it will hit EPIPE
  server.close_stdin();
  CHECK(server.wait() == 1);
}

TEST_CASE("over pipes: cancellation answers -32800", "[lsp][subprocess]") {
  child_server server(RWKV_LSP_FAKE_SERVER, {"--fake-mode", "threaded"});
  start_session(server);
  server.send(inline_request("slow"));  // threaded fake with no delay: held until cancelled
  server.send(notification("$/cancelRequest", {{"id", "slow"}}));
  auto r = server.response("slow");
  REQUIRE(r);
  CHECK((*r)["error"]["code"] == -32800);
  server.send(request(3, "shutdown"));
  REQUIRE(server.response(3));
  server.send(notification("exit"));
  CHECK(server.wait() == 0);
}
