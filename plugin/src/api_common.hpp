// What every extern "C" wrapper of rwkv_lsp.h shares: the thread-local last error, the mapping
// of engine error codes to status codes, the catch-everything guard that keeps C++ exceptions
// inside the library, and the struct_size check of parameter structs.
#pragma once

#include "rwkv_lsp.h"

#include "engine/error.hpp"

#include <cstring>
#include <new>
#include <string>
#include <type_traits>

namespace rwkv::plugin {

// Thrown by the wrappers themselves; the guard turns it into its status.
struct api_error {
  rwkv_lsp_status status;
  std::string message;
};

void set_last_error(std::string message);
void clear_last_error();
rwkv_lsp_status status_for(engine::errc code);

[[noreturn]] inline void fail(rwkv_lsp_status status, std::string message) { throw api_error{status, std::move(message)}; }

template <class T>
T& require(T* p, const char* what) {
  if (!p) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  return *p;
}

// Parameters of a known size: a copy of the caller's struct. Only the current size is known in API
// version 0.1; older sizes will be accepted here (their missing fields defaulted) as the structs grow.
template <class T>
T checked_params(const T* p, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (!p) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  if (p->struct_size != sizeof(T))
    fail(RWKV_LSP_ERR_INVALID_ARGUMENT, std::string(what) + "->struct_size is " + std::to_string(p->struct_size) +
                                            ", this library expects " + std::to_string(sizeof(T)) +
                                            "; initialize the struct with its rwkv_lsp_*_default_params()");
  return *p;
}

// Runs `body` (which returns a status), turning every exception into a status and a message.
template <class F>
rwkv_lsp_status guarded(F&& body) noexcept {
  try {
    clear_last_error();
    return body();
  } catch (const api_error& e) {
    set_last_error(e.message);
    return e.status;
  } catch (const engine::error& e) {
    set_last_error(e.what());
    return status_for(e.code());
  } catch (const std::bad_alloc&) {
    set_last_error("out of memory");
    return RWKV_LSP_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(std::string("internal error: ") + e.what());
    return RWKV_LSP_ERR_INTERNAL;
  } catch (...) {
    set_last_error("internal error: unknown exception");
    return RWKV_LSP_ERR_INTERNAL;
  }
}

}  // namespace rwkv::plugin
