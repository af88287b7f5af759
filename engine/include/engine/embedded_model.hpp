// The model built into the executable and the shared library, so that rwkv-lsp completes code
// with no download, no configuration and no files on disk.
//
// The bytes are linked in (CMake option RWKV_LSP_EMBED_MODEL, file RWKV_LSP_EMBEDDED_MODEL) and
// read in place like a memory-mapped file. A build without one reports that it has none.
#pragma once

#include "engine/mapped_file.hpp"

#include <memory>
#include <string>

namespace rwkv::engine {

// The name that selects the embedded model wherever a model path is accepted.
inline constexpr const char* embedded_model_name = "builtin";

bool has_embedded_model() noexcept;
// The embedded model's bytes as a file; throws engine::error(errc::unsupported) in a build without one.
std::shared_ptr<const mapped_file> embedded_model_file();
// A short description for `info` and status ("rwkv7-code-byte (built in, 7.2 MB)").
std::string embedded_model_description();

}  // namespace rwkv::engine
