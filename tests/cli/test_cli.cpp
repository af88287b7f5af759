// The rwkv-lsp executable as users run it: JSON on stdout, errors on stderr, exit codes, and a
// clean error (never a crash) for every kind of broken or hostile model file.
#include "engine/pth_builder.hpp"
#include "engine/tensor_store.hpp"
#include "support/run_process.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

using json = nlohmann::json;
using namespace rwkv;

namespace {

test::process_result cli(const std::vector<std::string>& args) { return test::run_process(RWKV_LSP_SERVER, args); }

std::string write_file(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  static const std::string dir = test::temp_dir("cli");
  auto path = dir + "/" + name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Re-writes a checkpoint's tensors as a new .pth; `edit` may drop (return false) or alter a tensor.
std::vector<std::uint8_t> rewrite_pth(const engine::tensor_store& store,
                                      const std::function<bool(const std::string&, test::tensor_spec&)>& edit) {
  std::vector<test::tensor_spec> specs;
  std::map<std::string, test::bytes> storages;
  int key = 0;
  for (const auto& [name, t] : store.tensors()) {
    test::tensor_spec s;
    s.name = name;
    s.storage_type = t.type == kernels::dtype::f32 ? "FloatStorage" : t.type == kernels::dtype::f16 ? "HalfStorage" : "BFloat16Storage";
    s.key = std::to_string(key++);
    s.storage_numel = t.numel();
    s.size = t.shape;
    s.stride.assign(t.shape.size(), 1);
    for (int i = static_cast<int>(t.shape.size()) - 2; i >= 0; --i) s.stride[i] = s.stride[i + 1] * t.shape[i + 1];
    if (!edit(name, s)) continue;
    auto* p = static_cast<const std::uint8_t*>(t.data);
    storages[s.key] = test::bytes(p, p + t.nbytes);
    specs.push_back(s);
  }
  return test::write_pth(test::state_dict_pickle(specs), storages).data;
}

void expect_clean_error(const std::string& path, const std::string& fragment) {
  auto r = cli({"info", "--model", path});
  INFO(path << "\nstderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("error") != std::string::npos);
  CHECK(r.err.find(fragment) != std::string::npos);
}

}  // namespace

TEST_CASE("info describes every golden model", "[cli]") {
  RWKV_REQUIRE_SHARED(dir, "golden");
  for (const char* name : {"v4-small", "v4-fp16", "v5-small", "v6-small", "v7-small", "v7-bf16"}) {
    auto r = cli({"info", "--model", dir + "/" + name + ".pth"});
    INFO(name << " " << r.err);
    REQUIRE(r.exit_code == 0);
    auto j = json::parse(r.out);
    auto g = test::read_json(dir + "/" + name + ".json");
    CHECK(j["format"] == "pth");
    CHECK(j["n_layer"] == g["n_layer"]);
    CHECK(j["n_embd"] == g["n_embd"]);
    CHECK(j["n_vocab"] == g["n_vocab"]);
    CHECK(j["n_ffn"] == g["ffn"]);
    CHECK(j["weights_dtype"] == (g["weights_dtype"] == "fp32" ? "f32" : g["weights_dtype"] == "fp16" ? "f16" : "bf16"));
    CHECK(j["n_params"].get<std::int64_t>() > 0);
    CHECK(j["version"] == (std::string(name).substr(0, 2) == "v5" ? "5.2" : std::string(1, name[1])));
  }
}

TEST_CASE("eval prints the reference logits in both modes", "[cli]") {
  RWKV_REQUIRE_SHARED(model, "golden/v6-small.pth");
  auto g = test::read_json(test::shared_file("golden/v6-small.json").value());
  std::string tokens;
  for (auto t : g["tokens"]) {
    if (!tokens.empty()) tokens += ',';
    tokens += std::to_string(t.get<int>());
  }
  for (const char* mode : {"seq", "rnn"}) {
    auto r = cli({"eval", "--model", model, "--tokens", tokens, "--mode", mode, "--precision", "exact"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto j = json::parse(r.out);
    auto logits = j["logits"].get<std::vector<float>>();
    auto want = g["logits_last"].get<std::vector<float>>();
    REQUIRE(logits.size() == want.size());
    float worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(logits[i] - want[i]));
    CHECK(worst < 1e-4f);
  }
  auto all = cli({"eval", "--model", model, "--tokens", "1,2,3", "--all-logits"});
  REQUIRE(all.exit_code == 0);
  CHECK(json::parse(all.out)["all_logits"].size() == 3);
}

TEST_CASE("tokenize matches the reference World tokenizer", "[cli]") {
  RWKV_REQUIRE_SHARED(vocab, "vocab/rwkv_vocab_v20230424.txt");
  auto cases = test::read_json(test::shared_file("golden/tokenizer-world.json").value());
  int checked = 0;
  for (const auto& c : cases) {
    if (c["text"].get<std::string>().empty()) continue;
    auto r = cli({"tokenize", "--vocab", vocab, "--text", c["text"].get<std::string>()});
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out)["tokens"] == c["tokens"]);
    if (++checked == 6) break;
  }
}

TEST_CASE("broken and hostile model files get a clean error and exit code 1", "[cli]") {
  RWKV_REQUIRE_SHARED(golden, "golden/v7-small.pth");
  SECTION("empty file") { expect_clean_error(write_file("empty.pth", {}), "empty"); }
  SECTION("missing file") { expect_clean_error("/nonexistent/dir/model.pth", "does not exist"); }
  SECTION("a directory") { expect_clean_error(test::temp_dir("dir"), "is a folder"); }
  SECTION("random bytes") {
    std::mt19937 rng(1);
    std::vector<std::uint8_t> junk(4096);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    expect_clean_error(write_file("random.bin", junk), "not a model file");
  }
  SECTION("truncated zip") {
    auto bytes = read_bytes(golden);
    bytes.resize(bytes.size() / 2);
    expect_clean_error(write_file("truncated.pth", bytes), "error");
  }
  SECTION("a pickle that calls another global") {
    test::pickle_writer p;
    p.proto(2).global("os", "system").mark().unicode("echo pwned").op('t').op('R').stop();
    auto zip = test::write_pth(p.data, {});
    expect_clean_error(write_file("evil.pth", zip.data), "os");
  }
  SECTION("an unknown opcode") {
    test::pickle_writer p;
    p.proto(2).op('}').op(0xfe).stop();
    expect_clean_error(write_file("opcode.pth", test::write_pth(p.data, {}).data), "opcode");
  }
  auto store = engine::read_model_file(golden);
  SECTION("a missing tensor") {
    auto bytes = rewrite_pth(store, [](const std::string& n, test::tensor_spec&) { return n != "blocks.1.att.k_k"; });
    expect_clean_error(write_file("missing.pth", bytes), "blocks.1.att.k_k");
  }
  SECTION("a wrong shape") {
    auto bytes = rewrite_pth(store, [](const std::string& n, test::tensor_spec& s) {
      if (n == "blocks.2.att.key.weight") {  // same bytes, other shape
        s.size = {64, 256};
        s.stride = {256, 1};
      }
      return true;
    });
    expect_clean_error(write_file("shape.pth", bytes), "blocks.2.att.key.weight");
  }
  SECTION("an unknown extra tensor") {
    auto bytes = rewrite_pth(store, [](const std::string& n, test::tensor_spec& s) {
      if (n == "blocks.0.ln1.bias") s.name = "blocks.0.ffn.s_emb.weight";
      return true;
    });
    expect_clean_error(write_file("extra.pth", bytes), "lacks tensor blocks.0.ln1.bias");
  }
}

TEST_CASE("usage errors exit with code 2 and say what is wrong", "[cli]") {
  auto r = cli({"eval", "--tokens", "1,x"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--tokens") != std::string::npos);
  r = cli({"info", "--no-such-option"});
  CHECK(r.exit_code == 2);
  r = cli({"no-such-command"});
  CHECK(r.exit_code == 2);
  r = cli({"--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("usage") != std::string::npos);
  r = cli({"bench", "--help"});  // a command's own usage, on stdout
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("usage: rwkv-lsp bench ") != std::string::npos);
}

TEST_CASE("bench reports each generation run against the bandwidth read around it", "[cli][bench]") {
  RWKV_REQUIRE_SHARED(model, "golden/v7-small.pth");
  auto r = cli({"bench", "--model", model, "--prefill", "8", "--gen", "4", "--runs", "3", "--threads", "1"});
  REQUIRE(r.exit_code == 0);
  const auto out = json::parse(r.out);
  const auto gen = out.at("gen_tok_s_runs").get<std::vector<double>>();
  const auto reads = out.at("gen_read_gb_s_runs").get<std::vector<double>>();
  const auto fractions = out.at("gen_fraction_of_bandwidth_runs").get<std::vector<double>>();
  REQUIRE(gen.size() == 3);
  REQUIRE(reads.size() == 3);
  REQUIRE(fractions.size() == 3);
  if (std::ifstream("/proc/cpuinfo").good()) {  // the processor the figures belong to
    CHECK_FALSE(out.at("cpu").at("name").get<std::string>().empty());
    CHECK(out.at("cpu").at("family").get<int>() > 0);
  }
  const double bytes = out.at("bytes_per_token").get<double>(), best = out.at("machine_read_gb_s").get<double>();
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(reads[i] > 0);
    CHECK(reads[i] <= best);  // the best reading of the whole run includes the bracketing ones
    CHECK(fractions[i] == Approx(bytes * gen[i] / 1e9 / reads[i]));
  }
  auto sorted = fractions;
  std::sort(sorted.begin(), sorted.end());
  CHECK(out.at("gen_fraction_of_bandwidth").get<double>() == Approx(sorted[1]));
  CHECK(out.at("gen_fraction_of_best_bandwidth").get<double>() ==
        Approx(bytes * out.at("gen_tok_s").get<double>() / 1e9 / best));
  CHECK(out.at("peak_rss_mb").get<double>() < 256);  // measured before the probe's 256 MiB buffer

  r = cli({"bench", "--model", model, "--prefill", "8", "--gen", "4", "--no-probe"});
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(json::parse(r.out).contains("gen_fraction_of_bandwidth"));
}

TEST_CASE("convert writes the format its output is named for, and says when it cannot tell", "[cli][convert]") {
  RWKV_REQUIRE_SHARED(model, "golden/v7-small.pth");
  static const std::string dir = test::temp_dir("cli-convert");
  for (const std::string& format : {std::string("gguf"), std::string("safetensors")}) {
    INFO(format);
    const std::string out = dir + "/v7." + format;
    auto r = cli({"convert", "--in", model, "--out", out, "--dtype", "f16"});
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out).at("out_format") == format);
    r = cli({"info", "--model", out});
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out).at("format") == format);  // read by content: the bytes are that format
  }
  auto r = cli({"convert", "--in", model, "--out", dir + "/v7.bin"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("name it .gguf or .safetensors") != std::string::npos);
  r = cli({"convert", "--in", model, "--out", dir + "/v7.bin", "--format", "safetensors"});
  CHECK(r.exit_code == 0);
  r = cli({"convert", "--in", model, "--out", dir + "/V7.SafeTensors"});  // names in any case
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out).at("out_format") == "safetensors");
  r = cli({"convert", "--in", model, "--out", dir + "/v7.gguf", "--format", "safetensors"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is named .gguf") != std::string::npos);
  r = cli({"convert", "--in", model, "--out", dir + "/v7.gguf", "--format", "onnx"});
  CHECK(r.exit_code == 2);
  r = cli({"convert", "--in", dir + "/no-such-model.pth", "--out", dir + "/x.gguf"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("no-such-model.pth") != std::string::npos);

  // A random-weight model of a real shape, for measuring other engines on the same file.
  r = cli({"convert", "--random-shape", "0.1b", "--out", dir + "/r.gguf", "--dtype", "q4_0"});
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out).at("in_format") == "random");
  r = cli({"info", "--model", dir + "/r.gguf"});
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out).at("n_layer") == 12);
  CHECK(json::parse(r.out).at("n_embd") == 768);
  std::filesystem::remove(dir + "/r.gguf");
  CHECK(cli({"convert", "--random-shape", "0.1b", "--in", model, "--out", dir + "/r.gguf"}).exit_code == 2);
  CHECK(cli({"convert", "--random-shape", "7b", "--out", dir + "/r.gguf"}).exit_code == 2);
}
