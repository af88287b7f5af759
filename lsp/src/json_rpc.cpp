#include "lsp/json_rpc.hpp"

namespace rwkv::lsp {
namespace {

using json = nlohmann::json;

incoming_message invalid(json id, error_code code, std::string message, bool answer = true) {
  incoming_message m;
  m.what = incoming_message::kind::invalid;
  m.id = std::move(id);
  m.problem.emplace(code, message);
  m.answer = answer;
  return m;
}

}  // namespace

bool is_valid_id(const json& id) { return id.is_number_integer() || id.is_string(); }

std::string id_key(const json& id) { return id.dump(); }

incoming_message parse_message(std::string_view body) {
  json message;
  try {
    message = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // Also how nlohmann reports invalid UTF-8 inside strings.
    return invalid(nullptr, error_code::parse_error, std::string("parse error: ") + e.what());
  }
  if (message.is_array()) return invalid(nullptr, error_code::invalid_request, "batches are not supported by LSP");
  if (!message.is_object()) return invalid(nullptr, error_code::invalid_request, "a message must be a JSON object");

  auto id_it = message.find("id");
  bool has_id = id_it != message.end();
  json id = (has_id && is_valid_id(*id_it)) ? *id_it : json(nullptr);
  auto method_it = message.find("method");
  bool has_method = method_it != message.end();

  if (!has_method && (message.contains("result") || message.contains("error"))) {
    // Responses are never answered: an error reply to a reply could ping-pong forever.
    incoming_message m;
    m.what = incoming_message::kind::response;
    if (!has_id || !(is_valid_id(*id_it) || id_it->is_null()))
      return invalid(nullptr, error_code::invalid_request, "response with an invalid id", false);
    auto jsonrpc = message.find("jsonrpc");
    if (jsonrpc == message.end() || *jsonrpc != "2.0")
      return invalid(id, error_code::invalid_request, "response without \"jsonrpc\": \"2.0\"", false);
    bool has_result = message.contains("result"), has_error = message.contains("error");
    if (has_result == has_error)
      return invalid(id, error_code::invalid_request, "response must have exactly one of result and error", false);
    m.id = *id_it;
    if (has_error) {
      m.error = message["error"];
    } else {
      m.result = std::move(message["result"]);
    }
    return m;
  }

  auto jsonrpc = message.find("jsonrpc");
  if (jsonrpc == message.end() || *jsonrpc != "2.0")
    return invalid(id, error_code::invalid_request, "missing or invalid \"jsonrpc\": \"2.0\"");
  if (!has_method) return invalid(id, error_code::invalid_request, "message has no method");
  if (!method_it->is_string()) return invalid(id, error_code::invalid_request, "method must be a string");
  if (has_id && !is_valid_id(*id_it))
    return invalid(nullptr, error_code::invalid_request, "id must be an integer or a string");
  auto params_it = message.find("params");
  if (params_it != message.end() && params_it->is_null()) params_it = message.end();  // as absent
  if (params_it != message.end() && !params_it->is_object() && !params_it->is_array())
    return invalid(id, error_code::invalid_request, "params must be an object or an array");

  incoming_message m;
  m.what = has_id ? incoming_message::kind::request : incoming_message::kind::notification;
  m.id = std::move(id);
  m.method = method_it->get<std::string>();
  if (params_it != message.end()) m.params = std::move(*params_it);
  return m;
}

json make_response(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_error_response(const json& id, error_code code, const std::string& message) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", static_cast<int>(code)}, {"message", message}}}};
}

json make_request(const json& id, std::string_view method, json params) {
  json m{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

json make_notification(std::string_view method, json params) {
  json m{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

std::string serialize(const json& message) { return message.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace rwkv::lsp
