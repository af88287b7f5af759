// Tokenizers: text <-> token ids, for every vocabulary RWKV models ship with.
//
// * world:  the RWKV World vocabulary (rwkv_vocab_v20230424.txt), greedy longest match on bytes.
// * bytes:  token = byte value (vocab 256 models, e.g. the embedded model).
// * gpt-neox-20b: byte-level BPE from a tokenizer.json (RWKV-4 Pile models, vocab 50277).
//
// Tokenizers are immutable after construction and safe to use from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine {

class tokenizer {
 public:
  virtual ~tokenizer() = default;

  virtual std::string_view name() const noexcept = 0;
  // Number of ids the tokenizer can produce or decode (ids are 0 .. vocab_size()-1).
  virtual std::int64_t vocab_size() const noexcept = 0;

  virtual std::vector<std::int32_t> encode(std::string_view text) const = 0;
  // The raw bytes of the tokens, concatenated (a token may hold part of a UTF-8 sequence).
  // Unknown ids throw engine::error(errc::bad_argument).
  virtual std::string decode(std::span<const std::int32_t> tokens) const;
  virtual std::string_view token_bytes(std::int32_t id) const = 0;

  // True when encode(a + b) == encode(a) + encode(b) whenever a ends at a boundary that this
  // returns true for, i.e. tokens after `offset` depend only on text[offset:]. Greedy tokenizers
  // (world, bytes) say true at every token boundary; BPE only at its pre-tokenization splits.
  // Used to re-tokenize edited documents from a safe point instead of from the start.
  virtual bool is_resync_point(std::string_view text, std::size_t offset) const = 0;
};

// The World tokenizer from rwkv_vocab_v20230424.txt (throws engine::error on a malformed file).
std::unique_ptr<tokenizer> load_world_tokenizer(const std::string& vocab_path);
std::unique_ptr<tokenizer> make_world_tokenizer_from_text(std::string_view vocab_file_contents);
std::unique_ptr<tokenizer> make_byte_tokenizer();
// Any tokenizer file, recognised by content: World vocab text, or a Hugging Face tokenizer.json.
std::unique_ptr<tokenizer> load_tokenizer(const std::string& path);

// Turns a stream of token bytes into valid UTF-8 text, holding back an incomplete trailing
// sequence until the bytes that complete it arrive. Invalid bytes become U+FFFD.
class utf8_decoder {
 public:
  // Appends bytes and returns the text that is now complete.
  std::string push(std::string_view bytes);
  // Returns what is held back (as U+FFFD replacements) and resets.
  std::string flush();
  std::size_t pending() const noexcept { return pending_.size(); }

 private:
  std::string pending_;
};

}  // namespace rwkv::engine
