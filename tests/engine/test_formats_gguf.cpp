// GGUF specifics: the embedded World vocabulary (llama.cpp's escaping, both ways), llama.cpp's
// RWKV-6 layer rescaling undone, K-quant tensors read and run as stored, GGUF v2.
#include "engine/context.hpp"
#include "engine/convert.hpp"
#include "engine/error.hpp"
#include "engine/format_builders.hpp"
#include "engine/golden_compare.hpp"
#include "engine/model.hpp"
#include "engine/random_model.hpp"
#include "engine/tokenizer.hpp"
#include "engine/tokenizer_select.hpp"
#include "kernels/quant.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

using namespace rwkv;
using test::bytes;

namespace {

std::size_t find_bytes(const bytes& hay, const void* needle, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(needle);
  const auto it = std::search(hay.begin(), hay.end(), p, p + n);
  REQUIRE(it != hay.end());
  return static_cast<std::size_t>(it - hay.begin());
}

}  // namespace

TEST_CASE("GGUF embeds the World vocabulary the way llama.cpp does, and reads it back", "[formats][gguf]") {
  RWKV_REQUIRE_SHARED(vocab, "vocab/rwkv_vocab_v20230424.txt");
  RWKV_REQUIRE_SHARED(samples_path, "golden/tokenizer-world.json");
  engine::random_model_spec spec;
  spec.n_layer = 1;
  spec.n_embd = 64;
  spec.n_vocab = 65536;
  spec.lora_decay = spec.lora_aaa = spec.lora_value = spec.lora_gate = 32;
  const auto store = engine::make_random_model(spec);
  const auto dir = test::temp_dir("gguf-vocab");
  engine::convert_options o;
  o.dtype = kernels::dtype::q8_0;
  o.vocab_path = vocab;
  const auto summary = engine::write_model(store, dir + "/world.gguf", o);
  CHECK(summary.vocabulary);

  const auto back = engine::read_model_file(dir + "/world.gguf");
  REQUIRE(back.vocab.size() == 65536);
  CHECK(back.vocab[0].empty());      // "<s>", control
  CHECK(back.vocab[65535].empty());  // "[PAD65535]", unused
  // The special tokens and chat format llama.cpp's converter sets: without them llama.cpp would
  // never stop generating.
  CHECK(back.metadata.at("tokenizer.ggml.bos_token_id") == "0");
  CHECK(back.metadata.at("tokenizer.ggml.eos_token_id") == "0");
  CHECK(back.metadata.at("tokenizer.ggml.eot_token_id") == "261");
  CHECK(back.metadata.at("tokenizer.chat_template") == "rwkv-world");
  const auto file_bytes = test::read_file_bytes(dir + "/world.gguf");
  const std::string pad = "[PAD65535]";
  CHECK_NOTHROW(find_bytes(file_bytes, pad.data(), pad.size()));

  auto from_gguf = engine::tokenizer_for_model(back, 65536, "");
  auto reference = engine::load_world_tokenizer(vocab);
  CHECK(from_gguf->name() == "world");
  for (std::int32_t id = 1; id < 65536; ++id) REQUIRE(from_gguf->token_bytes(id) == reference->token_bytes(id));
  for (const auto& sample : test::read_json(samples_path)) {
    const auto text = sample["text"].get<std::string>();
    CHECK(from_gguf->encode(text) == sample["tokens"].get<std::vector<std::int32_t>>());
  }
  // An explicit vocabulary still wins over the embedded one.
  CHECK(engine::tokenizer_for_model(back, 65536, vocab)->encode("hello") == reference->encode("hello"));
}

TEST_CASE("GGUF token texts are unescaped as llama.cpp does", "[formats][gguf]") {
  // Python repr(bytes)[2:-1] as written by convert_hf_to_gguf.py: \\ \' \t \n \r \xhh.
  const std::vector<std::string> escaped = {"<s>", "a", "\\\\", "\\'", "\"", "\\t\\n\\r", "\\xe4\\xb8\\xad", "it's", "\\x00"};
  const std::vector<std::string> expected = {"", "a", "\\", "'", "\"", "\t\n\r", "\xe4\xb8\xad", "it's", std::string(1, '\0')};
  test::gguf_builder g;
  g.str("general.architecture", "rwkv7").u32("rwkv7.wkv.head_size", 16).str("tokenizer.ggml.model", "rwkv");
  g.strings("tokenizer.ggml.tokens", escaped);
  bytes emb(16 * 2 * 4, 0);
  g.tensor("token_embd.weight", 0, {16, 2}, emb);
  const auto dir = test::temp_dir("gguf-escape");
  test::write_file_bytes(dir + "/t.gguf", g.build());
  const auto store = engine::read_model_file(dir + "/t.gguf");
  CHECK(store.vocab == expected);  // no token_type list: only id 0 is taken as control
}

