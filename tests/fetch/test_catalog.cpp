// The model catalog and resolving the `model` setting: names, aliases, the cache folder, and the
// messages that tell the user which `rwkv-lsp pull` to run.
#include "engine/error.hpp"
#include "engine/embedded_model.hpp"
#include "engine/model_catalog.hpp"
#include "engine/tokenizer_select.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

using namespace rwkv;
using Catch::Matchers::Contains;

namespace {

std::string resolve_error(const std::string& reference, const std::string& cache_dir = "") {
  try {
    engine::resolve_model_reference(reference, cache_dir);
  } catch (const engine::error& e) {
    CHECK(e.code() == engine::errc::bad_argument);
    return e.what();
  }
  FAIL("'" << reference << "' resolved");
  return "";
}

void touch(const std::string& path, const std::string& content = "x") { std::ofstream(path, std::ios::binary) << content; }

// Points $XDG_CACHE_HOME at a test folder for the lifetime of the object.
struct scoped_cache_home {
  std::string old;
  bool had = false;
  explicit scoped_cache_home(const std::string& dir) {
    if (const char* v = std::getenv("XDG_CACHE_HOME")) {
      had = true;
      old = v;
    }
    ::setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  }
  ~scoped_cache_home() {
    if (had)
      ::setenv("XDG_CACHE_HOME", old.c_str(), 1);
    else
      ::unsetenv("XDG_CACHE_HOME");
  }
};

}  // namespace

TEST_CASE("the catalog has the RWKV-7 G1 models and the World vocabulary, with unique names", "[fetch][catalog]") {
  std::set<std::string> names;
  for (const auto& e : engine::model_catalog()) {
    INFO(e.name);
    CHECK(names.insert(e.name).second);
    for (const auto& a : e.aliases) CHECK(names.insert(a).second);
    CHECK(e.url.rfind("https://", 0) == 0);
    CHECK(e.url.size() > e.file_name.size());
    CHECK(e.url.compare(e.url.size() - e.file_name.size(), e.file_name.size(), e.file_name) == 0);
    if (e.kind == engine::catalog_kind::model) {
      CHECK(e.url.rfind("https://huggingface.co/BlinkDL/rwkv7-g1/resolve/main/", 0) == 0);
      CHECK(e.vocabulary == "world-vocab");
    }
  }
  for (const char* n : {"g1-0.1b", "g1-0.4b", "g1-1.5b", "g1-2.9b", "world-vocab"}) CHECK(engine::find_catalog_entry(n));
  const auto* vocab = engine::find_catalog_entry("world-vocab");
  REQUIRE(vocab);
  // The tokenizer lookup searches the cache for exactly this name.
  CHECK(vocab->file_name == "rwkv_vocab_v20230424.txt");
  CHECK(vocab->sha256.size() == 64);
}

TEST_CASE("catalog names match case-insensitively, by alias, and with .pth", "[fetch][catalog]") {
  const auto* e = engine::find_catalog_entry("rwkv7-g1-0.4b");
  REQUIRE(e);
  CHECK(engine::find_catalog_entry("G1-0.4B") == e);
  CHECK(engine::find_catalog_entry("rwkv7-g1-0.4b-20250324-ctx4096.pth") == e);
  CHECK(engine::find_catalog_entry("g1-0.5b") == nullptr);
  CHECK(engine::find_catalog_entry("") == nullptr);
}

TEST_CASE("resolve_model_reference returns existing paths and cached names", "[fetch][catalog]") {
  auto dir = test::temp_dir("catalog");
  auto own = (std::filesystem::path(dir) / "my-model.pth").string();
  touch(own);
  CHECK(engine::resolve_model_reference(own, dir) == own);

  const auto* e = engine::find_catalog_entry("g1-0.1b");
  REQUIRE(e);
  touch(engine::cached_file_path(*e, dir));
  CHECK(engine::resolve_model_reference("g1-0.1b", dir) == engine::cached_file_path(*e, dir));
  CHECK(engine::resolve_model_reference("rwkv7-g1-0.1b", dir) == engine::cached_file_path(*e, dir));
  // A bare file name is looked up in the cache, with or without .pth.
  CHECK(engine::resolve_model_reference("my-model", dir) == own);
  CHECK(engine::resolve_model_reference("my-model.pth", dir) == own);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a known model that is not pulled yet names the exact pull command", "[fetch][catalog]") {
  auto dir = test::temp_dir("catalog-missing");
  auto message = resolve_error("g1-0.4b", dir);
  CHECK_THAT(message, Contains("not downloaded yet"));
  CHECK_THAT(message, Contains("`rwkv-lsp pull rwkv7-g1-0.4b --cache " + dir + "`"));

  // With the default cache the command has no --cache.
  scoped_cache_home home(dir);
  message = resolve_error("g1-0.4b");
  CHECK_THAT(message, Contains("`rwkv-lsp pull rwkv7-g1-0.4b`"));
  CHECK_THAT(message, Contains(engine::cache_directory()));

  // An interrupted download is mentioned: pulling again resumes it.
  std::filesystem::create_directories(engine::cache_directory());
  touch(engine::cached_file_path(*engine::find_catalog_entry("g1-0.4b")) + ".part");
  CHECK_THAT(resolve_error("g1-0.4b"), Contains("resumes"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("resolve_model_reference explains what is wrong with other references", "[fetch][catalog]") {
  auto dir = test::temp_dir("catalog-bad");
  CHECK(engine::resolve_model_reference("", dir) == engine::embedded_model_name);  // the built-in model
  CHECK(engine::resolve_model_reference("builtin", dir) == engine::embedded_model_name);
  CHECK_THAT(resolve_error("world-vocab", dir), Contains("vocabulary, not a model"));
  CHECK_THAT(resolve_error("/no/such/model.pth", dir), Contains("does not exist"));
  CHECK_THAT(resolve_error("g1-9b", dir), Contains("g1-0.4b"));  // lists the known names
  CHECK_THAT(resolve_error(dir, dir), Contains("is a folder"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("list_cache shows files, partial downloads and recorded checksums", "[fetch][catalog]") {
  auto dir = test::temp_dir("catalog-list");
  const auto* e = engine::find_catalog_entry("g1-1.5b");
  REQUIRE(e);
  touch(engine::cached_file_path(*e, dir) + ".part", "12345");
  touch((std::filesystem::path(dir) / "other.pth").string(), "abc");
  touch((std::filesystem::path(dir) / "other.pth.sha256").string(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  other.pth\n");
  auto files = engine::list_cache(dir);
  REQUIRE(files.size() == 2);
  CHECK(files[0].file_name == "other.pth");
  CHECK(files[0].sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK_FALSE(files[0].partial);
  CHECK(files[0].entry == nullptr);
  CHECK(files[1].partial);
  CHECK(files[1].bytes == 5);
  CHECK(files[1].entry == e);
  CHECK(engine::list_cache(dir + "/missing").empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("describe_model_file reads the architecture without loading weights", "[fetch][catalog]") {
  RWKV_REQUIRE_SHARED(path, "golden/v7-small.pth");
  auto info = engine::describe_model_file(path);
  CHECK(info.format == "pth");
  CHECK(info.config.arch == engine::architecture::v7);
  CHECK(info.config.n_layer == 3);
  CHECK(info.config.n_embd == 128);
  CHECK(info.n_params > 0);
}
