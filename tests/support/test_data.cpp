#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace rwkv::test {

std::optional<std::string> shared_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("RWKV_LSP_SHARED"); env && *env && fs::is_directory(env)) return std::string(env);
  for (const char* candidate : {RWKV_LSP_SHARED_DIR, "../shared"})
    if (fs::is_directory(candidate)) return fs::canonical(candidate).string();
  return std::nullopt;
}

std::optional<std::string> shared_file(const std::string& relative) {
  auto dir = shared_dir();
  if (!dir) return std::nullopt;
  auto path = std::filesystem::path(*dir) / relative;
  if (!std::filesystem::exists(path)) return std::nullopt;
  return path.string();
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::string temp_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  std::random_device rd;
  auto dir = fs::temp_directory_path() / ("rwkv-lsp-test-" + tag + "-" + std::to_string(rd()));
  fs::create_directories(dir);
  return dir.string();
}

}  // namespace rwkv::test
