// The RWKV World tokenizer: greedy longest match over bytes against rwkv_vocab_v20230424.txt,
// identical to BlinkDL's TRIE_TOKENIZER (rwkv/rwkv_tokenizer.py) but without executing the file.
#include "engine/error.hpp"
#include "engine/mapped_file.hpp"
#include "engine/tokenizer.hpp"
#include "tokenizer/byte_trie.hpp"
#include "tokenizer/world_vocab.hpp"

#include <algorithm>
#include <cstdio>

namespace rwkv::engine {

namespace {

// The World models' embedding has 65536 rows: ids 1-65529 are tokens, 0 ends a document and
// 65530-65535 are padding. A vocabulary file with higher ids widens it.
constexpr std::int64_t world_model_vocab_size = 65536;

std::vector<tokenizers::byte_trie::entry> trie_entries(const std::vector<tokenizers::vocab_entry>& vocab) {
  std::vector<tokenizers::byte_trie::entry> entries;
  entries.reserve(vocab.size());
  for (const auto& e : vocab) entries.push_back({e.bytes, e.id});
  return entries;
}

class world_tokenizer final : public tokenizer {
 public:
  world_tokenizer(const std::vector<tokenizers::vocab_entry>& vocab, std::string_view source_name)
      : trie_(trie_entries(vocab)) {
    // Greedy matching always advances only if every byte value is a token by itself.
    for (int b = 0; b < 256; ++b) {
      const char byte = static_cast<char>(b);
      if (trie_.find(std::string_view(&byte, 1)) < 0) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(b));
        throw error(errc::bad_format, std::string(source_name) + ": no token for the byte " + hex +
                                          "; a World vocabulary needs all 256 single bytes (ids 1-256)");
      }
    }
    std::int32_t max_id = 0;
    std::size_t total = 0;
    for (const auto& e : vocab) {
      max_id = std::max(max_id, e.id);
      total += e.bytes.size();
    }
    vocab_size_ = std::max<std::int64_t>(world_model_vocab_size, std::int64_t{max_id} + 1);
    // Token bytes back to back; offsets_[id] .. offsets_[id + 1] (empty for ids without a token).
    std::vector<std::string_view> by_id(static_cast<std::size_t>(vocab_size_));
    for (const auto& e : vocab) by_id[static_cast<std::size_t>(e.id)] = e.bytes;
    bytes_.reserve(total);
    offsets_.reserve(by_id.size() + 1);
    for (std::string_view b : by_id) {
      offsets_.push_back(static_cast<std::uint32_t>(bytes_.size()));
      bytes_.append(b);
    }
    offsets_.push_back(static_cast<std::uint32_t>(bytes_.size()));
  }

  std::string_view name() const noexcept override { return "world"; }
  std::int64_t vocab_size() const noexcept override { return vocab_size_; }
  std::optional<std::int32_t> end_of_text() const noexcept override { return 0; }

  std::vector<std::int32_t> encode(std::string_view text) const override {
    std::vector<std::int32_t> tokens;
    tokens.reserve(text.size() / 3 + 1);  // source code averages about 3-4 bytes per token
    const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
    const std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
      const auto m = trie_.longest_match(p + i, n - i);
      tokens.push_back(m.id);  // m.length >= 1: every byte is a token (checked when loading)
      i += m.length;
    }
    return tokens;
  }

  std::string_view token_bytes(std::int32_t id) const override {
    if (id < 0 || id >= vocab_size_)
      throw error(errc::bad_argument, "token id " + std::to_string(id) + " is outside the World vocabulary (0-" +
                                          std::to_string(vocab_size_ - 1) + ")");
    const auto i = static_cast<std::size_t>(id);
    return std::string_view(bytes_).substr(offsets_[i], offsets_[i + 1] - offsets_[i]);
  }

  bool is_resync_point(std::string_view text, std::size_t offset) const override {
    // Greedy: the token chosen at a position depends only on the bytes from there on.
    return offset <= text.size();
  }
  std::size_t lookahead_bytes() const noexcept override { return trie_.max_length(); }

 private:
  tokenizers::byte_trie trie_;
  std::string bytes_;
  std::vector<std::uint32_t> offsets_;
  std::int64_t vocab_size_ = 0;
};

}  // namespace

std::unique_ptr<tokenizer> make_world_tokenizer_from_text(std::string_view vocab_file_contents,
                                                          std::string_view source_name) {
  return std::make_unique<world_tokenizer>(tokenizers::parse_world_vocab(vocab_file_contents, source_name),
                                           source_name);
}

std::unique_ptr<tokenizer> make_world_tokenizer_from_tokens(std::span<const std::string> tokens,
                                                            std::string_view source_name) {
  std::vector<tokenizers::vocab_entry> entries;
  entries.reserve(tokens.size());
  for (std::size_t id = 0; id < tokens.size(); ++id)
    if (!tokens[id].empty()) entries.push_back({static_cast<std::int32_t>(id), tokens[id]});
  if (tokens.size() > static_cast<std::size_t>(tokenizers::max_vocab_id) + 1)
    throw error(errc::bad_format, std::string(source_name) + ": a vocabulary of " + std::to_string(tokens.size()) +
                                      " tokens is larger than rwkv-lsp accepts");
  return std::make_unique<world_tokenizer>(entries, source_name);
}

std::unique_ptr<tokenizer> load_world_tokenizer(const std::string& vocab_path) {
  const mapped_file file(vocab_path);
  return make_world_tokenizer_from_text(
      std::string_view(reinterpret_cast<const char*>(file.data()), file.size()), vocab_path);
}

}  // namespace rwkv::engine
