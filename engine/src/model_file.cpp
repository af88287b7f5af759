// Recognises a model file by its first bytes and dispatches to the matching reader.
#include "engine/error.hpp"
#include "engine/tensor_store.hpp"
#include "formats/readers.hpp"

#include <cstring>

namespace rwkv::engine {

namespace {

bool starts_with(const mapped_file& f, const char* magic, std::size_t n) {
  return f.size() >= n && std::memcmp(f.data(), magic, n) == 0;
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
    return store;
  }
  throw error(errc::unsupported,
              "'" + file->path() + "' is not a model file rwkv-lsp recognises (expected a PyTorch .pth zip "
              "checkpoint as published by BlinkDL)");
}

tensor_store read_model_file(const std::string& path) {
  return read_model_bytes(std::make_shared<const mapped_file>(path));
}

}  // namespace rwkv::engine
