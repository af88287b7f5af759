// A language server process on real pipes, driven as an editor drives it (for subprocess tests).
#pragma once

#include "lsp/framing.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace rwkv::test {

using namespace std::chrono_literals;

class child_server {
 public:
  // Starts `program` with `args`, its stdin and stdout on pipes (stderr inherited).
  child_server(const std::string& program, const std::vector<std::string>& args);
  ~child_server();
  child_server(const child_server&) = delete;
  child_server& operator=(const child_server&) = delete;

  void send(const nlohmann::json& message);
  void write_bytes(const std::string& bytes);
  // The next message from the server that answers `id` (skipping others, which are kept in
  // `received()`), or nullopt on timeout or end of output.
  std::optional<nlohmann::json> response(const nlohmann::json& id, std::chrono::milliseconds timeout = 10s);
  const std::vector<nlohmann::json>& received() const { return received_; }
  void close_stdin();
  void close_stdout();
  // Waits for the child; its exit code, or -1 when it hung (then it is killed) or was killed by a signal.
  int wait(std::chrono::milliseconds timeout = 10s);

 private:
  int pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  lsp::message_reader reader_;
  std::vector<nlohmann::json> received_;
};

nlohmann::json rpc_request(nlohmann::json id, const std::string& method, nlohmann::json params = nullptr);
nlohmann::json rpc_notification(const std::string& method, nlohmann::json params = nullptr);

}  // namespace rwkv::test