TEST_CASE("GGUF RWKV-6 layer rescaling (rescale_every_n_layers) is undone exactly", "[formats][gguf]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v6-small.pth");
  RWKV_REQUIRE_SHARED(json, "golden/v6-small.json");
  const auto dir = test::temp_dir("gguf-rescale");
  const auto source = engine::read_model_file(pth);
  engine::write_model(source, dir + "/v6.gguf", {});
  auto file = test::read_file_bytes(dir + "/v6.gguf");
  // As llama.cpp's converter does with rescale_every = 1: layer N's time_mix_output and
  // channel_mix_value divided by 2^N. Layer 1 here (layer 0 is divided by 1).
  for (const char* name : {"blocks.1.att.output.weight", "blocks.1.ffn.value.weight"}) {
    const auto& t = *source.find(name);
    const std::size_t at = find_bytes(file, t.data, 64);
    for (std::size_t i = 0; i < t.nbytes; i += 4) {
      float v;
      std::memcpy(&v, file.data() + at + i, 4);
      v /= 2;
      std::memcpy(file.data() + at + i, &v, 4);
    }
  }
  test::write_file_bytes(dir + "/divided.gguf", file);
  const std::string key = "rwkv6.rescale_every_n_layers";
  const std::size_t value_at = find_bytes(file, key.data(), key.size()) + key.size() + 4;
  const std::uint32_t every = 1;
  std::memcpy(file.data() + value_at, &every, 4);
  test::write_file_bytes(dir + "/rescaled.gguf", file);

  const auto golden = test::read_json(json);
  const auto rescaled = test::compare_with_golden(*engine::model::load(dir + "/rescaled.gguf"), golden);
  CHECK(rescaled.max_abs_error < 1e-4f);
  // Without the metadata the divided weights would be taken at face value.
  const auto divided = test::compare_with_golden(*engine::model::load(dir + "/divided.gguf"), golden);
  CHECK(divided.max_abs_error > 1e-2f);
}

