// The JSON-RPC envelope: classification of messages and the error each invalid one gets.
#include "lsp/json_rpc.hpp"

#include <catch2/catch.hpp>

using namespace rwkv::lsp;
using json = nlohmann::json;
using kind = incoming_message::kind;

TEST_CASE("requests, notifications and responses are told apart", "[lsp][json_rpc]") {
  auto request = parse_message(R"({"jsonrpc":"2.0","id":7,"method":"shutdown"})");
  CHECK(request.what == kind::request);
  CHECK(request.id == 7);
  CHECK(request.method == "shutdown");
  CHECK(request.params.is_null());

  auto string_id = parse_message(R"({"jsonrpc":"2.0","id":"abc","method":"m","params":[1]})");
  CHECK(string_id.what == kind::request);
  CHECK(string_id.id == "abc");
  CHECK(string_id.params == json::array({1}));

  auto notification = parse_message(R"({"jsonrpc":"2.0","method":"initialized","params":{}})");
  CHECK(notification.what == kind::notification);
  CHECK(notification.params == json::object());

  auto result = parse_message(R"({"jsonrpc":"2.0","id":"rwkv-1","result":null})");
  CHECK(result.what == kind::response);
  CHECK(!result.error);

  auto error = parse_message(R"({"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no"}})");
  CHECK(error.what == kind::response);
  REQUIRE(error.error);
  CHECK((*error.error)["code"] == -1);
}

TEST_CASE("invalid JSON and invalid UTF-8 are parse errors answered with id null", "[lsp][json_rpc]") {
  for (std::string body : {std::string("{"), std::string(""), std::string("{\"jsonrpc\":\"2.0\",}"),
                           std::string("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"t\":\"\xC3\x28\"}}"),
                           std::string("{\"jsonrpc\":\"2.0\",\"method\":\"\xFF\"}")}) {
    auto m = parse_message(body);
    INFO(body);
    CHECK(m.what == kind::invalid);
    CHECK(m.answer);
    CHECK(m.id.is_null());
    REQUIRE(m.problem);
    CHECK(m.problem->code() == error_code::parse_error);
  }
}

TEST_CASE("batches and non-objects are invalid requests", "[lsp][json_rpc]") {
  for (std::string body : {R"([{"jsonrpc":"2.0","id":1,"method":"a"}])", "[]", "42", "\"text\"", "null"}) {
    auto m = parse_message(body);
    INFO(body);
    CHECK(m.what == kind::invalid);
    CHECK(m.answer);
    CHECK(m.id.is_null());
    CHECK(m.problem->code() == error_code::invalid_request);
  }
}

TEST_CASE("envelope errors are invalid requests, answered with the id when it is usable", "[lsp][json_rpc]") {
  struct row {
    std::string body;
    json id;
  };
  for (const auto& [body, id] : std::vector<row>{
           {R"({"id":1,"method":"m"})", 1},                                  // no jsonrpc
           {R"({"jsonrpc":"1.0","id":1,"method":"m"})", 1},                  // wrong version
           {R"({"jsonrpc":2.0,"id":"x","method":"m"})", "x"},                // version not a string
           {R"({"jsonrpc":"2.0","id":1,"method":5})", 1},                    // method not a string
           {R"({"jsonrpc":"2.0","id":1})", 1},                               // nothing to do
           {R"({"jsonrpc":"2.0","id":1,"method":"m","params":"s"})", 1},     // params not structured
           {R"({"jsonrpc":"2.0","id":1.5,"method":"m"})", nullptr},          // float id
           {R"({"jsonrpc":"2.0","id":true,"method":"m"})", nullptr},         // boolean id
           {R"({"jsonrpc":"2.0","id":null,"method":"m"})", nullptr},         // null id
           {R"({"jsonrpc":"2.0","id":{"a":1},"method":"m"})", nullptr},      // object id
           {R"({"jsonrpc":"2.0","method":1,"params":"bar"})", nullptr},      // the JSON-RPC spec's example
       }) {
    auto m = parse_message(body);
    INFO(body);
    CHECK(m.what == kind::invalid);
    CHECK(m.answer);
    CHECK(m.id == id);
    CHECK(m.problem->code() == error_code::invalid_request);
  }
}

TEST_CASE("\"params\": null is taken as no params, as Emacs's jsonrpc.el sends it", "[lsp][json_rpc]") {
  auto request = parse_message(R"({"jsonrpc":"2.0","id":4,"method":"shutdown","params":null})");
  CHECK(request.what == kind::request);
  CHECK(request.method == "shutdown");
  CHECK(request.params.is_null());
  auto notification = parse_message(R"({"jsonrpc":"2.0","method":"exit","params":null})");
  CHECK(notification.what == kind::notification);
  CHECK(notification.method == "exit");
}

TEST_CASE("malformed responses are never answered", "[lsp][json_rpc]") {
  for (std::string body : {R"({"jsonrpc":"2.0","id":1,"result":1,"error":{}})", R"({"jsonrpc":"2.0","result":1})",
                           R"({"id":1,"result":1})", R"({"jsonrpc":"2.0","id":[1],"error":{}})"}) {
    auto m = parse_message(body);
    INFO(body);
    CHECK(m.what == kind::invalid);
    CHECK(!m.answer);
  }
}

TEST_CASE("message builders and serialize", "[lsp][json_rpc]") {
  CHECK(make_response(1, nullptr) == json::parse(R"({"jsonrpc":"2.0","id":1,"result":null})"));
  CHECK(make_error_response(nullptr, error_code::request_cancelled, "c") ==
        json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32800,"message":"c"}})"));
  CHECK(make_notification("exit", nullptr) == json::parse(R"({"jsonrpc":"2.0","method":"exit"})"));
  CHECK(make_request("rwkv-1", "m", {{"a", 1}})["params"]["a"] == 1);
  // A model can produce half a UTF-8 character; it must not throw when sent.
  json broken{{"text", std::string("ok \xE2\x82")}};
  std::string out;
  REQUIRE_NOTHROW(out = serialize(broken));
  CHECK(json::parse(out)["text"] == "ok \xEF\xBF\xBD");
  CHECK(id_key(1) != id_key("1"));
  CHECK(is_valid_id(-3));
  CHECK(!is_valid_id(1.0));
}
