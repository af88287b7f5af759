// Tokenizers: text <-> token ids, for every vocabulary RWKV models ship with.
//
// * world:  the RWKV World vocabulary (rwkv_vocab_v20230424.txt), greedy longest match on bytes.
// * bytes:  token = byte value (vocab 256 models, e.g. the embedded model).
// * bpe:    byte-level BPE from a Hugging Face tokenizer.json — GPT-NeoX 20B's for RWKV-4 Pile
//           models (vocab 50277): added tokens, NFC, GPT-2's pre-tokenizer, merges by rank. Its
//           special tokens (<|endoftext|>) decode to their own text, so decode(encode(t)) == t for
//           any t already in NFC; lookahead_bytes() is SIZE_MAX (a token can depend on any later
//           byte through whitespace runs), is_resync_point holds at lone line breaks.
//
// Text is bytes: encode takes any bytes (valid UTF-8 or not) and decode returns the tokens' bytes,
// which may end inside a UTF-8 character; utf8_decoder (engine/utf8.hpp) turns streamed token
// bytes into displayable text.
//
// Tokenizers are immutable after construction and safe to use from any number of threads.
#pragma once

#include "engine/utf8.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine {

class tokenizer {
 public:
  virtual ~tokenizer() = default;

  virtual std::string_view name() const noexcept = 0;
  // Number of ids the tokenizer can produce or decode (ids are 0 .. vocab_size()-1), which is the
  // number of logits of the models that use it (World: 65536, of which 65530-65535 are padding).
  virtual std::int64_t vocab_size() const noexcept = 0;
  // The id that ends a document (World: 0), if the vocabulary has one. It encodes no text.
  virtual std::optional<std::int32_t> end_of_text() const noexcept = 0;

  // Never fails: every byte string has a tokenization.
  virtual std::vector<std::int32_t> encode(std::string_view text) const = 0;
  // The raw bytes of the tokens, concatenated (a token may hold part of a UTF-8 sequence).
  // Unknown ids throw engine::error(errc::bad_argument).
  virtual std::string decode(std::span<const std::int32_t> tokens) const;
  // The bytes of one token. Ids in [0, vocab_size()) that stand for no text (end of text, padding)
  // give an empty view; ids outside that range throw engine::error(errc::bad_argument). The view
  // lives as long as the tokenizer.
  virtual std::string_view token_bytes(std::int32_t id) const = 0;

  // Re-tokenizing an edited document from a safe point instead of from the start.
  //
  // is_resync_point(text, offset) == true guarantees: whenever `offset` is a token boundary of
  // encode(text) (0, text.size(), or where one token ends and the next begins), then
  //   encode(text) == encode(text[0, offset)) + encode(text[offset, end)).
  // Greedy tokenizers (world, bytes) return true for every offset <= text.size(): a greedy token
  // depends only on the bytes from its start on. BPE says true only at its pre-tokenizer splits.
  // The function cannot know whether `offset` is a boundary; the caller takes offsets from a
  // tokenization it already has. Offsets past text.size() give false.
  virtual bool is_resync_point(std::string_view text, std::size_t offset) const = 0;

  // How many bytes from its start decide a token. Guarantee: an edit of the text at or after byte
  // e (insert, delete or replace) leaves unchanged every token of encode(text) that starts at a byte
  // p with p + lookahead_bytes() <= e, and the boundary where the last of them ends. World: the
  // longest token (128 bytes); bytes: 1; SIZE_MAX when unbounded.
  //
  // With both guarantees a session re-tokenizes an edit at byte e like this: keep the old tokens
  // t_0..t_{k-1} that start at p with p + lookahead_bytes() <= e (they are the first k tokens of
  // encode(new_text) too), and append encode(new_text[b, end)) where b is the end of t_{k-1},
  // provided is_resync_point(new_text, b). The model state after t_{k-1} is reused.
  virtual std::size_t lookahead_bytes() const noexcept = 0;
};

// The World tokenizer from rwkv_vocab_v20230424.txt. Throws engine::error: errc::io when the file
// cannot be read, errc::bad_format ("<file>:<line>: ...") for a malformed line, a duplicate id or a
// vocabulary that lacks a single-byte token for some byte value.
std::unique_ptr<tokenizer> load_world_tokenizer(const std::string& vocab_path);
// The same from the file's contents; `source_name` names it in error messages.
std::unique_ptr<tokenizer> make_world_tokenizer_from_text(std::string_view vocab_file_contents,
                                                          std::string_view source_name = "<vocab>");
// The World tokenizer from token bytes by id (a vocabulary embedded in a model file, e.g. GGUF's
// tokenizer.ggml.tokens): empty entries stand for no text (end of text, padding).
std::unique_ptr<tokenizer> make_world_tokenizer_from_tokens(std::span<const std::string> tokens,
                                                            std::string_view source_name = "<embedded vocabulary>");
std::unique_ptr<tokenizer> make_byte_tokenizer();
// Any tokenizer file, recognised by content: World vocab text, or a Hugging Face tokenizer.json
// with a byte-level BPE model. Throws errc::unsupported for tokenizer.json options it does not
// implement (named in the message) and errc::bad_format for other content.
std::unique_ptr<tokenizer> load_tokenizer(const std::string& path);

}  // namespace rwkv::engine
