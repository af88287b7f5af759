// $/progress for work the service does in the background (reading a large file, loading a model),
// following LSP's server-initiated progress:
//   1. the first "begin" for a token sends window/workDoneProgress/create;
//   2. events for that token are held until the client answers, then sent in order;
//   3. if the client answers with an error, the token's events are dropped.
// Nothing is sent when the client did not announce capabilities.window.workDoneProgress, and a
// create request never goes out before the initialize response (LSP forbids server requests
// before it): tokens begun earlier wait for client_ready().
// "report" and "end" for a token that never began are dropped; after "end" the token is
// forgotten, so it may begin again.
//
// Threads: report() from any thread (the service's workers); enable() and client_ready() from
// the protocol thread; create responses are handled on the protocol thread by rpc_channel.
#pragma once

#include "lsp/rpc_channel.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace rwkv::lsp {

class progress_reporter {
 public:
  explicit progress_reporter(rpc_channel& channel) : channel_(channel) {}

  void enable(bool client_supports_progress);
  void client_ready();
  // kind "begin" | "report" | "end"; percentage 0..100, or -1 for none. `title` is the title
  // of "begin" and the message of "report" and "end" (omitted when empty).
  void report(const std::string& token, const std::string& kind, const std::string& title, int percentage);

  // Tokens begun and not yet ended (for status and tests).
  std::size_t active_tokens() const;

 private:
  enum class phase { waiting_for_init, creating, ready };
  struct token_state {
    phase at = phase::waiting_for_init;
    std::vector<nlohmann::json> held;  // progress values waiting for the create response
  };

  void create(const std::string& token);                          // mutex_ held
  void send(const std::string& token, nlohmann::json value);      // mutex_ held
  void on_created(const std::string& token, bool ok);

  rpc_channel& channel_;
  mutable std::mutex mutex_;
  bool enabled_ = false;
  bool client_ready_ = false;
  std::map<std::string, token_state> tokens_;
};

}  // namespace rwkv::lsp
