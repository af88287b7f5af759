// Locating the read-only test data (../shared) and reading its JSON files.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace rwkv::test {

// The shared data folder: $RWKV_LSP_SHARED, else ../shared from the repository root.
// Empty when absent; tests then skip with a message naming what is missing.
std::optional<std::string> shared_dir();
// Path of a file under the shared folder, or nullopt (with a WARN for the log) when it is absent.
std::optional<std::string> shared_file(const std::string& relative);
nlohmann::json read_json(const std::string& path);
// A fresh temporary directory for one test (removed at process exit is not guaranteed).
std::string temp_dir(const std::string& tag);

}  // namespace rwkv::test

// Skips the rest of the test (counted as passed, with a warning in the log) when the shared data
// is missing: CI always has it; a bare checkout still runs everything else.
#define RWKV_REQUIRE_SHARED(var, relative)                                             \
  auto var##_opt = ::rwkv::test::shared_file(relative);                                \
  if (!var##_opt) {                                                                    \
    WARN("skipped: " << (relative) << " not found (set RWKV_LSP_SHARED or put ../shared beside the repo)"); \
    return;                                                                            \
  }                                                                                    \
  const std::string var = *var##_opt
