// The server's side of the JSON-RPC conversation: everything it sends (responses, notifications,
// its own requests to the client) and the matching of the client's responses to those requests.
//
// Server-to-client requests (window/workDoneProgress/create) get string ids "rwkv-<n>" so they
// can never be confused with the client's ids in logs. A response whose id matches nothing is
// reported to the caller (which logs it) and otherwise ignored.
//
// Threads: every method may be called from any thread; response handlers run on the thread that
// calls dispatch_response() (the protocol thread), without the channel's lock held.
#pragma once

#include "lsp/json_rpc.hpp"
#include "lsp/transport.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rwkv::lsp {

class rpc_channel {
 public:
  // `error` is set when the client answered with an error; `result` is its result otherwise.
  using response_handler = std::function<void(const nlohmann::json& result, const std::optional<nlohmann::json>& error)>;

  explicit rpc_channel(transport& out) : out_(out) {}

  void reply(const nlohmann::json& id, nlohmann::json result);
  void reply_error(const nlohmann::json& id, error_code code, const std::string& message);
  void notify(std::string_view method, nlohmann::json params);
  // Sends a request to the client; `on_response` runs when its response arrives (maybe never).
  void request(std::string_view method, nlohmann::json params, response_handler on_response);

  // Hands a response from the client to the handler of the request it answers; false when no
  // request of ours has that id.
  bool dispatch_response(const incoming_message& response);

  // Number of server-to-client requests still waiting for a response.
  std::size_t waiting() const;

 private:
  transport& out_;
  mutable std::mutex mutex_;
  std::int64_t next_id_ = 1;
  std::unordered_map<std::string, response_handler> waiting_;
};

}  // namespace rwkv::lsp
