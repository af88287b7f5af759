// rwkv-lsp-fake-server: the real protocol layer and transports with the fake completion service,
// for the subprocess tests (tests/lsp/test_subprocess.cpp).
//
//   rwkv-lsp-fake-server [--fake-mode immediate|held|threaded|fail] [--fake-canned TEXT]
//                        [--fake-verbose] [serve options...]
//
// Prints nothing on stderr unless --fake-verbose.
#include "lsp/support/fake_service.hpp"

#include "lsp/serve.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using rwkv::test::fake_service;
  fake_service::mode mode = fake_service::mode::immediate;
  std::string canned = "hello world";
  bool verbose = false;
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--fake-mode" && i + 1 < argc) {
      std::string m = argv[++i];
      mode = m == "held" ? fake_service::mode::held
             : m == "threaded" ? fake_service::mode::threaded
             : m == "fail" ? fake_service::mode::fail
                           : fake_service::mode::immediate;
    } else if (arg == "--fake-canned" && i + 1 < argc) {
      canned = argv[++i];
    } else if (arg == "--fake-verbose") {
      verbose = true;
    } else {
      rest.push_back(arg);
    }
  }
  rwkv::lsp::serve_options options;
  try {
    options = rwkv::lsp::parse_serve_args(rest);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s\n%s", e.what(), rwkv::lsp::serve_usage().c_str());
    return 2;
  }
  fake_service service(mode, canned);
  rwkv::lsp::server_options base;
  base.name = "rwkv-lsp-fake-server";
  base.stderr_log_level = verbose ? 4 : 0;
  return rwkv::lsp::serve(options, service, base);
}
