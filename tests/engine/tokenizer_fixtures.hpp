// Shared helpers of the tokenizer tests: small World vocabularies written in the file format, the
// real World vocabulary loaded once, and catching an engine::error for its code and message.
#pragma once

#include "engine/error.hpp"
#include "engine/tokenizer.hpp"
#include "support/test_data.hpp"

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

namespace rwkv::test {

// Lines 1-256 as the real file writes them: ids 1-128 '\xhh' (str), 129-256 b'\xhh' (bytes).
inline std::string single_byte_lines() {
  std::string text;
  for (int b = 0; b < 256; ++b) {
    char line[32];
    std::snprintf(line, sizeof line, b < 128 ? "%d '\\x%02x' 1\n" : "%d b'\\x%02x' 1\n", b + 1, b);
    text += line;
  }
  return text;
}

// A World tokenizer from the 256 single bytes plus `extra_lines` (ids from 257 on), named "test.txt".
inline std::unique_ptr<engine::tokenizer> small_world(const std::string& extra_lines) {
  return engine::make_world_tokenizer_from_text(single_byte_lines() + extra_lines, "test.txt");
}

// The real World vocabulary, loaded once per test run; nullptr when ../shared is absent.
inline const engine::tokenizer* world_tokenizer() {
  static const std::unique_ptr<engine::tokenizer> world = []() -> std::unique_ptr<engine::tokenizer> {
    auto path = shared_file("vocab/rwkv_vocab_v20230424.txt");
    return path ? engine::load_world_tokenizer(*path) : nullptr;
  }();
  return world.get();
}

struct caught {
  bool thrown = false;
  engine::errc code{};
  std::string message;
};

// Runs `f` and reports the engine::error it throws, if any.
inline caught catch_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const engine::error& e) {
    return {true, e.code(), e.what()};
  }
  return {};
}

}  // namespace rwkv::test

#define RWKV_REQUIRE_WORLD(var)                                                                   \
  const ::rwkv::engine::tokenizer* var = ::rwkv::test::world_tokenizer();                        \
  if (!var) {                                                                                     \
    WARN("skipped: vocab/rwkv_vocab_v20230424.txt not found (set RWKV_LSP_SHARED or put ../shared beside the repo)"); \
    return;                                                                                       \
  }
