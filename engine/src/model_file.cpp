// Recognises a model file by its first bytes (never by its extension) and dispatches to the
// matching reader: PyTorch zip, GGUF, rwkv.cpp, safetensors (a file, a folder, or a sharded
// index).
#include "engine/error.hpp"
#include "engine/tensor_store.hpp"
#include "formats/readers.hpp"

#include <cstring>
#include <filesystem>

namespace rwkv::engine {

namespace {

bool starts_with(const mapped_file& f, const char* magic, std::size_t n) {
  return f.size() >= n && std::memcmp(f.data(), magic, n) == 0;
}

bool is_rwkvcpp(const mapped_file& f) {
  std::uint32_t m = 0;
  if (f.size() < 4) return false;
  std::memcpy(&m, f.data(), 4);
  return m == 0x67676d66;
}

// A JSON file naming shards: {"metadata": ..., "weight_map": {...}}.
bool is_shard_index(const mapped_file& f) {
  const std::string_view text(reinterpret_cast<const char*>(f.data()), std::min<std::size_t>(f.size(), 1 << 16));
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' && text.find("\"weight_map\"") != std::string_view::npos;
}

}  // namespace

tensor_store read_model_bytes(std::shared_ptr<const mapped_file> file) {
  tensor_store store;
  store.source = file->path();
  store.keep_mapping(file);
  if (file->size() == 0) throw error(errc::bad_format, "'" + file->path() + "' is empty, not a model file");
  if (starts_with(*file, "PK\x03\x04", 4) || starts_with(*file, "PK\x05\x06", 4)) {
    store.format = "pth";
    formats::read_pth(file, store);
  } else if (starts_with(*file, "GGUF", 4)) {
    store.format = "gguf";
    formats::read_gguf(file, store);
  } else if (is_rwkvcpp(*file)) {
    store.format = "rwkv.cpp";
    formats::read_rwkvcpp(file, store);
  } else if (formats::looks_like_safetensors(file->bytes())) {
    store.format = "safetensors";
    formats::read_safetensors(file, store);
  } else if (is_shard_index(*file)) {
    store.format = "safetensors";
    formats::read_safetensors_folder(file->path(), store);
  } else {
    throw error(errc::unsupported,
                "'" + file->path() + "' is not a model file rwkv-lsp recognises (expected a BlinkDL .pth checkpoint, "
                "GGUF, an rwkv.cpp .bin file or safetensors)");
  }
  return store;
}

tensor_store read_model_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    tensor_store store;
    store.source = path;
    store.format = "safetensors";
    formats::read_safetensors_folder(path, store);
    return store;
  }
  return read_model_bytes(std::make_shared<const mapped_file>(path));
}

}  // namespace rwkv::engine
