// models: what the rwkv-lsp cache holds (each model file probed for its architecture and size
// without loading the weights) and the names `pull` knows.
#include "common.hpp"

#include "engine/error.hpp"
#include "engine/model_catalog.hpp"
#include "engine/tokenizer_select.hpp"

#include <filesystem>
#include <iostream>

namespace rwkv::cli {

namespace {

nlohmann::json describe(const engine::cached_file& f) {
  namespace fs = std::filesystem;
  std::string target = f.partial ? f.file_name.substr(0, f.file_name.size() - 5) : f.file_name;
  nlohmann::json j = {{"name", f.entry ? f.entry->name : fs::path(target).stem().string()},
                      {"file", f.file_name},
                      {"path", f.path},
                      {"bytes", f.bytes}};
  const std::string ext = fs::path(target).extension().string();
  const bool vocabulary = f.entry ? f.entry->kind == engine::catalog_kind::vocabulary : (ext == ".txt" || ext == ".json");
  if (f.partial) {
    j["partial"] = true;
    j["kind"] = vocabulary ? "vocabulary" : "model";
    if (f.entry && f.entry->approx_bytes) j["expected_bytes"] = f.entry->approx_bytes;
    j["hint"] = "an interrupted download: `rwkv-lsp pull " + (f.entry ? f.entry->name : std::string("URL")) + "` continues it";
    return j;
  }
  if (!f.sha256.empty()) j["sha256"] = f.sha256;
  if (vocabulary) {
    j["kind"] = "vocabulary";
    j["format"] = ext == ".json" ? "tokenizer.json" : "rwkv-vocab";
    return j;
  }
  try {
    auto info = engine::describe_model_file(f.path);
    const auto& c = info.config;
    j["kind"] = "model";
    j["format"] = info.format;
    j["version"] = engine::architecture_name(c.arch);
    j["n_layer"] = c.n_layer;
    j["n_embd"] = c.n_embd;
    j["n_vocab"] = c.n_vocab;
    j["n_params"] = info.n_params;
  } catch (const engine::error& e) {
    j["kind"] = "unknown";
    j["error"] = e.what();
  }
  return j;
}

}  // namespace

int cmd_models(int argc, char** argv) {
  args a(argc, argv, 2, {"--cache"}, {});
  if (!a.positional().empty()) throw usage_error("models takes no names; it lists the cache");
  const std::string dir = a.get_or("--cache", engine::cache_directory());

  nlohmann::json cached = nlohmann::json::array();
  bool any_model = false;
  for (const auto& f : engine::list_cache(dir)) {
    cached.push_back(describe(f));
    if (cached.back()["kind"] == "model" && !f.partial) any_model = true;
  }
  nlohmann::json available = nlohmann::json::array();
  for (const auto& e : engine::model_catalog()) {
    std::error_code ec;
    available.push_back({{"name", e.name},
                         {"aliases", e.aliases},
                         {"kind", e.kind == engine::catalog_kind::model ? "model" : "vocabulary"},
                         {"file", e.file_name},
                         {"url", e.url},
                         {"approx_bytes", e.approx_bytes},
                         {"description", e.description},
                         {"cached", std::filesystem::is_regular_file(engine::cached_file_path(e, dir), ec)}});
  }
  if (!any_model)
    std::cerr << "rwkv-lsp models: no model in " << dir << " yet; `rwkv-lsp pull g1-0.4b` downloads one\n";
  print_json({{"cache", dir}, {"cached", cached}, {"available", available}});
  return 0;
}

}  // namespace rwkv::cli
