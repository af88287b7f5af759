// Internal to the safetensors reader: Hugging Face key layouts mapped to BlinkDL names.
//
// Layouts are recognised by their names; config.json (when the folder has one) is read for its
// "architectures" (to refuse non-RWKV models clearly) and "tie_word_embeddings".
#pragma once

#include "engine/tensor_store.hpp"

#include <map>
#include <string>

namespace rwkv::engine::formats {

using raw_tensors = std::map<std::string, tensor>;

// Adds `raw` (file names) to `out` under BlinkDL names, transforming what the layout changed.
// `folder` is where config.json and a tokenizer file may live; the tokenizer found there is noted
// in out.metadata["tokenizer_path"].
void add_canonical(const raw_tensors& raw, const std::string& folder, tensor_store& out);

}  // namespace rwkv::engine::formats
