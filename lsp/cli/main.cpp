// rwkv-lsp: the language server (the default with no arguments) and its command-line tools.
#include "common.hpp"

#include "engine/error.hpp"

#include <cstring>
#include <iostream>

namespace {

using rwkv::cli::command;

const command commands[] = {
    {"info", "info [--model PATH|builtin] [--threads N] [--dtype T] [--precision exact|fast] [--isa auto|avx512|avx2|scalar]",
     rwkv::cli::cmd_info},
    {"tokenize", "tokenize --vocab PATH (--text S | --file F) [--decode]", rwkv::cli::cmd_tokenize},
    {"eval", "eval --model PATH (--tokens 1,2,3 | --text S [--vocab PATH]) [--mode seq|rnn] [--all-logits] [--threads N]",
     rwkv::cli::cmd_eval},
    {"generate",
     "generate --model PATH [--vocab PATH] --prompt S [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] "
     "[--seed S] [--stream]",
     rwkv::cli::cmd_generate},
    {"complete",
     "complete [--model PATH] --file SOURCE [--line L --column C | --offset BYTES] [--candidates N] [--format json|text]",
     rwkv::cli::cmd_complete},
    {"bench",
     "bench (--model PATH | --random-shape 0.1b|0.4b|1.5b) [--dtype T] [--precision fast|exact] [--threads N] "
     "[--prefill 512] [--gen 128] [--chunk N] [--runs N] [--no-probe]",
     rwkv::cli::cmd_bench},
    {"bench-typing",
     "bench-typing (--model PATH | --random-shape 0.1b) --file SOURCE [--vocab PATH] [--threads N] [--small-tokens 200]",
     rwkv::cli::cmd_bench_typing},
    {"pull", "pull NAME|URL [--cache DIR] [--ca-file PEM] [--proxy URL|none] [--force] [--no-vocab] [--timeout S] [--retries N]",
     rwkv::cli::cmd_pull},
    {"models", "models [--cache DIR]", rwkv::cli::cmd_models},
    {"convert",
     "convert (--in MODEL | --random-shape 0.1b|0.4b|1.5b) --out FILE.gguf|FILE.safetensors [--format gguf|safetensors] "
     "[--dtype f32|f16|bf16|q8_0|q6_k|q5_k|q5_1|q5_0|q4_k|q4_1|q4_0] "
     "[--head-dtype T] [--vocab rwkv_vocab_v20230424.txt]",
     rwkv::cli::cmd_convert},
};

void print_usage(std::ostream& os) {
  os << "usage: rwkv-lsp [serve] [--stdio | --tcp HOST:PORT] [--model PATH] [--vocab PATH] [--threads N]\n"
        "       rwkv-lsp <command> [options]\n\ncommands:\n";
  for (const auto& c : commands) os << "  " << c.usage << '\n';
  os << "\nModel options of every command: --dtype f32|bf16|f16|q8_0|q6_k|q5_k|q4_k|q5_0|q4_0|... converts the large matrices at "
        "load; --precision exact (the default of info and eval) computes in fp32 on the dequantized weights, fast (the "
        "default of the other commands and of the server) rounds "
        "activations to the weights' dot format (bf16 pairs, or int8 per 32-block); --huge-pages 0 keeps memory-mapped "
        "weights in place instead of copying them into 2 MiB pages.\n";
  os << "\nJSON results go to stdout, messages to stderr; the exit code is 0 on success, 1 on an error, 2 on a "
        "usage error.\n";
}

}  // namespace

int main(int argc, char** argv) {
  // Editors start language servers without arguments, or with server options only (--stdio).
  if (argc < 2 || (argv[1][0] == '-' && argv[1][1] == '-' && std::strcmp(argv[1], "--help") != 0))
    return rwkv::cli::cmd_serve(argc, argv, 1);
  const char* name = argv[1];
  if (!std::strcmp(name, "serve")) return rwkv::cli::cmd_serve(argc, argv, 2);
  if (!std::strcmp(name, "--help") || !std::strcmp(name, "-h") || !std::strcmp(name, "help")) {
    print_usage(std::cout);
    return 0;
  }
  for (const auto& c : commands) {
    if (std::strcmp(c.name, name) != 0) continue;
    for (int i = 2; i < argc; ++i)
      if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
        std::cout << "usage: rwkv-lsp " << c.usage << '\n';
        return 0;
      }
    try {
      return c.run(argc, argv);
    } catch (const rwkv::cli::usage_error& e) {
      std::cerr << "rwkv-lsp " << name << ": " << e.what() << "\nusage: rwkv-lsp " << c.usage << '\n';
      return 2;
    } catch (const rwkv::engine::error& e) {
      std::cerr << "rwkv-lsp " << name << ": error: " << e.what() << '\n';
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "rwkv-lsp " << name << ": error: out of memory\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "rwkv-lsp " << name << ": error: " << e.what() << '\n';
      return 1;
    }
  }
  std::cerr << "rwkv-lsp: unknown command '" << name << "'\n";
  print_usage(std::cerr);
  return 2;
}
