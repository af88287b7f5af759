// The catalog of official models and vocabularies, and resolving the `model` setting against the
// cache folder.
//
// Sources of the table (checked when it was written; see docs/models.md):
//   * models: BlinkDL's Hugging Face repository BlinkDL/rwkv7-g1, fetched through
//     https://huggingface.co/<repo>/resolve/main/<file>; HF answers with a redirect to its CDN that
//     carries the file's SHA-256 (X-Linked-Etag), so no hash is pinned here.
//   * rwkv_vocab_v20230424.txt: BlinkDL/ChatRWKV tokenizer/, 1,093,733 bytes; GitHub's raw server
//     sends no usable checksum, so its SHA-256 is pinned.
//   * 20B_tokenizer.json: BlinkDL/RWKV-LM RWKV-v4/ (GPT-NeoX 20B BPE, for RWKV-4 Pile models).
#include "engine/model_catalog.hpp"

#include "engine/embedded_model.hpp"

#include "engine/error.hpp"
#include "engine/tensor_store.hpp"
#include "engine/tokenizer_select.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace rwkv::engine {

namespace fs = std::filesystem;

namespace {

constexpr const char* hf_g1 = "https://huggingface.co/BlinkDL/rwkv7-g1/resolve/main/";

catalog_entry g1_model(std::string name, std::vector<std::string> aliases, std::string file, std::uint64_t bytes,
                       std::string description) {
  catalog_entry e;
  e.name = std::move(name);
  e.aliases = std::move(aliases);
  e.kind = catalog_kind::model;
  e.url = hf_g1 + file;
  e.file_name = std::move(file);
  e.approx_bytes = bytes;
  e.vocabulary = "world-vocab";
  e.description = std::move(description);
  return e;
}

std::vector<catalog_entry> build_catalog() {
  std::vector<catalog_entry> c;
  c.push_back(g1_model("rwkv7-g1-0.1b", {"g1-0.1b", "rwkv7-g1-0.1b-20250307-ctx4096"},
                       "rwkv7-g1-0.1b-20250307-ctx4096.pth", 382'000'000,
                       "RWKV-7 G1 0.1B (2025-03-07): the smallest and fastest"));
  c.push_back(g1_model("rwkv7-g1-0.4b", {"g1-0.4b", "rwkv7-g1-0.4b-20250324-ctx4096"},
                       "rwkv7-g1-0.4b-20250324-ctx4096.pth", 902'000'000,
                       "RWKV-7 G1 0.4B (2025-03-24): a good default on a laptop CPU"));
  c.push_back(g1_model("rwkv7-g1-1.5b", {"g1-1.5b", "rwkv7-g1-1.5b-20250429-ctx4096"},
                       "rwkv7-g1-1.5b-20250429-ctx4096.pth", 3'060'000'000,
                       "RWKV-7 G1 1.5B (2025-04-29): better completions, wants a desktop-class CPU"));
  c.push_back(g1_model("rwkv7-g1-2.9b", {"g1-2.9b", "rwkv7-g1-2.9b-20250519-ctx4096"},
                       "rwkv7-g1-2.9b-20250519-ctx4096.pth", 5'900'000'000,
                       "RWKV-7 G1 2.9B (2025-05-19): the largest G1, slow on a laptop CPU"));
  // Later training runs on more data (G1a, G1a3): same architecture and vocabulary.
  c.push_back(g1_model("rwkv7-g1a-0.1b", {"g1a-0.1b", "rwkv7-g1a-0.1b-20250728-ctx4096"},
                       "rwkv7-g1a-0.1b-20250728-ctx4096.pth", 382'000'000,
                       "RWKV-7 G1a 0.1B (2025-07-28): G1 0.1B trained further"));
  c.push_back(g1_model("rwkv7-g1a-0.4b", {"g1a-0.4b", "rwkv7-g1a-0.4b-20250905-ctx4096"},
                       "rwkv7-g1a-0.4b-20250905-ctx4096.pth", 902'000'000,
                       "RWKV-7 G1a 0.4B (2025-09-05): G1 0.4B trained further"));
  c.push_back(g1_model("rwkv7-g1a3-1.5b", {"g1a3-1.5b", "rwkv7-g1a3-1.5b-20251015-ctx8192"},
                       "rwkv7-g1a3-1.5b-20251015-ctx8192.pth", 3'055'445'757,
                       "RWKV-7 G1a3 1.5B (2025-10-15, 8k context): G1 1.5B trained further"));
  c.push_back(g1_model("rwkv7-g1a-2.9b", {"g1a-2.9b", "rwkv7-g1a-2.9b-20250924-ctx4096"},
                       "rwkv7-g1a-2.9b-20250924-ctx4096.pth", 5'896'274'949,
                       "RWKV-7 G1a 2.9B (2025-09-24): G1 2.9B trained further"));

  catalog_entry world;
  world.name = "world-vocab";
  world.aliases = {"world", "rwkv-world-vocab", "rwkv_vocab_v20230424", "rwkv_vocab_v20230424.txt"};
  world.kind = catalog_kind::vocabulary;
  world.file_name = "rwkv_vocab_v20230424.txt";
  world.url = "https://raw.githubusercontent.com/BlinkDL/ChatRWKV/main/tokenizer/rwkv_vocab_v20230424.txt";
  world.approx_bytes = 1'093'733;
  world.sha256 = "e6dee3d4e31b4d5c40ac99508ac6c701ceef4bed681bf2167ce9a908552bca89";
  world.description = "the RWKV World vocabulary (65,536 ids) used by World, G0 and G1 models";
  c.push_back(std::move(world));

  catalog_entry neox;
  neox.name = "neox-vocab";
  neox.aliases = {"neox", "20b-tokenizer", "20B_tokenizer.json"};
  neox.kind = catalog_kind::vocabulary;
  neox.file_name = "20B_tokenizer.json";
  neox.url = "https://raw.githubusercontent.com/BlinkDL/RWKV-LM/main/RWKV-v4/20B_tokenizer.json";
  neox.approx_bytes = 2'467'981;
  neox.description = "the GPT-NeoX 20B tokenizer used by RWKV-4 Pile models";
  c.push_back(std::move(neox));
  return c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string normalized_name(std::string_view s) {
  std::string n = lower(s);
  if (n.size() > 4 && n.compare(n.size() - 4, 4, ".pth") == 0) n.resize(n.size() - 4);
  return n;
}

std::string dir_or_default(const std::string& cache_dir) { return cache_dir.empty() ? cache_directory() : cache_dir; }

// "~" and "~/x" -> $HOME/x, the way a shell would, since editor settings are not shell-expanded.
std::string expand_home(const std::string& p) {
  if (p == "~" || p.rfind("~/", 0) == 0) {
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + p.substr(1);
  }
  return p;
}

std::string size_text(std::uint64_t bytes) {
  if (bytes == 0) return "";
  char buf[32];
  if (bytes >= 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.0f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

std::string known_model_names() {
  std::string out;
  for (const auto& e : model_catalog()) {
    if (e.kind != catalog_kind::model) continue;
    if (!out.empty()) out += ", ";
    out += e.aliases.empty() ? e.name : e.aliases.front();
  }
  return out;
}

bool is_regular(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

const std::vector<catalog_entry>& model_catalog() {
  static const std::vector<catalog_entry> catalog = build_catalog();
  return catalog;
}

const catalog_entry* find_catalog_entry(std::string_view name) {
  const std::string wanted = normalized_name(name);
  if (wanted.empty()) return nullptr;
  for (const auto& e : model_catalog()) {
    if (normalized_name(e.name) == wanted) return &e;
    for (const auto& a : e.aliases)
      if (normalized_name(a) == wanted) return &e;
  }
  return nullptr;
}

std::string cached_file_path(const catalog_entry& entry, const std::string& cache_dir) {
  return (fs::path(dir_or_default(cache_dir)) / entry.file_name).string();
}

std::string resolve_model_reference(const std::string& reference, const std::string& cache_dir) {
  // The built-in model ("" or "builtin") is not a file: model::load knows it by name.
  if (reference.empty() || reference == embedded_model_name) return embedded_model_name;
  const std::string dir = dir_or_default(cache_dir);
  const std::string expanded = expand_home(reference);
  std::error_code ec;
  if (is_regular(expanded)) return expanded;
  if (fs::is_directory(expanded, ec))
    throw error(errc::bad_argument, "'" + expanded + "' is a folder; \"model\" needs a model file (e.g. a BlinkDL .pth) or a model name");

  if (const catalog_entry* e = find_catalog_entry(reference)) {
    if (e->kind != catalog_kind::model)
      throw error(errc::bad_argument, "'" + reference + "' is a vocabulary, not a model; set \"model\" to a model name "
                                      "such as g1-0.4b (vocabularies are found automatically once pulled)");
    const std::string path = cached_file_path(*e, dir);
    if (is_regular(path)) return path;
    const std::string command = "rwkv-lsp pull " + e->name + (cache_dir.empty() ? "" : " --cache " + dir);
    std::string message = "the model '" + reference + "'" + (normalized_name(reference) != e->name ? " (" + e->name + ")" : "") +
                          " is not downloaded yet";
    if (is_regular(path + ".part")) message += " (an earlier download stopped part-way; pulling again resumes it)";
    const std::string size = size_text(e->approx_bytes);
    message += ": run `" + command + "` to download it" + (size.empty() ? "" : " (about " + size + ")") + " into " + dir +
               ", then try again";
    throw error(errc::bad_argument, message);
  }

  // A bare file name: look in the cache folder, with and without the .pth extension.
  if (reference.find('/') == std::string::npos) {
    for (const std::string& candidate : {reference, reference + ".pth"}) {
      fs::path p = fs::path(dir) / candidate;
      if (is_regular(p)) return p.string();
    }
    throw error(errc::bad_argument, "'" + reference + "' is neither a model file nor a model name rwkv-lsp knows (names: " +
                                        known_model_names() + "; `rwkv-lsp models` lists them) and there is no such "
                                        "file in " + dir + "; give the path of a model file or a known name");
  }
  throw error(errc::bad_argument, "the model file '" + expanded + "' does not exist; give the path of a model file or a "
                                  "model name such as g1-0.4b (`rwkv-lsp models` lists them)");
}

model_file_info describe_model_file(const std::string& path) {
  tensor_store store = read_model_file(path);
  model_file_info info;
  info.format = store.format;
  info.config = config_from_tensors(store);
  for (const auto& [name, t] : store.tensors()) info.n_params += t.numel();
  return info;
}

std::vector<cached_file> list_cache(const std::string& cache_dir) {
  const fs::path dir = dir_or_default(cache_dir);
  std::vector<cached_file> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return out;
  for (const auto& d : it) {
    std::error_code e2;
    if (!d.is_regular_file(e2)) continue;
    cached_file f;
    f.path = d.path().string();
    f.file_name = d.path().filename().string();
    if (f.file_name.size() > 7 && f.file_name.compare(f.file_name.size() - 7, 7, ".sha256") == 0) continue;
    f.bytes = d.file_size(e2);
    std::string target = f.file_name;
    if (target.size() > 5 && target.compare(target.size() - 5, 5, ".part") == 0) {
      f.partial = true;
      target.resize(target.size() - 5);
    }
    for (const auto& e : model_catalog())
      if (e.file_name == target) f.entry = &e;
    if (!f.partial) {
      std::ifstream side(f.path + ".sha256");
      std::string hex;
      if (side >> hex && is_hex64(hex)) f.sha256 = lower(hex);
    }
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const cached_file& a, const cached_file& b) { return a.file_name < b.file_name; });
  return out;
}

}  // namespace rwkv::engine
