// Drives an lsp_server in-process, the way clangd's tests do: the test thread plays the client
// and calls on_message() directly; the memory_transport records what the server sends. With the
// fake service in `immediate` or `held` mode no other thread is involved, so every assertion
// about the output is deterministic.
#pragma once

#include "lsp/support/fake_service.hpp"

#include "lsp/lsp_server.hpp"
#include "lsp/memory_transport.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::test {

using json = nlohmann::json;

json make_request(json id, const std::string& method, json params = nullptr);
json make_notification(const std::string& method, json params = nullptr);
json position_json(int line, int character);
json range_json(int l1, int c1, int l2, int c2);

// Server options for tests: nothing on stderr.
lsp::server_options quiet_options();

class server_fixture {
 public:
  explicit server_fixture(fake_service::mode mode = fake_service::mode::immediate,
                          lsp::server_options options = quiet_options());
  ~server_fixture();

  // Returns on_message()'s answer (false after exit).
  bool send(const json& message);
  bool send_raw(std::string body);
  // Sends a request and returns the response the server sent for it before on_message()
  // returned (synchronous modes); a test failure when there is none.
  json call(const json& id, const std::string& method, json params = nullptr);
  void notify(const std::string& method, json params = nullptr);

  std::vector<json> sent() const;
  std::optional<json> response_to(const json& id) const;
  std::optional<json> wait_for_response(const json& id, std::chrono::milliseconds timeout) const;
  std::vector<json> notifications(std::string_view method) const;
  std::vector<json> requests_from_server(std::string_view method) const;

  // initialize (with these capabilities and initializationOptions) + initialized; returns the result.
  json initialize(json capabilities = json::object(), json initialization_options = nullptr);
  void open(const std::string& uri, const std::string& text, std::int64_t version = 1, const std::string& language = "cpp");
  void change(const std::string& uri, std::int64_t version, json content_changes);

  lsp::memory_transport transport;
  fake_service service;
  std::unique_ptr<lsp::lsp_server> server;
};

}  // namespace rwkv::test
