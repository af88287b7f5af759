#include "engine/embedded_model.hpp"

#include "engine/error.hpp"

#include <cstdint>
#include <cstdio>

#if RWKV_LSP_HAS_EMBEDDED_MODEL
// Defined by the generated embedded_model_data.S (an .incbin of the model file).
extern "C" const std::uint8_t rwkv_lsp_embedded_model_begin[];
extern "C" const std::uint8_t rwkv_lsp_embedded_model_end[];
#endif

namespace rwkv::engine {

bool has_embedded_model() noexcept { return RWKV_LSP_HAS_EMBEDDED_MODEL != 0; }

std::shared_ptr<const mapped_file> embedded_model_file() {
#if RWKV_LSP_HAS_EMBEDDED_MODEL
  const auto size = static_cast<std::size_t>(rwkv_lsp_embedded_model_end - rwkv_lsp_embedded_model_begin);
  return std::make_shared<const mapped_file>(rwkv_lsp_embedded_model_begin, size, "<built-in model>");
#else
  throw error(errc::unsupported,
              "this build of rwkv-lsp has no built-in model; set \"model\" to a model file, or rebuild with "
              "-DRWKV_LSP_EMBED_MODEL=ON");
#endif
}

std::string embedded_model_description() {
#if RWKV_LSP_HAS_EMBEDDED_MODEL
  char size[32];
  std::snprintf(size, sizeof size, "%.1f MB",
                static_cast<double>(rwkv_lsp_embedded_model_end - rwkv_lsp_embedded_model_begin) / 1e6);
  return std::string(RWKV_LSP_EMBEDDED_MODEL_NAME) + " (built in, " + size + ")";
#else
  return "none";
#endif
}

}  // namespace rwkv::engine
