#include "lsp/support/server_fixture.hpp"

#include "lsp/json_rpc.hpp"

#include <catch2/catch.hpp>

namespace rwkv::test {

json make_request(json id, const std::string& method, json params) {
  json m{{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

json make_notification(const std::string& method, json params) {
  json m{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

json position_json(int line, int character) { return json{{"line", line}, {"character", character}}; }

json range_json(int l1, int c1, int l2, int c2) {
  return json{{"start", position_json(l1, c1)}, {"end", position_json(l2, c2)}};
}

lsp::server_options quiet_options() {
  lsp::server_options options;
  options.stderr_log_level = 0;
  return options;
}

server_fixture::server_fixture(fake_service::mode mode, lsp::server_options options) : service(mode) {
  server = std::make_unique<lsp::lsp_server>(transport, service, std::move(options));
}

server_fixture::~server_fixture() { server.reset(); }

bool server_fixture::send(const json& message) { return server->on_message(message.dump()); }

bool server_fixture::send_raw(std::string body) { return server->on_message(std::move(body)); }

json server_fixture::call(const json& id, const std::string& method, json params) {
  send(make_request(id, method, std::move(params)));
  auto response = response_to(id);
  INFO("request " << method << " " << id.dump());
  REQUIRE(response.has_value());
  return *response;
}

void server_fixture::notify(const std::string& method, json params) { send(make_notification(method, std::move(params))); }

std::vector<json> server_fixture::sent() const {
  std::vector<json> out;
  for (const auto& body : transport.sent()) out.push_back(json::parse(body));
  return out;
}

std::optional<json> server_fixture::response_to(const json& id) const {
  for (auto& m : sent())
    if (!m.contains("method") && m.contains("id") && m["id"] == id) return m;
  return std::nullopt;
}

std::optional<json> server_fixture::wait_for_response(const json& id, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::size_t seen = transport.sent_count();
    if (auto r = response_to(id)) return r;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    transport.wait_for_sent(seen + 1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
  }
}

std::vector<json> server_fixture::notifications(std::string_view method) const {
  std::vector<json> out;
  for (auto& m : sent())
    if (m.value("method", "") == method && !m.contains("id")) out.push_back(m);
  return out;
}

std::vector<json> server_fixture::requests_from_server(std::string_view method) const {
  std::vector<json> out;
  for (auto& m : sent())
    if (m.value("method", "") == method && m.contains("id")) out.push_back(m);
  return out;
}

json server_fixture::initialize(json capabilities, json initialization_options) {
  json params{{"processId", nullptr}, {"capabilities", std::move(capabilities)}, {"clientInfo", {{"name", "test"}}}};
  if (!initialization_options.is_null()) params["initializationOptions"] = std::move(initialization_options);
  json response = call("init", "initialize", std::move(params));
  notify("initialized", json::object());
  REQUIRE(response.contains("result"));
  return response["result"];
}

void server_fixture::open(const std::string& uri, const std::string& text, std::int64_t version,
                          const std::string& language) {
  notify("textDocument/didOpen",
         {{"textDocument", {{"uri", uri}, {"languageId", language}, {"version", version}, {"text", text}}}});
}

void server_fixture::change(const std::string& uri, std::int64_t version, json content_changes) {
  notify("textDocument/didChange",
         {{"textDocument", {{"uri", uri}, {"version", version}}}, {"contentChanges", std::move(content_changes)}});
}

}  // namespace rwkv::test
