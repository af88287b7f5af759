// JSON-RPC 2.0 as LSP uses it: the message envelope, error codes, and the one error type that the
// protocol layer maps to error responses.
//
// parse_message() classifies a body as a request, notification or response, or says why it is
// invalid and whether (and with which id) to answer:
//   - invalid JSON, and JSON with invalid UTF-8 in a string      -> -32700, id null
//   - a batch (JSON array, LSP has none) or a non-object         -> -32600, id null
//   - jsonrpc missing or not "2.0", method not a string, params
//     neither object nor array, neither method nor result/error  -> -32600, the id if it is valid
//   - id of a wrong type (only integers and strings are ids)     -> -32600, id null
//   - a malformed response (no method, result and error both or
//     neither given, bad id)                                     -> logged, never answered
// A message with a method and no id is a notification. "params": null counts as no params:
// JSON-RPC does not allow it, but Emacs's jsonrpc.el sends it for every request and notification
// without parameters (Eglot's shutdown and exit, for one).
//
// Threads: free functions, no state.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rwkv::lsp {

enum class error_code : int {
  parse_error = -32700,
  invalid_request = -32600,
  method_not_found = -32601,
  invalid_params = -32602,
  internal_error = -32603,
  server_not_initialized = -32002,
  unknown_error = -32001,
  request_failed = -32803,
  server_cancelled = -32802,
  content_modified = -32801,
  request_cancelled = -32800,
};

// An error that becomes a JSON-RPC error response. Thrown by request handlers and parameter
// parsing; caught and answered in one place (lsp_server's dispatch).
class rpc_error : public std::runtime_error {
 public:
  rpc_error(error_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  error_code code() const { return code_; }

 private:
  error_code code_;
};

struct incoming_message {
  enum class kind { request, notification, response, invalid } what = kind::invalid;
  nlohmann::json id;      // requests and responses; null when absent or unusable
  std::string method;     // requests and notifications
  nlohmann::json params;  // null when absent
  nlohmann::json result;  // responses without error
  std::optional<nlohmann::json> error;  // responses with error (the error object)
  // For `invalid`: the error to answer with (`id` says to whom), unless `answer` is false.
  std::optional<rpc_error> problem;
  bool answer = false;
};

incoming_message parse_message(std::string_view body);

// Ids are integers or strings. Floats, booleans, null, arrays and objects are not.
bool is_valid_id(const nlohmann::json& id);
// A map key that keeps 1 and "1" apart.
std::string id_key(const nlohmann::json& id);

nlohmann::json make_response(const nlohmann::json& id, nlohmann::json result);
nlohmann::json make_error_response(const nlohmann::json& id, error_code code, const std::string& message);
nlohmann::json make_request(const nlohmann::json& id, std::string_view method, nlohmann::json params);
nlohmann::json make_notification(std::string_view method, nlohmann::json params);

// Compact JSON. Invalid UTF-8 (a model can emit half a character) becomes U+FFFD instead of throwing.
std::string serialize(const nlohmann::json& message);

}  // namespace rwkv::lsp
