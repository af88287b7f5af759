// A Hugging Face tokenizer.json with a byte-level BPE model, read into a bpe_definition
// (format: the tokenizers library's serialization, e.g. GPT-NeoX 20B's 20B_tokenizer.json).
#include "engine/error.hpp"
#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/unicode.hpp"

#include <nlohmann/json.hpp>

namespace rwkv::engine {

namespace {

constexpr std::int64_t max_id = (1 << 22) - 1;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw error(errc::bad_format, "'" + path + "': " + what);
}

[[noreturn]] void unsupported(const std::string& path, const std::string& what) {
  throw error(errc::unsupported, "'" + path + "' " + what + "; rwkv-lsp reads byte-level BPE tokenizers such as "
                                                             "GPT-NeoX 20B's (NFC or no normalizer, ByteLevel pre-tokenizer)");
}

std::string type_of(const nlohmann::json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : std::string();
}

// A byte-level token ("Ġthe") back to its bytes (" the"); nullopt when a character is outside
// GPT-2's byte alphabet.
std::optional<std::string> token_to_bytes(const std::string& token, const std::vector<int>& byte_of_char) {
  std::string out;
  for (std::size_t i = 0; i < token.size();) {
    const auto d = tokenizers::decode_utf8(token, i);
    if (!d.valid || d.cp >= byte_of_char.size() || byte_of_char[d.cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(byte_of_char[d.cp]));
    i += d.length;
  }
  return out;
}

}  // namespace

bpe_definition parse_bpe_tokenizer_json(const nlohmann::json& root, const std::string& path) {
  bpe_definition d;
  const auto& model = root["model"];

  // normalizer: none, NFC, or a sequence of just NFC
  if (root.contains("normalizer") && !root["normalizer"].is_null()) {
    const auto& n = root["normalizer"];
    const std::string t = type_of(n);
    if (t == "NFC") d.nfc = true;
    else if (t == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array() && n["normalizers"].size() == 1 &&
             type_of(n["normalizers"][0]) == "NFC")
      d.nfc = true;
    else unsupported(path, "uses the normalizer " + (t.empty() ? n.dump().substr(0, 60) : t));
  }
  // pre-tokenizer: ByteLevel with its regex
  const auto& pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"] : nlohmann::json();
  if (type_of(pre) != "ByteLevel") unsupported(path, "uses the pre-tokenizer " + (pre.is_null() ? "null" : type_of(pre)));
  if (pre.contains("use_regex") && pre["use_regex"].is_boolean() && !pre["use_regex"].get<bool>())
    unsupported(path, "has a ByteLevel pre-tokenizer without its regex");
  d.add_prefix_space = pre.value("add_prefix_space", false);
  if (root.contains("decoder") && !root["decoder"].is_null() && type_of(root["decoder"]) != "ByteLevel")
    unsupported(path, "uses the decoder " + type_of(root["decoder"]));
  // model options that would change the result
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].is_number() && model["dropout"].get<double>() != 0)
    unsupported(path, "uses BPE dropout");
  for (const char* flag : {"byte_fallback", "ignore_merges"})
    if (model.contains(flag) && model[flag].is_boolean() && model[flag].get<bool>()) unsupported(path, std::string("sets ") + flag);
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(affix) && model[affix].is_string() && !model[affix].get<std::string>().empty())
      unsupported(path, std::string("sets ") + affix);

  const std::u32string alphabet = byte_level_alphabet();
  std::vector<int> byte_of_char(512, -1);
  for (int b = 0; b < 256; ++b) byte_of_char[alphabet[static_cast<std::size_t>(b)]] = b;

  if (!model.contains("vocab") || !model["vocab"].is_object()) bad(path, "the BPE model has no \"vocab\" object");
  std::unordered_map<std::string, std::int32_t> ids;  // byte-level token text -> id
  ids.reserve(model["vocab"].size());
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > max_id)
      bad(path, "token '" + token + "' has an invalid id");
    const auto i = static_cast<std::int32_t>(id.get<std::int64_t>());
    const auto raw = token_to_bytes(token, byte_of_char);
    if (!raw) bad(path, "token '" + token + "' has characters outside the byte-level alphabet");
    if (d.bytes_by_id.size() <= static_cast<std::size_t>(i)) d.bytes_by_id.resize(static_cast<std::size_t>(i) + 1);
    d.bytes_by_id[static_cast<std::size_t>(i)] = *raw;
    ids.emplace(token, i);
  }
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    const char32_t c = alphabet[static_cast<std::size_t>(b)];
    if (c < 0x80) ch.push_back(static_cast<char>(c));
    else ch = {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    // GPT-NeoX 20B has no token for the bytes that never occur in UTF-8 (0xC0, 0xC1, 0xF5-0xFF).
    const auto it = ids.find(ch);
    d.byte_ids[static_cast<std::size_t>(b)] = it == ids.end() ? -1 : it->second;
    if (it == ids.end() && b < 0x80) bad(path, "the vocabulary lacks the token for the ASCII byte " + std::to_string(b));
  }
  for (const char* b : {"\xEF", "\xBF", "\xBD"})
    if (d.byte_ids[static_cast<unsigned char>(b[0])] < 0)
      bad(path, "the vocabulary lacks a byte of U+FFFD, which stands for bytes without a token");

  if (!model.contains("merges") || !model["merges"].is_array()) bad(path, "the BPE model has no \"merges\" list");
  std::int32_t rank = 0;
  for (const auto& m : model["merges"]) {
    std::string left, right;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const auto space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == s.size()) bad(path, "merge '" + s + "' is not \"a b\"");
      left = s.substr(0, space), right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>(), right = m[1].get<std::string>();
    } else {
      bad(path, "a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
    const auto l = ids.find(left), r = ids.find(right), lr = ids.find(left + right);
    if (l == ids.end() || r == ids.end() || lr == ids.end())
      bad(path, "merge '" + left + " " + right + "' uses or makes a token missing from the vocabulary");
    d.merges.emplace(bpe_definition::pair_key(l->second, r->second), bpe_definition::merge{rank++, lr->second});
  }

  if (root.contains("added_tokens") && root["added_tokens"].is_array()) {
    for (const auto& a : root["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a.contains("content") || !a["id"].is_number_integer() ||
          !a["content"].is_string())
        bad(path, "an added token lacks an integer id or a content string");
      const auto id = a["id"].get<std::int64_t>();
      const auto content = a["content"].get<std::string>();
      if (id < 0 || id > max_id || content.empty()) bad(path, "added token '" + content + "' has an invalid id or is empty");
      for (const char* flag : {"single_word", "lstrip", "rstrip"})
        if (a.value(flag, false)) unsupported(path, "has added token '" + content + "' with " + flag);
      d.added.push_back({static_cast<std::int32_t>(id), content, a.value("normalized", !a.value("special", false))});
      if (d.bytes_by_id.size() <= static_cast<std::size_t>(id)) d.bytes_by_id.resize(static_cast<std::size_t>(id) + 1);
      d.bytes_by_id[static_cast<std::size_t>(id)] = content;
      if (content == "<|endoftext|>") d.end_of_text = static_cast<std::int32_t>(id);
    }
  }
  for (const auto& a : d.added) d.added_by_first_byte[static_cast<unsigned char>(a.content[0])].push_back(&a);
  return d;
}

}  // namespace rwkv::engine
