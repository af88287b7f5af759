// `rwkv-lsp bench`: single-token (generation) and sequence-mode (prefill) speed of a model file or
// of a random-weight model of a real shape, next to the limits of this machine measured in the
// same run (read bandwidth, peak of the dot instruction the weights use), as one JSON object.
//
// Generation reads every weight once per token, so its limit is bytes_per_token / bandwidth;
// prefill multiplies every weight with every token, so its limit is the dot instruction's peak.
// With --runs N each figure is the median of N measurements (the individual runs are listed).
//
// A VM's read bandwidth moves within seconds (this project's: 36 or 62 GB/s, minutes apart), so
// besides the best probe of the whole run (machine_read_gb_s), each generation run is bracketed by
// probe readings, and gen_fraction_of_bandwidth is the median over runs of that run's bandwidth
// against the better of the readings taken just before and just after it.
// gen_fraction_of_best_bandwidth compares the median run with the best reading of all.
#include "common.hpp"

#include "engine/context.hpp"
#include "engine/random_model.hpp"
#include "kernels/machine_probe.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <random>
#include <string>

namespace rwkv::cli {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = -1;
  in >> one;
  return one;
}

// The processor the figures belong to, from the first entry of /proc/cpuinfo: its name and, on
// x86, CPUID family and model (which tell generations apart that share a name, such as "AMD EPYC"
// in a VM). Null where the file is missing.
nlohmann::json cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  nlohmann::json cpu = nlohmann::json::object();
  for (std::string line; std::getline(in, line) && !line.empty();) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name") cpu["name"] = value;
    if (key == "cpu family" || key == "model") {
      try {
        cpu[key == "model" ? "model" : "family"] = std::stoi(value);
      } catch (const std::exception&) {
      }
    }
  }
  return cpu.empty() ? nlohmann::json() : cpu;
}

// The instruction the large matrices' products use (see kernels::precision).
kernels::dot_instruction dot_used(kernels::dtype t, kernels::precision p, const std::string& isa) {
  if (p == kernels::precision::fast) {
    if (t == kernels::dtype::bf16 && isa.find("bf16") != std::string::npos) return kernels::dot_instruction::bf16_dot;
    // Every block format runs through the int8 kernels (K-quants as q4_1 / q5_1 / q8_0).
    if (kernels::dtype_is_quantized(t) && isa.find("vnni") != std::string::npos)
      return kernels::dot_instruction::int8_dot;
  }
  return kernels::dot_instruction::fma_f32;
}

