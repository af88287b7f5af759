#include "lsp/rpc_channel.hpp"

namespace rwkv::lsp {

using json = nlohmann::json;

void rpc_channel::reply(const json& id, json result) { out_.send(serialize(make_response(id, std::move(result)))); }

void rpc_channel::reply_error(const json& id, error_code code, const std::string& message) {
  out_.send(serialize(make_error_response(id, code, message)));
}

void rpc_channel::notify(std::string_view method, json params) {
  out_.send(serialize(make_notification(method, std::move(params))));
}

void rpc_channel::request(std::string_view method, json params, response_handler on_response) {
  json id;
  {
    std::lock_guard lock(mutex_);
    id = "rwkv-" + std::to_string(next_id_++);
    waiting_.emplace(id_key(id), std::move(on_response));
  }
  out_.send(serialize(make_request(id, method, std::move(params))));
}

bool rpc_channel::dispatch_response(const incoming_message& response) {
  response_handler handler;
  {
    std::lock_guard lock(mutex_);
    auto it = waiting_.find(id_key(response.id));
    if (it == waiting_.end()) return false;
    handler = std::move(it->second);
    waiting_.erase(it);
  }
  if (handler) handler(response.result, response.error);
  return true;
}

std::size_t rpc_channel::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

}  // namespace rwkv::lsp
