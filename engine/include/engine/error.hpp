// The one exception type the engine throws while loading and parsing, with a stable code.
//
// Messages are written for the user: they say what is wrong and what to do
// ("... is a RWKV-6 file but lacks blocks.3.att.time_decay; re-export it"). Front ends map codes to
// their own vocabulary (exit codes, JSON-RPC errors, C status codes) in one place each.
#pragma once

#include <stdexcept>
#include <string>

namespace rwkv::engine {

enum class errc {
  io,                 // a file could not be opened, read or mapped
  bad_format,         // the bytes are not a file of the format they claim to be (corrupt, truncated)
  unsupported,        // a well-formed file of a kind or variant this build does not handle
  bad_model,          // the tensors do not form a model we know (missing / unexpected / wrong shape)
  bad_argument,       // a caller passed something invalid (token out of range, bad option)
  state_mismatch,     // a saved state belongs to another model or layout
  cancelled,          // work was cancelled
  out_of_memory,      // an allocation or a memory budget failed
};

const char* errc_name(errc code) noexcept;

class error : public std::runtime_error {
 public:
  error(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  errc code() const noexcept { return code_; }

 private:
  errc code_;
};

}  // namespace rwkv::engine
