// Names for the official RWKV models and vocabularies, where they live in the rwkv-lsp cache, and
// the one function the language server calls to turn its `model` setting into a file path.
//
// The catalog is a fixed table compiled in (no network here): `rwkv-lsp pull NAME` downloads an
// entry's URL into the cache (lsp/fetch); everything else only looks at the cache folder
// ($XDG_CACHE_HOME/rwkv-lsp, else ~/.cache/rwkv-lsp; see cache_directory() in tokenizer_select.hpp).
// Files keep their upstream names in the cache, so a vocabulary pulled there is found by the
// tokenizer lookup as well.
//
// All functions are safe to call from any thread; they read the file system and never write it.
#pragma once

#include "engine/model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine {

enum class catalog_kind : std::uint8_t { model, vocabulary };

struct catalog_entry {
  std::string name;                  // canonical name, e.g. "rwkv7-g1-0.4b"
  std::vector<std::string> aliases;  // other accepted spellings, e.g. "g1-0.4b"
  catalog_kind kind = catalog_kind::model;
  std::string file_name;             // name in the cache (the upstream file name)
  std::string url;                   // where `pull` downloads it from
  std::uint64_t approx_bytes = 0;    // size as published (for messages); 0 = unknown
  std::string sha256;                // pinned content hash (lowercase hex) or "" to trust the server's header
  std::string vocabulary;            // for models: the catalog name of the vocabulary they need ("" = none)
  std::string description;           // one line for `models`
};

// The whole table, in display order.
const std::vector<catalog_entry>& model_catalog();

// The entry whose name or alias equals `name` (ASCII case-insensitive; a trailing ".pth" is
// ignored), or nullptr.
const catalog_entry* find_catalog_entry(std::string_view name);

// cache_dir / entry.file_name; cache_dir "" means cache_directory().
std::string cached_file_path(const catalog_entry& entry, const std::string& cache_dir = "");

// Turns the `model` setting (or --model) into a path to an existing model file:
//   * an existing file path (a leading "~/" is expanded) is returned as is;
//   * a catalog name or alias ("g1-0.4b") gives the cached file when it has been pulled;
//   * a file name present in the cache folder ("rwkv7-g1-0.4b-20250324-ctx4096.pth") gives that file.
// Throws engine::error(errc::bad_argument) with a message for the user otherwise; for a known
// name that is not cached yet the message contains the exact command, e.g.
// "... run `rwkv-lsp pull rwkv7-g1-0.4b` ...". An empty reference is an error too (the caller
// decides what "no model configured" means). cache_dir "" means cache_directory().
std::string resolve_model_reference(const std::string& reference, const std::string& cache_dir = "");

// What a model file holds, read from its tensor names and shapes only (the file is mapped, no
// weight is converted): cheap even for multi-GB checkpoints.
struct model_file_info {
  std::string format;   // "pth", ...
  model_config config;  // architecture, sizes
  std::int64_t n_params = 0;
};
// Throws engine::error like model::load when the file is not a model rwkv-lsp can run.
model_file_info describe_model_file(const std::string& path);

// One file in the cache folder, for `rwkv-lsp models`.
struct cached_file {
  std::string path;
  std::string file_name;
  std::uint64_t bytes = 0;
  bool partial = false;                 // an interrupted download (<file>.part); `pull` resumes it
  const catalog_entry* entry = nullptr;  // the catalog entry it belongs to, if any
  std::string sha256;                   // from the <file>.sha256 that `pull` writes, if present
};
// Regular files of the cache folder (not recursive), sorted by name; bookkeeping files
// (*.sha256) are left out. A missing folder gives an empty list.
std::vector<cached_file> list_cache(const std::string& cache_dir = "");

}  // namespace rwkv::engine
