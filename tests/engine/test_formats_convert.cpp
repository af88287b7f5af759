// Every golden model converted by rwkv-lsp and read back: .pth -> GGUF (f32) and .pth ->
// safetensors reproduce the reference logits to 1e-4; f16, bf16 and q8_0 conversions keep the
// reference's top-1 token wherever the reference's own margin exceeds the conversion's error.
// The maximum logit error per model and encoding is printed (WARN) for the record.
#include "engine/context.hpp"
#include "engine/convert.hpp"
#include "engine/error.hpp"
#include "engine/format_builders.hpp"
#include "engine/golden_compare.hpp"
#include "engine/model.hpp"
#include "engine/random_model.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <regex>

using namespace rwkv;

namespace {

const char* const golden_models[] = {"v4-small", "v4-fp16", "v5-small", "v6-small", "v7-small", "v7-bf16"};

bool gguf_can_hold(engine::architecture a) { return a == engine::architecture::v6 || a == engine::architecture::v7; }

test::golden_comparison check_converted(const std::string& path, const nlohmann::json& golden) {
  auto m = engine::model::load(path);
  return test::compare_with_golden(*m, golden);
}

}  // namespace

TEST_CASE("golden models converted to GGUF and safetensors (f32) reproduce the reference", "[formats][convert]") {
  const auto dir = test::temp_dir("convert-f32");
  for (const char* name : golden_models) {
    INFO(name);
    RWKV_REQUIRE_SHARED(pth, std::string("golden/") + name + ".pth");
    RWKV_REQUIRE_SHARED(json_path, std::string("golden/") + name + ".json");
    const auto golden = test::read_json(json_path);
    const auto store = engine::read_model_file(pth);
    const auto arch = engine::config_from_tensors(store).arch;

    engine::convert_options st;
    st.format = engine::output_format::safetensors;
    const std::string st_path = dir + "/" + name + ".safetensors";
    engine::write_model(store, st_path, st);
    const auto r_st = check_converted(st_path, golden);
    WARN(name << " .pth -> safetensors f32: max logit error " << r_st.max_abs_error);
    CHECK(r_st.max_abs_error < 1e-4f);

    const std::string gguf_path = dir + "/" + name + ".gguf";
    if (gguf_can_hold(arch)) {
      engine::write_model(store, gguf_path, {});
      auto m = engine::model::load(gguf_path);
      CHECK(m->format() == "gguf");
      const auto r = test::compare_with_golden(*m, golden);
      WARN(name << " .pth -> GGUF f32: max logit error " << r.max_abs_error);
      CHECK(r.max_abs_error < 1e-4f);

      // GGUF keeps the LoRAs [out][in]: read back they are marked transposed, not copied, and
      // converting them again (to GGUF and to BlinkDL-layout safetensors) gives the same model.
      const auto back = engine::read_model_file(gguf_path);
      const std::string lora = arch == engine::architecture::v7 ? "blocks.0.att.w1" : "blocks.0.att.time_decay_w1";
      CHECK(back.find(lora)->transposed);
      CHECK(back.to_f32(lora) == store.to_f32(lora));
      for (const char* ext : {".again.gguf", ".again.safetensors"}) {
        engine::convert_options again;
        if (std::string(ext).ends_with("safetensors")) again.format = engine::output_format::safetensors;
        engine::write_model(back, dir + "/" + name + ext, again);
        CHECK(check_converted(dir + "/" + name + ext, golden).max_abs_error < 1e-4f);
      }
    } else {
      // llama.cpp has no RWKV-4/5 GGUF architecture: refused, pointing at safetensors.
      CHECK_THROWS_MATCHES(engine::write_model(store, gguf_path, {}), engine::error,
                           Catch::Matchers::Predicate<engine::error>([](const engine::error& e) {
                             return e.code() == engine::errc::unsupported &&
                                    std::string(e.what()).find("safetensors") != std::string::npos;
                           }));
      CHECK_FALSE(std::filesystem::exists(gguf_path));
      CHECK_FALSE(std::filesystem::exists(gguf_path + ".partial"));
    }
  }
}

