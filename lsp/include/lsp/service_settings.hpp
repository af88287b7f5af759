// The user-facing settings of the completion service, and their validation.
//
// They arrive as JSON (command-line defaults, then initializationOptions, then
// workspace/didChangeConfiguration). Keys use the editor convention (camelCase); unknown keys are
// ignored so newer editor plugins work with older servers. A bad value rejects the whole update
// with a message naming the key, and the previous settings stay in force.
#pragma once

#include "lsp/completion_service.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace rwkv::lsp {

struct service_settings {
  std::string model;             // a path, or "" for the built-in model
  std::string vocab;             // tokenizer file, "" = chosen from the model
  int threads = 0;               // 0 = all cores
  std::string backend = "auto";  // auto | cpu | cpu-reference | cuda
  std::string precision = "fast";  // fast | exact (see kernels: bf16/int8 activations vs fp32)
  std::string weights = "stored";  // the large matrices in memory: as stored, or f32 ... q4_0
  int max_tokens = 64;           // per suggestion
  int max_lines = 8;             // per multi-line suggestion
  int candidates = 3;            // for invoked requests; automatic requests get one
  double temperature = 0.8;      // for candidates after the first (the first is greedy)
  double top_p = 0.9;
  double time_budget_ms = 1500;  // per request, state update and generation included
  std::int64_t checkpoint_spacing = 256;  // tokens between sparse checkpoints
  double memory_budget_mb = 1024;         // all checkpoints of all documents together

  // Merges the keys present in `update` into a copy of *this and validates it. On success returns
  // ok and stores the result in `out`; on failure `out` is untouched.
  settings_result merged(const nlohmann::json& update, service_settings& out) const;

  // True when applying `other` needs the model reloaded.
  bool model_differs(const service_settings& other) const;
  // Copies the settings that choose and load the model (those model_differs compares).
  void take_model_settings(const service_settings& from);

  nlohmann::json to_json() const;
};

}  // namespace rwkv::lsp
