// Choosing the tokenizer for a model: an explicit vocabulary file wins; otherwise the model's
// vocabulary size decides (256 -> bytes, 65536 -> World, 50277 -> GPT-NeoX 20B), with the
// vocabulary file looked up beside the model and in the rwkv-lsp cache. The override "bytes" picks
// the byte tokenizer for any model of at least 256 tokens.
#pragma once

#include "engine/tokenizer.hpp"

#include <memory>
#include <string>
#include <vector>

namespace rwkv::engine {

// $XDG_CACHE_HOME/rwkv-lsp, else ~/.cache/rwkv-lsp (not created here).
std::string cache_directory();

// Where a vocabulary file for a model would be looked for, in order.
std::vector<std::string> vocabulary_search_path(const std::string& model_path, const std::string& file_name);

// Throws engine::error(errc::bad_argument) with the exact steps to fix it when no tokenizer fits.
std::unique_ptr<tokenizer> tokenizer_for_model(std::int64_t n_vocab, const std::string& model_path,
                                               const std::string& vocab_override);

}  // namespace rwkv::engine