TEST_CASE("GGUF K-quant tensors are read as stored and run like their dequantized values", "[formats][gguf]") {
  std::mt19937 rng(7);
  auto random_blocks = [&](kernels::dtype t, std::int64_t rows, std::int64_t cols) {
    bytes b(static_cast<std::size_t>(kernels::dtype_row_bytes(t, cols) * rows));
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    const std::size_t block = static_cast<std::size_t>(kernels::dtype_block_bytes(t));
    for (std::size_t at = 0; at < b.size(); at += block) {  // sane fp16 scales
      const std::uint16_t d = kernels::f32_to_f16(0.002f), dmin = kernels::f32_to_f16(0.01f);
      if (t == kernels::dtype::q6_k) {
        std::memcpy(b.data() + at + offsetof(kernels::block_q6_k, d), &d, 2);
        for (int i = 0; i < 16; ++i) b[at + offsetof(kernels::block_q6_k, scales) + i] = static_cast<std::uint8_t>(rng() % 32);
      } else {
        std::memcpy(b.data() + at, &d, 2);
        std::memcpy(b.data() + at + 2, &dmin, 2);
      }
    }
    return b;
  };

  SECTION("a GGUF tensor of each K type keeps its bytes") {
    for (auto [type, ggml] : {std::pair{kernels::dtype::q4_k, 12u}, {kernels::dtype::q5_k, 13u}, {kernels::dtype::q6_k, 14u}}) {
      const bytes data = random_blocks(type, 2, 256);
      test::gguf_builder g;
      g.str("general.architecture", "rwkv7").u32("rwkv7.wkv.head_size", 64).tensor("token_embd.weight", ggml, {256, 2}, data);
      const auto dir = test::temp_dir("gguf-kquant");
      test::write_file_bytes(dir + "/k.gguf", g.build());
      const auto store = engine::read_model_file(dir + "/k.gguf");
      const auto& t = *store.find("emb.weight");
      CHECK(t.type == type);
      CHECK(t.shape == std::vector<std::int64_t>{2, 256});
      CHECK(std::memcmp(t.data, data.data(), data.size()) == 0);
    }
  }

  SECTION("a model whose matrices are K-quants matches its fp32 twin") {
    engine::random_model_spec spec;
    spec.n_layer = 2;
    spec.n_embd = 256;
    spec.n_vocab = 256;
    const auto base_owner = std::make_shared<const engine::tensor_store>(engine::make_random_model(spec));
    const auto& base = *base_owner;
    engine::tensor_store quant, twin;  // both borrow the unchanged tensors from base
    quant.keep_alive(base_owner);
    twin.keep_alive(base_owner);
    int k = 0;
    const kernels::dtype kinds[] = {kernels::dtype::q4_k, kernels::dtype::q5_k, kernels::dtype::q6_k};
    for (const auto& [name, t] : base.tensors()) {
      const bool matrix = name.find(".weight") != std::string::npos && t.shape.size() == 2 && t.shape[1] % 256 == 0 &&
                          name.find("ln") == std::string::npos && name != "emb.weight";
      if (!matrix) {
        quant.add(name, t);
        twin.add(name, t);
        continue;
      }
      const auto type = kinds[k++ % 3];
      auto b = random_blocks(type, t.shape[0], t.shape[1]);
      std::vector<float> values(static_cast<std::size_t>(t.numel()));
      for (std::int64_t r = 0; r < t.shape[0]; ++r)
        kernels::dequantize_row(type, b.data() + r * kernels::dtype_row_bytes(type, t.shape[1]),
                                values.data() + r * t.shape[1], t.shape[1]);
      quant.add_owned(name, type, t.shape, std::move(b));
      twin.add_owned_f32(name, t.shape, std::move(values));
    }
    REQUIRE(k >= 6);
    // Fast precision runs K-quants through the int8 kernels (Q6_K as stored, Q4_K / Q5_K as q4_1 /
    // q5_1; the kernel tests check those products exactly): a second model from the same tensors.
    engine::tensor_store quant_fast;
    quant_fast.keep_alive(base_owner);
    for (const auto& [name, t] : quant.tensors()) quant_fast.add(name, t);
    engine::load_options fast;
    fast.backend.precision = kernels::precision::fast;
    auto mf = engine::model::from_store(std::move(quant_fast), fast);
    auto mq = engine::model::from_store(std::move(quant));
    auto mt = engine::model::from_store(std::move(twin));
    std::vector<std::int32_t> tokens = {1, 2, 3, 200, 17};
    std::vector<float> lq(256), lt(256), lf(256);
    auto sq = mq->initial_state(), st = mt->initial_state(), sf = mf->initial_state();
    engine::context(mq).eval(tokens, sq, lq.data());
    engine::context(mt).eval(tokens, st, lt.data());
    engine::context(mf).eval(tokens, sf, lf.data());
    float worst = 0, worst_fast = 0, scale = 0;
    for (int i = 0; i < 256; ++i) {
      worst = std::max(worst, std::fabs(lq[i] - lt[i]));
      worst_fast = std::max(worst_fast, std::fabs(lf[i] - lt[i]));
      scale = std::max(scale, std::fabs(lt[i]));
    }
    CHECK(std::isfinite(scale));
    CHECK(worst <= 1e-4f * std::max(scale, 1.0f));
    WARN("K-quant model, fast precision: max logit difference " << worst_fast << " (largest logit " << scale << ")");
    CHECK(worst_fast <= 0.05f * std::max(scale, 1.0f));  // int8 activations: 1.9% here
  }
}

TEST_CASE("GGUF version 2 files read like version 3", "[formats][gguf]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v7-small.pth");
  RWKV_REQUIRE_SHARED(json, "golden/v7-small.json");
  const auto dir = test::temp_dir("gguf-v2");
  engine::write_model(engine::read_model_file(pth), dir + "/v7.gguf", {});
  auto file = test::read_file_bytes(dir + "/v7.gguf");
  file[4] = 2;  // the version field; v2 and v3 share the layout (v3 only added big-endian files)
  test::write_file_bytes(dir + "/v7-v2.gguf", file);
  const auto r = test::compare_with_golden(*engine::model::load(dir + "/v7-v2.gguf"), test::read_json(json));
  CHECK(r.max_abs_error < 1e-4f);
}
