// Internal to the engine: the byte-level BPE tokenizer (bpe_tokenizer.cpp) and its definition as
// read from a Hugging Face tokenizer.json (bpe_json.cpp).
#pragma once

#include "engine/tokenizer.hpp"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace rwkv::engine {

struct bpe_definition {
  struct merge {
    std::int32_t rank;    // position in the merges list: lower merges first
    std::int32_t merged;  // id of the concatenation
  };
  struct added_token {
    std::int32_t id;
    std::string content;
    bool normalized;  // matched after normalization (true) or in the raw text (false)
  };

  static std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }

  std::vector<std::string> bytes_by_id;      // raw bytes of each id ("" for unused ids)
  std::array<std::int32_t, 256> byte_ids{};  // the single-byte token of each byte, -1 if none
  std::unordered_map<std::uint64_t, merge> merges;
  std::vector<added_token> added;
  std::array<std::vector<const added_token*>, 256> added_by_first_byte;  // points into `added`
  std::optional<std::int32_t> end_of_text;
  bool nfc = false;
  bool add_prefix_space = false;
};

// Reads {"model": {"type": "BPE", "vocab", "merges"}, "added_tokens", "normalizer",
// "pre_tokenizer", "decoder"}. Throws engine::error: bad_format for malformed content (a merge of
// unknown tokens, a missing byte token, ...), unsupported for options this implementation does
// not honour (other normalizers or pre-tokenizers, dropout, added tokens with lstrip/rstrip/
// single_word), naming them.
bpe_definition parse_bpe_tokenizer_json(const nlohmann::json& root, const std::string& path);

std::unique_ptr<tokenizer> make_bpe_tokenizer(bpe_definition definition);

// GPT-2's byte -> character map (bytes_to_unicode), indexed by byte.
std::u32string byte_level_alphabet();

}  // namespace rwkv::engine
