// What all tokenizers share: decoding by concatenation, and recognising a tokenizer file by its
// content (load_tokenizer), which hands it to the reader of its kind.
#include "engine/tokenizer.hpp"

#include "engine/error.hpp"
#include "engine/mapped_file.hpp"
#include "tokenizer/bpe_tokenizer.hpp"

#include <nlohmann/json.hpp>

namespace rwkv::engine {

namespace {

// A Hugging Face tokenizer.json: {"model": {"type": "BPE", "vocab": {...}, "merges": [...]}, ...}.
std::unique_ptr<tokenizer> hf_tokenizer_from_json(std::string_view content, const std::string& path) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(content);
  } catch (const nlohmann::json::exception& e) {
    throw error(errc::bad_format, "'" + path + "' looks like JSON but does not parse (" + e.what() +
                                      "); expected a Hugging Face tokenizer.json");
  }
  const auto model = root.is_object() ? root.find("model") : root.end();
  if (!root.is_object() || model == root.end() || !model->is_object() || !model->contains("type") ||
      !(*model)["type"].is_string())
    throw error(errc::bad_format, "'" + path + "' is JSON but not a Hugging Face tokenizer.json (it lacks "
                                  "\"model\": {\"type\": ...})");
  const auto type = (*model)["type"].get<std::string>();
  if (type == "BPE") return make_bpe_tokenizer(parse_bpe_tokenizer_json(root, path));
  throw error(errc::unsupported, "'" + path + "' is a tokenizer.json of model type \"" + type +
                                     "\"; rwkv-lsp reads only the RWKV World vocabulary and BPE tokenizers");
}

}  // namespace

std::string tokenizer::decode(std::span<const std::int32_t> tokens) const {
  std::string text;
  text.reserve(tokens.size() * 4);
  for (const std::int32_t id : tokens) text.append(token_bytes(id));
  return text;
}

std::unique_ptr<tokenizer> load_tokenizer(const std::string& path) {
  const mapped_file file(path);
  const std::string_view content(reinterpret_cast<const char*>(file.data()), file.size());
  std::string_view start = content;
  if (start.starts_with("\xEF\xBB\xBF")) start.remove_prefix(3);
  start.remove_prefix(std::min(start.size(), start.find_first_not_of(" \t\r\n")));
  if (start.empty()) throw error(errc::bad_format, "'" + path + "' is empty, not a tokenizer file");
  if (start.front() == '{') return hf_tokenizer_from_json(content, path);
  if (start.front() >= '1' && start.front() <= '9') return make_world_tokenizer_from_text(content, path);
  throw error(errc::bad_format,
              "'" + path + "' is not a tokenizer file rwkv-lsp recognises: expected the RWKV World vocabulary "
              "(rwkv_vocab_v20230424.txt, lines like `261 '\\n\\n' 2`) or a Hugging Face tokenizer.json");
}

}  // namespace rwkv::engine
