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

namespace rwkv::engine::formats {

// PyTorch zip checkpoints written by torch.save (BlinkDL .pth).
void read_pth(std::shared_ptr<const mapped_file> file, tensor_store& out);

}  // namespace rwkv::engine::formats
