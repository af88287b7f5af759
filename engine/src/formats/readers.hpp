// Internal to the engine: the file-format readers behind read_model_file.
//
// Each reader fills a tensor_store in the canonical BlinkDL vocabulary (see tensor_store.hpp),
// borrowing tensor bytes from `file` where they are used as stored, and throws engine::error
// (bad_format for corrupt or hostile bytes, unsupported for valid files of unknown kinds) with a
// message that names the file. Readers never trust a size, offset or count from the file: every
// one is checked against the file's real size before use.
#pragma once

#include "engine/mapped_file.hpp"
#include "engine/tensor_store.hpp"

#include <memory>
#include <span>
#include <string>

namespace rwkv::engine::formats {

// PyTorch zip checkpoints written by torch.save (BlinkDL .pth).
void read_pth(std::shared_ptr<const mapped_file> file, tensor_store& out);
// rwkv.cpp's own format (magic "ggmf", versions 100/101).
void read_rwkvcpp(std::shared_ptr<const mapped_file> file, tensor_store& out);
// GGUF v2/v3 in llama.cpp's rwkv6 / rwkv7 layouts.
void read_gguf(std::shared_ptr<const mapped_file> file, tensor_store& out);
// One safetensors file; BlinkDL or Hugging Face key names (config.json beside it decides).
void read_safetensors(std::shared_ptr<const mapped_file> file, tensor_store& out);
// A folder holding model.safetensors, or sharded files listed by model.safetensors.index.json
// (`path` is the folder or the index file).
void read_safetensors_folder(const std::string& path, tensor_store& out);

// True when the bytes start like a safetensors file (little-endian header length, then '{').
bool looks_like_safetensors(std::span<const std::uint8_t> bytes) noexcept;

}  // namespace rwkv::engine::formats
