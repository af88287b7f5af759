#include "engine/tokenizer_select.hpp"

#include "engine/error.hpp"

#include <cstdlib>
#include <filesystem>

namespace rwkv::engine {

namespace fs = std::filesystem;

namespace {

constexpr const char* world_vocab_file = "rwkv_vocab_v20230424.txt";
constexpr const char* neox_vocab_file = "20B_tokenizer.json";

}  // namespace

std::string cache_directory() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "rwkv-lsp").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "rwkv-lsp").string();
  return (fs::temp_directory_path() / "rwkv-lsp-cache").string();
}

std::vector<std::string> vocabulary_search_path(const std::string& model_path, const std::string& file_name) {
  std::vector<std::string> out;
  if (!model_path.empty()) out.push_back((fs::path(model_path).parent_path() / file_name).string());
  out.push_back((fs::path(cache_directory()) / file_name).string());
  return out;
}

std::unique_ptr<tokenizer> tokenizer_for_model(std::int64_t n_vocab, const std::string& model_path,
                                               const std::string& vocab_override) {
  if (vocab_override == "bytes") {
    if (n_vocab < 256)
      throw error(errc::bad_argument, "the byte tokenizer needs a vocabulary of at least 256 tokens; the model has " +
                                          std::to_string(n_vocab));
    return make_byte_tokenizer();
  }
  if (!vocab_override.empty()) {
    auto t = load_tokenizer(vocab_override);
    if (t->vocab_size() > n_vocab)
      throw error(errc::bad_argument, "the vocabulary '" + vocab_override + "' has " + std::to_string(t->vocab_size()) +
                                          " tokens but the model only " + std::to_string(n_vocab));
    return t;
  }
  if (n_vocab == 256) return make_byte_tokenizer();
  const char* file = n_vocab == 65536 ? world_vocab_file : (n_vocab == 50277 || n_vocab == 50304) ? neox_vocab_file : nullptr;
  if (!file)
    throw error(errc::bad_argument, "the model has a vocabulary of " + std::to_string(n_vocab) +
                                        " tokens that rwkv-lsp cannot guess; pass its tokenizer with --vocab PATH");
  auto candidates = vocabulary_search_path(model_path, file);
  for (const auto& c : candidates)
    if (fs::is_regular_file(c)) return load_tokenizer(c);
  std::string where;
  for (const auto& c : candidates) where += "\n  " + c;
  throw error(errc::bad_argument, std::string("the model needs the vocabulary file ") + file +
                                      ", which was not found in:" + where +
                                      "\npass it with --vocab PATH (setting \"vocab\" in the editor), or run `rwkv-lsp pull " +
                                      (n_vocab == 65536 ? "world-vocab" : "neox-vocab") + "`");
}

}  // namespace rwkv::engine
