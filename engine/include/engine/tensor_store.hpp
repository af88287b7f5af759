// Named tensors read from a model file, before they become a model.
//
// Every file-format reader (BlinkDL .pth, safetensors, GGUF, rwkv.cpp) produces a tensor_store in
// one canonical vocabulary: BlinkDL's state-dict key names, shapes and value semantics
// (e.g. "blocks.3.att.time_decay" holds the raw parameter, not -exp of it). Readers undo their
// format's renames and pre-processing so the model builder sees one thing.
//
// Tensor bytes are borrowed from the mapped file whenever they are used as stored; a reader that
// has to transform a tensor keeps the result in the store (`own`). The store keeps both alive.
#pragma once

#include "engine/mapped_file.hpp"
#include "kernels/dtype.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rwkv::engine {

struct tensor {
  kernels::dtype type = kernels::dtype::f32;
  std::vector<std::int64_t> shape;  // outermost first (PyTorch order)
  const void* data = nullptr;       // contiguous, row-major
  std::size_t nbytes = 0;
  // A matrix stored transposed: `shape` is the canonical [a, b], the bytes hold [b][a] row-major
  // (rows of a values, blocks along them). Linear-layout files (Hugging Face, GGUF, rwkv.cpp) keep
  // BlinkDL's x @ W LoRA matrices this way, which is also the layout the kernels want, so readers
  // mark them instead of transposing: they are used as stored, in their stored encoding.
  bool transposed = false;

  std::int64_t numel() const noexcept;
  // Values per stored row: a.k.a. the row length the encoding's blocks run along.
  std::int64_t row_length() const noexcept;
  // Shape as "[2, 64]" for messages.
  std::string shape_string() const;
};

class tensor_store {
 public:
  // Where the tensors came from, for messages and `info`: "pth", "safetensors", "gguf", "rwkv.cpp".
  std::string format;
  std::string source;  // file path or "<embedded>"

  // Metadata a format carries besides tensors (GGUF key/values, safetensors header, config.json):
  // string values only, enough for version hints and an embedded vocabulary.
  std::map<std::string, std::string> metadata;
  std::vector<std::string> vocab;  // token texts when the file embeds a vocabulary (GGUF)

  void keep_alive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  // Keeps a mapped file alive and remembers it for release_pages.
  void keep_mapping(std::shared_ptr<const mapped_file> file) {
    mappings_.push_back(file);
    owners_.push_back(std::move(file));
  }
  // Tells the OS that the bytes [p, p + n) — a tensor the backend has copied — will not be read
  // soon: where they lie in a file mapping, their pages leave this process's resident memory (and
  // are read back from the file if touched again). Elsewhere nothing happens.
  void release_pages(const void* p, std::size_t n) const noexcept;

  // Adds a tensor that borrows memory kept alive by an owner (copied instead when its address is
  // not aligned for its element type). Throws errc::bad_format on a duplicate name or when nbytes
  // does not match shape and type.
  void add(const std::string& name, tensor t);
  // Adds a tensor whose bytes the store owns (transformed or converted data).
  void add_owned(const std::string& name, kernels::dtype type, std::vector<std::int64_t> shape,
                 std::vector<std::uint8_t> bytes);
  void add_owned_f32(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> values);

  const tensor* find(const std::string& name) const noexcept;
  bool contains(const std::string& name) const noexcept { return find(name) != nullptr; }
  const std::map<std::string, tensor>& tensors() const noexcept { return tensors_; }
  std::size_t size() const noexcept { return tensors_.size(); }

  // fp32 copy of a tensor of any type, in canonical order (transposed tensors are transposed back).
  std::vector<float> to_f32(const std::string& name) const;

 private:
  std::map<std::string, tensor> tensors_;
  std::vector<std::shared_ptr<const void>> owners_;
  std::vector<std::shared_ptr<const mapped_file>> mappings_;
};

// Reads any supported model file, recognised by its content (magic bytes), not its extension.
// Throws engine::error with a message naming the file and what to do.
tensor_store read_model_file(const std::string& path);
// Same for bytes already in memory (the embedded model); `name` is used in messages.
tensor_store read_model_bytes(std::shared_ptr<const mapped_file> file);

}  // namespace rwkv::engine
