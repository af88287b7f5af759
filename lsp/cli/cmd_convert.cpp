// `rwkv-lsp convert`: any model file rwkv-lsp reads -> GGUF (llama.cpp's rwkv6/rwkv7 layout) or
// safetensors (BlinkDL names). A progress bar on stderr when it is a terminal, plain lines
// otherwise; a JSON summary on stdout.
#include "common.hpp"

#include "engine/convert.hpp"
#include "engine/error.hpp"
#include "engine/model.hpp"
#include "engine/random_model.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

namespace rwkv::cli {

namespace {

kernels::dtype parse_dtype(const std::string& option, const std::string& value) {
  auto t = kernels::dtype_from_name(value);
  if (!t) throw usage_error("unknown " + option + " '" + value + "' (f32, f16, bf16, q8_0, q6_k, q5_k, q5_1, q5_0, q4_k, q4_1, q4_0)");
  return *t;
}

// The output format: --format when given, else the --out file's extension. A .gguf named
// safetensors (or the reverse) would load — readers go by content — but mislead whoever sees it.
std::string output_format(const std::string& out, const std::optional<std::string>& option) {
  std::string name = out;  // extensions in any case
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string by_name = name.ends_with(".gguf") ? "gguf" : name.ends_with(".safetensors") ? "safetensors" : "";
  if (option) {
    if (*option != "gguf" && *option != "safetensors") throw usage_error("--format must be gguf or safetensors");
    if (!by_name.empty() && by_name != *option)
      throw usage_error("--format " + *option + " but '" + out + "' is named ." + by_name + "; rename it or drop --format");
    return *option;
  }
  if (by_name.empty())
    throw usage_error("cannot tell the output format from '" + out + "': name it .gguf or .safetensors, or give --format");
  return by_name;
}

}  // namespace

int cmd_convert(int argc, char** argv) {
  args a(argc, argv, 2, {"--in", "--random-shape", "--out", "--dtype", "--head-dtype", "--format", "--vocab"}, {});
  // --random-shape writes a random-weight RWKV-7 of a real shape (as `bench` builds), so that other
  // engines can be measured on the same file.
  const auto spec = random_shape_from(a, "--in");
  const std::string in = spec ? "random RWKV-7 " + *a.get("--random-shape") : a.require("--in"), out = a.require("--out");
  engine::convert_options o;
  const std::string format = output_format(out, a.get("--format"));
  if (format == "safetensors") o.format = engine::output_format::safetensors;
  o.dtype = parse_dtype("--dtype", a.get_or("--dtype", "f32"));
  if (auto h = a.get("--head-dtype")) o.head_dtype = parse_dtype("--head-dtype", *h);
  o.vocab_path = a.get_or("--vocab", "");

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  o.progress = [tty](std::size_t done, std::size_t total, const std::string& name) {
    if (tty) {
      constexpr int width = 30;
      const int filled = static_cast<int>(width * done / std::max<std::size_t>(total, 1));
      std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-40.40s", filled, "##############################", width - filled, "",
                   done, total, name.c_str());
      if (done == total) std::fputc('\n', stderr);
    } else if (done == total || done * 10 / total != (done - 1) * 10 / total) {  // every 10%
      std::fprintf(stderr, "converted %zu/%zu tensors (%s)\n", done, total, name.c_str());
    }
    std::fflush(stderr);
  };

  const auto t0 = std::chrono::steady_clock::now();
  const engine::tensor_store store = spec ? engine::make_random_model(*spec) : engine::read_model_file(in);
  const auto config = engine::config_from_tensors(store);
  const auto summary = engine::write_model(store, out, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  print_json({{"in", in},
              {"in_format", store.format},
              {"out", out},
              {"out_format", format},
              {"version", engine::architecture_name(config.arch)},
              {"tensors", summary.tensors},
              {"tensor_types", summary.tensor_types},
              {"vocabulary", summary.vocabulary},
              {"bytes", summary.bytes},
              {"seconds", seconds}});
  return 0;
}

}  // namespace rwkv::cli
