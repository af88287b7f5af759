// Helpers shared by the rwkv-lsp subcommands: loading the model and tokenizer the options name,
// and printing results (JSON on stdout, messages on stderr).
#pragma once

#include "args.hpp"
#include "engine/model.hpp"
#include "engine/random_model.hpp"
#include "engine/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <set>
#include <string>

namespace rwkv::cli {

// Options every model-loading command accepts.
inline const std::set<std::string> model_options = {"--model",     "--threads", "--dtype", "--backend",
                                                    "--precision", "--isa",     "--huge-pages"};

std::set<std::string> with_model_options(std::set<std::string> extra);

// --precision defaults to `fallback` (exact for commands that reproduce reference logits, fast
// for bench).
engine::load_options load_options_from(const args& a, kernels::precision fallback = kernels::precision::exact);
std::shared_ptr<const engine::model> open_model(const args& a, kernels::precision fallback = kernels::precision::exact);
// --random-shape's model spec when the option is given (a usage error when it names no shape or
// comes with `instead_of`, the option it replaces), else nullopt.
std::optional<engine::random_model_spec> random_shape_from(const args& a, const std::string& instead_of);
// --vocab when given, else chosen from the model's vocabulary size.
std::unique_ptr<engine::tokenizer> open_tokenizer(const args& a, const engine::model& m);

void print_json(const nlohmann::json& j);

// Peak resident set size of this process in MiB.
double peak_rss_mb();

struct command {
  const char* name;
  const char* usage;
  int (*run)(int argc, char** argv);  // argv[0] is the program, argv[1] the command name
};

int cmd_info(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_bench_typing(int argc, char** argv);
int cmd_complete(int argc, char** argv);
int cmd_convert(int argc, char** argv);
// Arguments from argv[first] on are the server's (after "serve", or all of them for plain rwkv-lsp).
int cmd_serve(int argc, char** argv, int first);
int cmd_pull(int argc, char** argv);
int cmd_models(int argc, char** argv);

}  // namespace rwkv::cli
