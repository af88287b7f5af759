// `rwkv-lsp serve` (and plain `rwkv-lsp`, as editors start it): the language server.
#include "common.hpp"

#include "lsp/engine_service.hpp"
#include "lsp/serve.hpp"

#include <iostream>
#include <stdexcept>

namespace rwkv::cli {

int cmd_serve(int argc, char** argv, int first) {
  std::vector<std::string> rest(argv + first, argv + argc);
  lsp::serve_options options;
  try {
    options = lsp::parse_serve_args(rest);
  } catch (const std::invalid_argument& e) {
    std::cerr << "rwkv-lsp serve: " << e.what() << "\n" << lsp::serve_usage();
    return 2;
  }
  if (options.help) {
    std::cout << lsp::serve_usage();
    return 0;
  }
  lsp::engine_service::options so;
  lsp::engine_service service(std::move(so));
  return lsp::serve(options, service);
}

}  // namespace rwkv::cli
