// Versions, status names and the last error of rwkv_lsp.h.
#include "api_common.hpp"

#include "lsp/server_options.hpp"

namespace rwkv::plugin {

namespace {
thread_local std::string last_error;
}

void set_last_error(std::string message) {
  try {
    last_error = std::move(message);
  } catch (...) {
    last_error.clear();
  }
}

void clear_last_error() { last_error.clear(); }

rwkv_lsp_status status_for(engine::errc code) {
  switch (code) {
    case engine::errc::io: return RWKV_LSP_ERR_IO;
    case engine::errc::bad_format: return RWKV_LSP_ERR_BAD_FORMAT;
    case engine::errc::unsupported: return RWKV_LSP_ERR_UNSUPPORTED;
    case engine::errc::bad_model: return RWKV_LSP_ERR_BAD_MODEL;
    case engine::errc::bad_argument: return RWKV_LSP_ERR_INVALID_ARGUMENT;
    case engine::errc::state_mismatch: return RWKV_LSP_ERR_STATE_MISMATCH;
    case engine::errc::cancelled: return RWKV_LSP_CANCELLED;
    case engine::errc::out_of_memory: return RWKV_LSP_ERR_OUT_OF_MEMORY;
  }
  return RWKV_LSP_ERR_INTERNAL;
}

}  // namespace rwkv::plugin

extern "C" {

RWKV_LSP_API uint32_t rwkv_lsp_api_version(void) { return RWKV_LSP_API_VERSION; }

RWKV_LSP_API const char* rwkv_lsp_version_string(void) { return rwkv::lsp::server_version(); }

RWKV_LSP_API const char* rwkv_lsp_last_error(void) { return rwkv::plugin::last_error.c_str(); }

RWKV_LSP_API const char* rwkv_lsp_status_name(rwkv_lsp_status status) {
  switch (status) {
    case RWKV_LSP_OK: return "ok";
    case RWKV_LSP_CANCELLED: return "cancelled";
    case RWKV_LSP_ERR_INVALID_ARGUMENT: return "invalid argument";
    case RWKV_LSP_ERR_OUT_OF_RANGE: return "out of range";
    case RWKV_LSP_ERR_IO: return "i/o error";
    case RWKV_LSP_ERR_BAD_FORMAT: return "bad format";
    case RWKV_LSP_ERR_UNSUPPORTED: return "unsupported";
    case RWKV_LSP_ERR_BAD_MODEL: return "bad model";
    case RWKV_LSP_ERR_STATE_MISMATCH: return "state mismatch";
    case RWKV_LSP_ERR_OUT_OF_MEMORY: return "out of memory";
    case RWKV_LSP_ERR_BUSY: return "busy";
    case RWKV_LSP_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
  }
}

}  // extern "C"