TEST_CASE("golden models converted to f16, bf16 and q8_0 keep the reference's top-1 token", "[formats][convert]") {
  const auto dir = test::temp_dir("convert-lossy");
  for (const char* name : golden_models) {
    RWKV_REQUIRE_SHARED(pth, std::string("golden/") + name + ".pth");
    RWKV_REQUIRE_SHARED(json_path, std::string("golden/") + name + ".json");
    const auto golden = test::read_json(json_path);
    const auto store = engine::read_model_file(pth);
    const bool gguf = gguf_can_hold(engine::config_from_tensors(store).arch);
    for (auto type : {kernels::dtype::f16, kernels::dtype::bf16, kernels::dtype::q8_0}) {
      const std::string tname(kernels::dtype_name(type));
      INFO(name << " " << tname);
      std::string path = dir + "/" + name + "-" + tname;
      if (gguf) {  // embedding and head follow the option too (q8_0 for quantized types)
        engine::convert_options o;
        o.dtype = type;
        path += ".gguf";
        engine::write_model(store, path, o);
      } else if (type != kernels::dtype::q8_0) {
        engine::convert_options o;
        o.format = engine::output_format::safetensors;
        o.dtype = type;
        path += ".safetensors";
        engine::write_model(store, path, o);
      } else {  // RWKV-4/5 quantized: rwkv.cpp's format holds them (GGUF cannot)
        path += ".bin";
        test::write_file_bytes(path, test::write_rwkvcpp(test::quantize_rwkvcpp(test::rwkvcpp_from_blinkdl(store, false), type)));
      }
      const auto r = check_converted(path, golden);
      WARN(name << " -> " << tname << " (" << std::filesystem::path(path).extension().string() << "): max logit error "
                << r.max_abs_error << ", top-1 differs on " << r.top1_disagreements << " of " << r.steps
                << " steps (largest reference margin among them " << r.largest_flipped_margin << ")");
      CHECK(r.unexplained_disagreements == 0);
      CHECK(r.max_abs_error < 0.25f);
    }
  }
}

TEST_CASE("conversion picks encodings per tensor and reports them", "[formats][convert]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v7-small.pth");
  const auto dir = test::temp_dir("convert-types");
  const auto store = engine::read_model_file(pth);
  engine::convert_options o;
  o.dtype = kernels::dtype::q4_0;
  std::size_t calls = 0;
  o.progress = [&](std::size_t done, std::size_t total, const std::string&) {
    ++calls;
    CHECK(done <= total);
  };
  const auto summary = engine::write_model(store, dir + "/q4.gguf", o);
  CHECK(calls == summary.tensors);
  // 4 projections + 2 FFN matrices per layer at q4_0; emb and head at q8_0; the 8 LoRA matrices
  // per layer (layer 0's v1/v2 too, as llama.cpp wants them) at f16; the rest f32.
  CHECK(summary.tensor_types.at("q4_0") == 3 * 6);
  CHECK(summary.tensor_types.at("q8_0") == 2);
  CHECK(summary.tensor_types.at("f16") == 3 * 8);
  const auto back = engine::read_model_file(dir + "/q4.gguf");
  CHECK(back.find("blocks.1.att.key.weight")->type == kernels::dtype::q4_0);
  CHECK(back.find("blocks.1.att.w1")->type == kernels::dtype::f16);
  CHECK(back.find("blocks.1.ln1.weight")->type == kernels::dtype::f32);
  CHECK(back.find("head.weight")->type == kernels::dtype::q8_0);

  // safetensors follows the same policy: projections, LoRAs and emb/head (--head-dtype)
  // converted; the [heads, head_size] decay-side vectors (r_k here) and norms stay f32.
  engine::convert_options st;
  st.format = engine::output_format::safetensors;
  st.dtype = kernels::dtype::bf16;
  st.head_dtype = kernels::dtype::f16;
  const auto st_summary = engine::write_model(store, dir + "/bf16.safetensors", st);
  std::size_t loras = 0;
  for (const auto& [name, t] : store.tensors())
    if (std::regex_match(name, std::regex(R"(blocks\.\d+\.att\.[wavg][12])"))) ++loras;
  CHECK(loras >= 3 * 7);
  CHECK(st_summary.tensor_types.at("bf16") == 3 * 6 + loras);
  CHECK(st_summary.tensor_types.at("f16") == 2);
  const auto st_back = engine::read_model_file(dir + "/bf16.safetensors");
  CHECK(st_back.find("blocks.1.att.key.weight")->type == kernels::dtype::bf16);
  CHECK(st_back.find("blocks.1.ffn.value.weight")->type == kernels::dtype::bf16);
  CHECK(st_back.find("blocks.1.att.r_k")->type == kernels::dtype::f32);
  CHECK(st_back.find("blocks.1.att.w1")->type == kernels::dtype::bf16);
  CHECK(st_back.find("emb.weight")->type == kernels::dtype::f16);
  CHECK(st_back.find("head.weight")->type == kernels::dtype::f16);
  RWKV_REQUIRE_SHARED(v5_pth, "golden/v5-small.pth");
  engine::write_model(engine::read_model_file(v5_pth), dir + "/v5-bf16.safetensors", st);
  const auto v5_back = engine::read_model_file(dir + "/v5-bf16.safetensors");
  CHECK(v5_back.find("blocks.0.att.time_decay")->type == kernels::dtype::f32);
  CHECK(v5_back.find("blocks.0.att.time_faaaa")->type == kernels::dtype::f32);
  CHECK(v5_back.find("blocks.0.att.gate.weight")->type == kernels::dtype::bf16);

  // safetensors holds float types only.
  engine::convert_options bad;
  bad.format = engine::output_format::safetensors;
  bad.dtype = kernels::dtype::q8_0;
  CHECK_THROWS_AS(engine::write_model(store, dir + "/x.safetensors", bad), engine::error);
  bad.dtype = kernels::dtype::bf16;
  bad.head_dtype = kernels::dtype::q8_0;
  CHECK_THROWS_AS(engine::write_model(store, dir + "/x.safetensors", bad), engine::error);
  bad.head_dtype.reset();
  bad.dtype = kernels::dtype::q6_k;
  CHECK_THROWS_AS(engine::write_model(store, dir + "/x.safetensors", bad), engine::error);
}