std::shared_ptr<const engine::model> bench_model(const args& a, std::string& what) {
  if (auto spec = random_shape_from(a, "--model")) {
    auto o = load_options_from(a, kernels::precision::fast);
    if (o.weight_type && kernels::dtype_row_bytes(*o.weight_type, spec->n_embd) > 0 &&
        !kernels::dtype_is_quantized(*o.weight_type)) {
      spec->matrix_type = *o.weight_type;  // build plain types directly instead of converting
      o.weight_type.reset();
    }
    what = "random RWKV-7 " + *a.get("--random-shape");
    return engine::model::from_store(engine::make_random_model(*spec), o);
  }
  auto m = open_model(a, kernels::precision::fast);
  what = m->source();
  return m;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  args a(argc, argv, 2, with_model_options({"--random-shape", "--prefill", "--gen", "--chunk", "--seed", "--runs"}),
         {"--no-probe"});
  std::string what;
  const auto m = bench_model(a, what);
  const auto prefill = a.get_int("--prefill", 512, 1, 1 << 20);
  const auto gen = a.get_int("--gen", 128, 1, 1 << 20);
  const auto runs = a.get_int("--runs", 1, 1, 100);
  const auto V = m->config().n_vocab;
  std::mt19937 rng(static_cast<std::uint32_t>(a.get_int("--seed", 1, 0, 1 << 30)));
  std::uniform_int_distribution<int> dist(0, V - 1);
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(prefill));
  for (auto& t : tokens) t = dist(rng);

  engine::context ctx(m);
  std::vector<float> logits(static_cast<std::size_t>(V));
  using clock = std::chrono::steady_clock;
  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };

  engine::eval_options seq;
  seq.chunk = a.get_int("--chunk", 0, 0, 1 << 20);
  engine::eval_options rnn;
  rnn.mode = engine::eval_mode::rnn;
  {  // Warm-up: every weight touched (page faults of mapped files are not timed), scratch grown to
     // its size in the timed runs, so that the peak RSS read next is the model's.
    auto s = m->initial_state();
    ctx.eval(tokens, s, logits.data(), seq);
    ctx.eval(std::span(tokens).first(1), s, logits.data(), rnn);
  }
  const double rss = peak_rss_mb();  // before the probe allocates its buffer
  const bool probing = !a.flag("--no-probe");
  std::optional<kernels::read_probe> probe;
  if (probing) probe.emplace(m->backend_info().threads);
  const double bytes = static_cast<double>(m->bytes_per_token());
  constexpr int bracket_passes = 4;  // ~25 ms of a 256 MiB buffer at 40 GB/s

  std::vector<double> prefill_runs, gen_runs, read_runs, fraction_runs;
  for (std::int64_t r = 0; r < runs; ++r) {
    auto s = m->initial_state();
    auto t0 = clock::now();
    ctx.eval(tokens, s, logits.data(), seq);
    prefill_runs.push_back(static_cast<double>(prefill) / seconds(clock::now() - t0));

    const double before = probing ? probe->measure(bracket_passes) : 0.0;
    std::int32_t next = tokens.back();
    t0 = clock::now();
    for (std::int64_t i = 0; i < gen; ++i) {
      ctx.eval(std::span(&next, 1), s, logits.data(), rnn);
      next = dist(rng);
    }
    gen_runs.push_back(static_cast<double>(gen) / seconds(clock::now() - t0));
    if (probing) {
      const double read = std::max(before, probe->measure(bracket_passes));
      read_runs.push_back(read);
      fraction_runs.push_back(read > 0 ? bytes * gen_runs.back() / 1e9 / read : 0.0);
    }
  }

  const auto be = m->backend_info();
  const double prefill_tok_s = median(prefill_runs), gen_tok_s = median(gen_runs);
  const double flops = 2.0 * static_cast<double>(m->matmul_params(false));
  const auto dot = dot_used(m->compute_weights_dtype(), be.precision, be.isa);
  nlohmann::json out = {{"model", what},
                        {"version", engine::architecture_name(m->config().arch)},
                        {"stored_dtype", kernels::dtype_name(m->weights_dtype())},
                        {"weights_dtype", kernels::dtype_name(m->compute_weights_dtype())},
                        {"precision", kernels::precision_name(be.precision)},
                        {"backend", be.name},
                        {"isa", be.isa},
                        {"threads", be.threads},
                        {"prefill_tokens", prefill},
                        {"gen_tokens", gen},
                        {"chunk", seq.chunk > 0 ? seq.chunk : ctx.default_chunk()},
                        {"runs", runs},
                        {"prefill_tok_s", prefill_tok_s},
                        {"gen_tok_s", gen_tok_s},
                        {"prefill_tok_s_runs", prefill_runs},
                        {"gen_tok_s_runs", gen_runs},
                        {"prefill_speedup_per_token", prefill_tok_s / gen_tok_s},
                        {"bytes_per_token", m->bytes_per_token()},
                        {"gen_gb_s", bytes * gen_tok_s / 1e9},
                        {"flops_per_token", flops},
                        {"prefill_gflop_s", flops * prefill_tok_s / 1e9},
                        {"peak_instruction", kernels::dot_instruction_name(dot)},
                        {"peak_rss_mb", rss},
                        {"weights_owned_mb", static_cast<double>(m->owned_weight_bytes()) / (1 << 20)},
                        {"load_average_1min", load_average()},
                        {"cpu", cpu_description()}};
  if (probing) {
    double read = probe->measure(12);
    for (double v : read_runs) read = std::max(read, v);
    const double fma = kernels::measure_peak_gflop_s(kernels::dot_instruction::fma_f32, be.threads);
    const double bf16 = kernels::measure_peak_gflop_s(kernels::dot_instruction::bf16_dot, be.threads);
    const double int8 = kernels::measure_peak_gflop_s(kernels::dot_instruction::int8_dot, be.threads);
    const double peak = dot == kernels::dot_instruction::bf16_dot ? bf16 : dot == kernels::dot_instruction::int8_dot ? int8 : fma;
    out["machine_read_gb_s"] = read;
    out["machine_peak_gflop_s"] = peak;
    out["machine_peaks_gflop_s"] = {{"vfmadd231ps", fma}, {"vdpbf16ps", bf16}, {"vpdpbusd", int8}};
    out["gen_bandwidth_limit_tok_s"] = read * 1e9 / bytes;
    out["gen_read_gb_s_runs"] = read_runs;
    out["gen_fraction_of_bandwidth_runs"] = fraction_runs;
    out["gen_fraction_of_bandwidth"] = median(fraction_runs);
    out["gen_fraction_of_best_bandwidth"] = read > 0 ? bytes * gen_tok_s / 1e9 / read : 0.0;
    out["prefill_fraction_of_peak"] = peak > 0 ? flops * prefill_tok_s / 1e9 / peak : 0.0;
    // The prefill target is stated against the bf16 dot peak whatever the weights are.
    out["prefill_fraction_of_bf16_peak"] = bf16 > 0 ? flops * prefill_tok_s / 1e9 / bf16 : 0.0;
  }
  print_json(out);
  return 0;
}

}  // namespace rwkv::cli
