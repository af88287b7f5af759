// The byte tokenizer of byte-level models (vocab 256): token = byte value, no end-of-text id.
#include "engine/error.hpp"
#include "engine/tokenizer.hpp"

#include <array>

namespace rwkv::engine {

namespace {

class byte_tokenizer final : public tokenizer {
 public:
  byte_tokenizer() {
    for (std::size_t b = 0; b < bytes_.size(); ++b) bytes_[b] = static_cast<char>(b);
  }

  std::string_view name() const noexcept override { return "bytes"; }
  std::int64_t vocab_size() const noexcept override { return 256; }
  std::optional<std::int32_t> end_of_text() const noexcept override { return std::nullopt; }

  std::vector<std::int32_t> encode(std::string_view text) const override {
    std::vector<std::int32_t> tokens(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) tokens[i] = static_cast<unsigned char>(text[i]);
    return tokens;
  }

  std::string decode(std::span<const std::int32_t> tokens) const override {
    std::string text(tokens.size(), '\0');
    for (std::size_t i = 0; i < tokens.size(); ++i) text[i] = token_bytes(tokens[i])[0];
    return text;
  }

  std::string_view token_bytes(std::int32_t id) const override {
    if (id < 0 || id > 255)
      throw error(errc::bad_argument, "token id " + std::to_string(id) + " is not a byte (0-255)");
    return std::string_view(&bytes_[static_cast<std::size_t>(id)], 1);
  }

  bool is_resync_point(std::string_view text, std::size_t offset) const override {
    return offset <= text.size();
  }
  std::size_t lookahead_bytes() const noexcept override { return 1; }

 private:
  std::array<char, 256> bytes_{};  // the backing store of token_bytes' one-byte views
};

}  // namespace

std::unique_ptr<tokenizer> make_byte_tokenizer() { return std::make_unique<byte_tokenizer>(); }

}  // namespace rwkv::engine
