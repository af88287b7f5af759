// rwkv.cpp model files: its own tiny RWKV-7 test model against its expected logits (FP32, FP16 and
// our quantizations of them, judged by rwkv.cpp's own test rule), the golden models run through a
// re-implementation of rwkv.cpp's converter, and refusals of formats rwkv.cpp itself dropped.
#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/format_builders.hpp"
#include "engine/golden_compare.hpp"
#include "engine/model.hpp"
#include "engine/random_model.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

using namespace rwkv;

namespace {

// rwkv.cpp tests/test_tiny_rwkv.c: the prompt "\"in" fed byte by byte from the initial state,
// then the signed sum of (logit - expected) over the 256 logits.
float difference_sum(const std::string& model_path, const std::vector<float>& expected, engine::eval_mode mode,
                     kernels::precision precision = kernels::precision::exact, const std::string& isa = "auto") {
  engine::load_options lo;
  lo.backend.precision = precision;
  lo.backend.isa = isa;
  auto m = engine::model::load(model_path, lo);
  engine::context ctx(m);
  auto state = m->initial_state();
  std::vector<float> logits(256);
  const std::vector<std::int32_t> prompt = {34, 105, 110};
  engine::eval_options o;
  o.mode = mode;
  if (mode == engine::eval_mode::rnn)
    for (auto t : prompt) ctx.eval(std::span(&t, 1), state, logits.data(), o);
  else
    ctx.eval(prompt, state, logits.data(), o);
  float sum = 0;
  for (std::size_t i = 0; i < 256; ++i) sum += logits[i] - expected[i];
  return sum;
}

std::vector<float> expected_logits(const std::string& path) {
  const auto raw = test::read_file_bytes(path);
  REQUIRE(raw.size() == 256 * 4);
  std::vector<float> v(256);
  std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

}  // namespace

TEST_CASE("rwkv.cpp tiny RWKV-7 FP32 and FP16 reproduce rwkv.cpp's expected logits", "[formats][rwkvcpp]") {
  RWKV_REQUIRE_SHARED(expected_path, "rwkvcpp/expected-logits-7v0-834K.bin");
  RWKV_REQUIRE_SHARED(fp32, "rwkvcpp/tiny-rwkv-7v0-834K-FP32.bin");
  RWKV_REQUIRE_SHARED(fp16, "rwkvcpp/tiny-rwkv-7v0-834K-FP16.bin");
  const auto expected = expected_logits(expected_path);
  // rwkv.cpp's tolerances (tests/test_tiny_rwkv.c, 7v0): |sum| <= 0.001 for FP32, and its own FP16
  // result (+0.005766) x 1.05 for FP16. Fast precision rounds the FP16 file's activations to fp16
  // as ggml does (all its matrices have short rows: cpu_weight.hpp, f16_columns).
  for (auto precision : {kernels::precision::exact, kernels::precision::fast})
    for (auto mode : {engine::eval_mode::rnn, engine::eval_mode::sequence}) {
      const float s32 = difference_sum(fp32, expected, mode, precision), s16 = difference_sum(fp16, expected, mode, precision);
      WARN("rwkv.cpp 7v0 difference sums (" << (precision == kernels::precision::fast ? "fast, " : "exact, ")
                                            << (mode == engine::eval_mode::rnn ? "serial" : "sequence") << "): FP32 " << s32
                                            << ", FP16 " << s16);
      CHECK(std::fabs(s32) <= 0.001f);
      CHECK(std::fabs(s16) <= 0.005766f * 1.05f);
    }
  auto m = engine::model::load(fp32);
  CHECK(m->format() == "rwkv.cpp");
  CHECK(m->config().arch == engine::architecture::v7);
  CHECK(m->config().n_layer == 12);
  CHECK(m->config().head_size == 64);
}

TEST_CASE("rwkv.cpp tiny RWKV-7 quantized like rwkv.cpp stays within rwkv.cpp's tolerances", "[formats][rwkvcpp]") {
  RWKV_REQUIRE_SHARED(expected_path, "rwkvcpp/expected-logits-7v0-834K.bin");
  RWKV_REQUIRE_SHARED(fp32, "rwkvcpp/tiny-rwkv-7v0-834K-FP32.bin");
  RWKV_REQUIRE_SHARED(fp16, "rwkvcpp/tiny-rwkv-7v0-834K-FP16.bin");
  const auto expected = expected_logits(expected_path);
  const auto dir = test::temp_dir("rwkvcpp-quant");
  // rwkv.cpp's expected difference sums for 7v0 quantized from FP32 and from FP16
  // (tests/test_tiny_rwkv.c, expected_difference_sum_quantized_*): ggml's own results, which
  // rwkv.cpp checks its build against with |sum| <= |value| x 1.05, serial and sequence. Fast
  // precision computes what ggml computes: int8 activations for the quantized matrices (q8_0, or
  // q8_1 for q4_1 / q5_1), and fp16 activations for the fp16 LoRAs and head of the files quantized
  // from FP16 (cpu_weight.hpp, f16_columns). Exact precision keeps every activation in fp32, which
  // moves the sums by up to 0.012 (q5_0: -0.0753), so it is held to |value| + 0.02 only, and so is
  // fast precision on kernel tables without the int8 and bf16 dot instructions (it then computes
  // exactly, but for the fp16 panels). Every table this machine can run is checked.
  struct tolerance {
    kernels::dtype type;
    float from_fp32, from_fp16;
  };
  const tolerance tolerances[] = {{kernels::dtype::q4_0, +0.136785f, +0.136678f},
                                  {kernels::dtype::q4_1, +0.002614f, -0.005140f},
                                  {kernels::dtype::q5_0, -0.063645f, -0.064447f},
                                  {kernels::dtype::q5_1, -0.064663f, -0.063531f},
                                  {kernels::dtype::q8_0, +0.011924f, +0.010921f}};
  struct table {
    std::string asked, isa;  // the isa option and the kernel table it gives
    bool ggml_arithmetic;    // int8 and bf16 dots: fast precision computes what ggml computes
  };
  std::vector<table> tables;
  for (const char* asked : {"auto", "avx2", "scalar"}) {
    engine::load_options o;
    o.backend.precision = kernels::precision::fast;
    o.backend.isa = asked;
    std::string isa;
    try {
      isa = engine::model::load(fp32, o)->backend_info().isa;
    } catch (const engine::error&) {
      continue;  // not on this machine
    }
    if (std::any_of(tables.begin(), tables.end(), [&](const table& t) { return t.isa == isa; })) continue;
    const bool ggml = isa.find("vnni") != std::string::npos && isa.find("bf16") != std::string::npos;
    if (!ggml) WARN("no int8 / bf16 dot instructions in " << isa << ": rwkv.cpp's x 1.05 rule is not checked there");
    tables.push_back({asked, isa, ggml});
  }
  REQUIRE_FALSE(tables.empty());
  const auto source32 = test::parse_rwkvcpp(test::read_file_bytes(fp32));
  const auto source16 = test::parse_rwkvcpp(test::read_file_bytes(fp16));
  for (const auto& tol : tolerances) {
    for (int from16 = 0; from16 < 2; ++from16) {
      INFO(kernels::dtype_name(tol.type) << (from16 ? " from FP16" : " from FP32"));
      const auto image = test::quantize_rwkvcpp(from16 ? source16 : source32, tol.type);
      const std::string path = dir + "/tiny-" + std::string(kernels::dtype_name(tol.type)) + (from16 ? "-from16" : "") + ".bin";
      test::write_file_bytes(path, test::write_rwkvcpp(image));
      const float own = from16 ? tol.from_fp16 : tol.from_fp32;
      const float exact = difference_sum(path, expected, engine::eval_mode::rnn);
      const float exact_sequence = difference_sum(path, expected, engine::eval_mode::sequence);
      WARN("rwkv.cpp 7v0 " << kernels::dtype_name(tol.type) << (from16 ? " from FP16" : " from FP32") << ": difference sum "
                           << exact << " exact; rwkv.cpp's own " << own);
      CHECK(std::fabs(exact) <= std::fabs(own) + 0.02f);
      CHECK(std::fabs(exact - exact_sequence) < 1e-4f);
      for (const auto& t : tables) {
        INFO(t.isa);
        const float fast = difference_sum(path, expected, engine::eval_mode::rnn, kernels::precision::fast, t.asked);
        const float fast_sequence =
            difference_sum(path, expected, engine::eval_mode::sequence, kernels::precision::fast, t.asked);
        WARN("rwkv.cpp 7v0 " << kernels::dtype_name(tol.type) << (from16 ? " from FP16" : " from FP32") << ", fast, "
                             << t.isa << ": difference sum " << fast << " (sequence " << fast_sequence << ")");
        CHECK(fast == fast_sequence);  // one token at a time and a sequence compute the same values
        if (t.ggml_arithmetic) {
          CHECK(std::fabs(fast) <= std::fabs(own) * 1.05f);
          CHECK(std::fabs(fast - own) <= 0.002f * std::fabs(own) + 2e-5f);  // the same arithmetic as ggml
        } else {
          CHECK(std::fabs(fast) <= std::fabs(own) + 0.02f);
        }
      }
      auto m = engine::model::load(path);
      CHECK(m->tensors().find("blocks.0.att.key.weight")->type == tol.type);  // used as stored
      CHECK(m->tensors().find("blocks.1.att.a1")->type == (from16 ? kernels::dtype::f16 : kernels::dtype::f32));
    }
  }
}

TEST_CASE("rwkv.cpp files with quantized LoRA matrices load and run as stored", "[formats][rwkvcpp]") {
  RWKV_REQUIRE_SHARED(expected_path, "rwkvcpp/expected-logits-7v0-834K.bin");
  RWKV_REQUIRE_SHARED(fp32, "rwkvcpp/tiny-rwkv-7v0-834K-FP32.bin");
  const auto expected = expected_logits(expected_path);
  const auto dir = test::temp_dir("rwkvcpp-quant-lora");
  const auto source = test::parse_rwkvcpp(test::read_file_bytes(fp32));
  // Every 2-D tensor quantized, LoRAs (stored transposed) and r_k included: the reader keeps the
  // LoRAs as stored and marks them transposed. The LoRAs' rounding moves the fast sums by 0.0002 to
  // 0.0066 from rwkv.cpp's values (which are those of unquantized LoRAs), so only the looser rule
  // of earlier rwkv.cpp versions is checked.
  for (const auto& [type, own] : {std::pair{kernels::dtype::q4_0, 0.136785f}, std::pair{kernels::dtype::q5_1, -0.064663f},
                                  std::pair{kernels::dtype::q8_0, 0.011924f}}) {
    INFO(kernels::dtype_name(type));
    const std::string path = dir + "/tiny-" + std::string(kernels::dtype_name(type)) + ".bin";
    test::write_file_bytes(path, test::write_rwkvcpp(test::quantize_rwkvcpp(source, type, true)));
    auto m = engine::model::load(path);
    CHECK(m->tensors().find("blocks.1.att.a1")->type == type);
    CHECK(m->tensors().find("blocks.1.att.a1")->transposed);
    CHECK(m->tensors().find("blocks.1.att.r_k")->type == type);
    for (auto p : {kernels::precision::exact, kernels::precision::fast}) {
      const float sum = difference_sum(path, expected, engine::eval_mode::rnn, p);
      WARN("rwkv.cpp 7v0 " << kernels::dtype_name(type) << ", LoRAs quantized too, "
                           << (p == kernels::precision::fast ? "fast" : "exact") << ": difference sum " << sum);
      CHECK(std::fabs(sum) <= std::fabs(own) + 0.02f);
    }
  }
}

TEST_CASE("golden models through rwkv.cpp's converter reproduce the reference", "[formats][rwkvcpp]") {
  const auto dir = test::temp_dir("rwkvcpp-golden");
  for (const char* name : {"v4-small", "v5-small", "v6-small", "v7-small", "v7-bf16"}) {
    INFO(name);
    RWKV_REQUIRE_SHARED(pth, std::string("golden/") + name + ".pth");
    RWKV_REQUIRE_SHARED(json, std::string("golden/") + name + ".json");
    const auto store = engine::read_model_file(pth);
    const std::string path = dir + "/" + name + ".bin";
    test::write_file_bytes(path, test::write_rwkvcpp(test::rwkvcpp_from_blinkdl(store, false)));
    auto m = engine::model::load(path);
    CHECK(m->format() == "rwkv.cpp");
    const auto r = test::compare_with_golden(*m, test::read_json(json));
    WARN(name << " .pth -> rwkv.cpp FP32 -> engine: max logit error " << r.max_abs_error);
    CHECK(r.max_abs_error < 1e-4f);
  }
}

TEST_CASE("rwkv.cpp files of removed or outdated formats are refused with advice", "[formats][rwkvcpp]") {
  RWKV_REQUIRE_SHARED(fp32, "rwkvcpp/tiny-rwkv-7v0-834K-FP32.bin");
  const auto dir = test::temp_dir("rwkvcpp-old");
  auto image = test::parse_rwkvcpp(test::read_file_bytes(fp32));

  image.version = 100;  // FP32 at version 100: same layout, loads
  test::write_file_bytes(dir + "/v100.bin", test::write_rwkvcpp(image));
  CHECK_NOTHROW(engine::model::load(dir + "/v100.bin"));

  auto quant = test::quantize_rwkvcpp(image, kernels::dtype::q4_0);
  quant.version = 100;  // old ggml block layout: refused, as rwkv.cpp does
  test::write_file_bytes(dir + "/v100-q4.bin", test::write_rwkvcpp(quant));
  CHECK_THROWS_MATCHES(engine::read_model_file(dir + "/v100-q4.bin"), engine::error,
                       Catch::Matchers::Predicate<engine::error>([](const engine::error& e) {
                         return e.code() == engine::errc::unsupported && std::string(e.what()).find("re-quantize") != std::string::npos;
                       }));

  image.version = 101;
  image.tensors[3].type = 4;  // Q4_1_O, removed from rwkv.cpp
  test::write_file_bytes(dir + "/q41o.bin", test::write_rwkvcpp(image));
  CHECK_THROWS_MATCHES(engine::read_model_file(dir + "/q41o.bin"), engine::error,
                       Catch::Matchers::Predicate<engine::error>(
                           [](const engine::error& e) { return e.code() == engine::errc::unsupported; }));

  image.version = 102;
  test::write_file_bytes(dir + "/v102.bin", test::write_rwkvcpp(image));
  CHECK_THROWS_AS(engine::read_model_file(dir + "/v102.bin"), engine::error);
}

TEST_CASE("rwkv.cpp's RWKV-5.1 files (per-head decay, no gate) load and compute as the checkpoint", "[formats][rwkvcpp]") {
  // rwkv.cpp calls BlinkDL's 5.0 "5.1": its converter stores time_decay as exp(-exp(w)) [H,1,1]
  // and time_first as the bonus exp(time_first) [H,1,1]. Made here from a random 5.0 checkpoint;
  // the file must give the checkpoint's logits.
  engine::random_model_spec spec;
  spec.arch = engine::architecture::v5_0;
  spec.n_embd = 128;
  spec.head_size = 32;
  spec.n_vocab = 256;
  const auto store = engine::make_random_model(spec);
  const auto dir = test::temp_dir("rwkvcpp-v51");
  test::write_file_bytes(dir + "/v51.bin", test::write_rwkvcpp(test::rwkvcpp_from_blinkdl(store, false)));
  const auto read = engine::read_model_file(dir + "/v51.bin");
  CHECK(read.find("blocks.0.att.time_first")->numel() == 4);
  CHECK(read.find("blocks.0.att.time_decay")->numel() == 4);
  auto from_file = engine::model::load(dir + "/v51.bin");
  auto from_store = engine::model::from_store(engine::make_random_model(spec));
  CHECK(from_file->config().arch == engine::architecture::v5_0);
  const std::vector<std::int32_t> tokens{1, 77, 200, 3, 3, 140, 255, 0, 9};
  std::vector<float> a(256), b(256);
  engine::context ca(from_file), cb(from_store);
  auto sa = from_file->initial_state(), sb = from_store->initial_state();
  REQUIRE(ca.eval(tokens, sa, a.data()) == tokens.size());
  REQUIRE(cb.eval(tokens, sb, b.data()) == tokens.size());
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  INFO("worst logit difference " << worst);
  CHECK(worst < 1e-4f);
}
