// What the embedder (main, the plugin, tests) tells the protocol layer; nothing here comes from
// the client.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace rwkv::lsp {

// The project version compiled into the library ("0.1.0").
const char* server_version();

struct server_options {
  std::string name = "rwkv-lsp";     // serverInfo.name
  std::string version = server_version();  // serverInfo.version
  // Settings from the command line; initializationOptions override them key by key (objects
  // are merged recursively). An empty object when there are none.
  nlohmann::json default_settings = nlohmann::json::object();
  // Candidates asked of the service for an explicitly invoked inline completion (Automatic: 1).
  int invoked_candidates = 3;
  // Messages of this type or more severe go to stderr (1 error .. 4 log; 0: none). Messages go
  // to the client as window/logMessage as $/setTrace allows (see lsp_server.hpp).
  int stderr_log_level = 2;
  // textDocument/completion trigger characters: member access, scope, calls, brackets, operators.
  std::vector<std::string> completion_trigger_characters = {".", ":", ">", "(", "[", "{", ",", "=", "\"", "'", "/", "<"};
};

}  // namespace rwkv::lsp