TEST_CASE("conversions to the K-quants (Q4_K, Q5_K, Q6_K) write GGUF that runs close to the source", "[formats][convert][kquant]") {
  // Golden models are 128 wide, narrower than a K-quant super-block: a random RWKV-7 256 wide.
  engine::random_model_spec spec;
  spec.n_embd = 256;
  spec.n_vocab = 256;
  const auto store = engine::make_random_model(spec);
  const auto dir = test::temp_dir("convert-kquant");
  engine::write_model(store, dir + "/f32.gguf", {});
  const std::vector<std::int32_t> tokens = {1, 2, 3, 200, 17, 99, 42};
  auto logits = [&](const std::string& path, kernels::precision p) {
    engine::load_options o;
    o.backend.precision = p;
    auto m = engine::model::load(path, o);
    std::vector<float> out(static_cast<std::size_t>(spec.n_vocab));
    auto s = m->initial_state();
    engine::context(m).eval(tokens, s, out.data());
    return out;
  };
  const auto want = logits(dir + "/f32.gguf", kernels::precision::exact);
  float scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  REQUIRE(scale > 0.1f);
  // Largest logit error over the largest logit, exact precision (fast adds int8 activations).
  struct expectation {
    kernels::dtype type;
    float tolerance;
  };
  std::map<kernels::dtype, float> errors;
  for (auto [type, tolerance] : {expectation{kernels::dtype::q6_k, 0.03f}, {kernels::dtype::q5_k, 0.06f}, {kernels::dtype::q4_k, 0.12f}}) {
    const std::string name(kernels::dtype_name(type));
    INFO(name);
    engine::convert_options o;
    o.dtype = type;
    const auto summary = engine::write_model(store, dir + "/" + name + ".gguf", o);
    CHECK(summary.tensor_types.at(name) == 2 * 6);  // r, k, v, o, ffn key and value per layer
    CHECK(summary.tensor_types.at("q8_0") == 2);    // embedding and head
    CHECK(engine::read_model_file(dir + "/" + name + ".gguf").find("blocks.0.att.key.weight")->type == type);
    for (auto p : {kernels::precision::exact, kernels::precision::fast}) {
      const auto got = logits(dir + "/" + name + ".gguf", p);
      float worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
      WARN("random RWKV-7 256 wide -> " << name << (p == kernels::precision::fast ? " (fast)" : " (exact)")
                                        << ": max logit error " << worst << ", largest logit " << scale);
      CHECK(worst <= tolerance * scale);
      if (p == kernels::precision::exact) errors[type] = worst;
    }
  }
  CHECK(errors[kernels::dtype::q6_k] < errors[kernels::dtype::q4_k]);

  // Rows narrower than a super-block (the golden models') fall back to q8_0, not to f16.
  RWKV_REQUIRE_SHARED(pth, "golden/v7-small.pth");
  RWKV_REQUIRE_SHARED(json_path, "golden/v7-small.json");
  engine::convert_options o;
  o.dtype = kernels::dtype::q6_k;
  const auto summary = engine::write_model(engine::read_model_file(pth), dir + "/narrow.gguf", o);
  CHECK(summary.tensor_types.at("q6_k") == 3);          // ffn.value: rows of 512
  CHECK(summary.tensor_types.at("q8_0") == 3 * 5 + 2);  // the other matrices, embedding and head
  const auto r = check_converted(dir + "/narrow.gguf", test::read_json(json_path));
  CHECK(r.unexplained_disagreements == 0);
}
