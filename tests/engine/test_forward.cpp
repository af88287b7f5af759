// The forward passes beyond the golden files: random models of every architecture, other sizes,
// weight types and sequences of hundreds of tokens. The scalar reference backend in single-token
// mode (validated against BlinkDL's implementation by the golden tests) is the yardstick for the
// production backend in sequence mode.
#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/format_builders.hpp"
#include "engine/model.hpp"
#include "engine/random_model.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <cmath>
#include <random>
#include <sstream>

using namespace rwkv;
using engine::architecture;

namespace {

std::vector<std::int32_t> random_tokens(std::size_t n, int vocab, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<std::int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::shared_ptr<const engine::model> build(const engine::random_model_spec& spec, const char* backend) {
  engine::load_options o;
  o.backend.name = backend;
  o.backend.threads = 2;
  return engine::model::from_store(engine::make_random_model(spec), o);
}

}  // namespace

TEST_CASE("sequence mode on the CPU backend equals single-token mode on the reference", "[engine][forward]") {
  struct variant {
    architecture arch;
    int n_embd, n_layer, head;
    kernels::dtype type;
  };
  for (auto v : {variant{architecture::v4, 96, 2, 64, kernels::dtype::f32},
                 variant{architecture::v4, 64, 3, 64, kernels::dtype::f16},
                 variant{architecture::v5_2, 128, 2, 64, kernels::dtype::bf16},
                 variant{architecture::v5_2, 192, 2, 32, kernels::dtype::f32},
                 variant{architecture::v5_0, 128, 2, 64, kernels::dtype::f32},
                 variant{architecture::v5_1, 128, 2, 32, kernels::dtype::bf16},
                 variant{architecture::v6, 128, 3, 64, kernels::dtype::f32},
                 variant{architecture::v6, 256, 2, 64, kernels::dtype::f16},
                 variant{architecture::v7, 128, 4, 64, kernels::dtype::bf16},
                 variant{architecture::v7, 256, 2, 128, kernels::dtype::f32},
                 variant{architecture::v7, 192, 2, 64, kernels::dtype::q8_0}}) {
    engine::random_model_spec spec;
    spec.arch = v.arch;
    spec.n_embd = v.n_embd;
    spec.n_layer = v.n_layer;
    spec.head_size = v.head;
    spec.n_vocab = 300;
    spec.matrix_type = v.type;
    spec.lora_mix = 16, spec.lora_decay = 32, spec.lora_aaa = 32, spec.lora_value = 16, spec.lora_gate = 48;
    INFO("v" << engine::architecture_name(v.arch) << " C=" << v.n_embd << " L=" << v.n_layer << " N=" << v.head
             << " " << kernels::dtype_name(v.type));
    auto ref = build(spec, "cpu-reference");
    auto fast = build(spec, "cpu");
    CHECK(ref->fingerprint() == fast->fingerprint());
    const auto tokens = random_tokens(333, spec.n_vocab, 7);

    engine::context rctx(ref), fctx(fast);
    auto rs = ref->initial_state();
    std::vector<float> rl(spec.n_vocab), fl(spec.n_vocab);
    engine::eval_options rnn;
    rnn.mode = engine::eval_mode::rnn;
    REQUIRE(rctx.eval(tokens, rs, rl.data(), rnn) == tokens.size());
    for (float x : rl) REQUIRE(std::isfinite(x));

    for (std::int64_t chunk : {std::int64_t{16}, std::int64_t{128}}) {
      auto fs = fast->initial_state();
      engine::eval_options seq;
      seq.chunk = chunk;
      REQUIRE(fctx.eval(tokens, fs, fl.data(), seq) == tokens.size());
      CHECK(max_abs_diff(fl, rl) < 1e-4f);
      CHECK(fs.max_abs_diff(rs) < 1e-4f);
    }
  }
}

TEST_CASE("feeding a sequence in pieces equals feeding it at once", "[engine][forward]") {
  engine::random_model_spec spec;
  spec.n_vocab = 256;
  auto m = build(spec, "cpu");
  engine::context ctx(m);
  const auto tokens = random_tokens(200, spec.n_vocab, 3);
  auto whole = m->initial_state();
  std::vector<float> l1(256), l2(256);
  ctx.eval(tokens, whole, l1.data());
  auto parts = m->initial_state();
  std::size_t pos = 0;
  for (std::size_t len : {1u, 7u, 64u, 3u, 125u}) {
    ctx.eval(std::span(tokens).subspan(pos, len), parts, l2.data());
    pos += len;
  }
  REQUIRE(pos == tokens.size());
  CHECK(parts.max_abs_diff(whole) < 1e-5f);
  CHECK(max_abs_diff(l1, l2) < 1e-5f);
}

TEST_CASE("eval rejects bad tokens and foreign states without touching the state", "[engine][forward]") {
  engine::random_model_spec spec;
  spec.n_vocab = 100;
  auto m = build(spec, "cpu");
  engine::context ctx(m);
  auto s = m->initial_state();
  auto before = s;
  std::vector<std::int32_t> bad = {1, 2, 100};
  CHECK_THROWS_AS(ctx.eval(bad, s, nullptr), engine::error);
  std::vector<std::int32_t> negative = {-1};
  CHECK_THROWS_AS(ctx.eval(negative, s, nullptr), engine::error);
  CHECK(s == before);

  spec.n_layer = 3;
  auto other = build(spec, "cpu");
  auto foreign = other->initial_state();
  std::vector<std::int32_t> ok = {1};
  CHECK_THROWS_AS(ctx.eval(ok, foreign, nullptr), engine::error);
}

TEST_CASE("a cancelled evaluation stops at a chunk boundary with a consistent state", "[engine][forward]") {
  engine::random_model_spec spec;
  spec.n_vocab = 64;
  auto m = build(spec, "cpu");
  engine::context ctx(m);
  const auto tokens = random_tokens(50, spec.n_vocab, 5);
  std::atomic<bool> cancel{true};
  engine::eval_options o;
  o.cancel = &cancel;
  auto s = m->initial_state();
  CHECK(ctx.eval(tokens, s, nullptr, o) == 0);
  CHECK(s == m->initial_state());
}

TEST_CASE("states serialize, compare and refuse other models", "[engine][state]") {
  engine::random_model_spec spec;
  spec.arch = architecture::v6;
  spec.n_vocab = 64;
  auto m = build(spec, "cpu");
  engine::context ctx(m);
  auto s = m->initial_state();
  const auto tokens = random_tokens(20, spec.n_vocab, 9);
  ctx.eval(tokens, s, nullptr);

  std::stringstream buf;
  s.save(buf);
  auto loaded = engine::state::load(buf, m->layout());
  CHECK(loaded == s);
  CHECK(loaded.max_abs_diff(s) == 0.0f);

  std::string bytes = buf.str();
  SECTION("truncated") {
    std::stringstream cut(bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_AS(engine::state::load(cut, m->layout()), engine::error);
  }
  SECTION("corrupted") {
    bytes[bytes.size() / 2] ^= 0x40;
    std::stringstream bad(bytes);
    CHECK_THROWS_AS(engine::state::load(bad, m->layout()), engine::error);
  }
  SECTION("another model") {
    spec.seed = 2;  // same shapes, other weights: another fingerprint
    auto other = build(spec, "cpu");
    REQUIRE(other->fingerprint() != m->fingerprint());
    std::stringstream in(bytes);
    try {
      engine::state::load(in, other->layout());
      FAIL("loaded a state of another model");
    } catch (const engine::error& e) {
      CHECK(e.code() == engine::errc::state_mismatch);
    }
  }
}

TEST_CASE("v4 starts from pp = -1e30 and other states from zero", "[engine][state]") {
  engine::random_model_spec spec;
  spec.arch = architecture::v4;
  spec.n_embd = 64;
  spec.n_vocab = 32;
  auto m = build(spec, "cpu");
  auto s = m->initial_state();
  auto layer = s.layer(0);
  CHECK(layer[3 * 64] == -1e30f);
  CHECK(layer[0] == 0.0f);
}

TEST_CASE("unknown tensors and missing tensors are named in the error", "[engine][model]") {
  engine::random_model_spec spec;
  spec.n_vocab = 64;
  SECTION("an extra tensor (an unsupported variant)") {
    auto store = engine::make_random_model(spec);
    store.add_owned_f32("blocks.0.ffn.s_emb.weight", {4}, {1, 2, 3, 4});
    try {
      engine::model::from_store(std::move(store));
      FAIL("accepted an unknown tensor");
    } catch (const engine::error& e) {
      CHECK(e.code() == engine::errc::unsupported);
      CHECK(std::string(e.what()).find("blocks.0.ffn.s_emb.weight") != std::string::npos);
    }
  }
  SECTION("a wrong shape") {
    auto good = engine::make_random_model(spec);
    engine::tensor_store store;
    store.source = "test";
    for (const auto& [name, t] : good.tensors()) {
      if (name == "blocks.1.att.k_a") {
        store.add_owned_f32(name, {1, 1, 64}, std::vector<float>(64));
        continue;
      }
      store.add(name, t);
    }
    store.keep_alive(std::make_shared<engine::tensor_store>(std::move(good)));
    try {
      engine::model::from_store(std::move(store));
      FAIL("accepted a wrong shape");
    } catch (const engine::error& e) {
      CHECK(std::string(e.what()).find("blocks.1.att.k_a") != std::string::npos);
    }
  }
}

// The kernels compute every product, norm and recurrence step of a token with the same
// operations in the same order whatever the chunking (see kernels/cpu/simd/matmul_f32.inc), so a
// document's state does not depend on how its tokens were fed — bit for bit, in both precisions.
// (Fast precision rounds activations: with a different summation order, one ulp before rounding
// could flip a rounded value, and such flips add up to ~1e-2 over a few layers.)
TEST_CASE("sequence mode equals single-token mode bit for bit, in both precisions", "[engine][forward][chunking]") {
  struct variant {
    architecture arch;
    int n_embd, n_layer;
    kernels::dtype type;
    std::optional<kernels::dtype> convert;
  };
  for (auto precision : {kernels::precision::fast, kernels::precision::exact})
  for (auto v : {variant{architecture::v7, 256, 3, kernels::dtype::bf16, {}},
                 variant{architecture::v7, 256, 3, kernels::dtype::bf16, kernels::dtype::q8_0},
                 variant{architecture::v7, 256, 3, kernels::dtype::bf16, kernels::dtype::q4_0},
                 variant{architecture::v6, 128, 2, kernels::dtype::f16, {}},
                 variant{architecture::v5_2, 128, 2, kernels::dtype::bf16, kernels::dtype::q5_0},
                 variant{architecture::v4, 96, 2, kernels::dtype::f32, kernels::dtype::q8_0}}) {
    engine::random_model_spec spec;
    spec.arch = v.arch;
    spec.n_embd = v.n_embd;
    spec.n_layer = v.n_layer;
    spec.n_vocab = 300;
    spec.matrix_type = v.type;
    spec.lora_mix = 32, spec.lora_decay = 32, spec.lora_aaa = 32, spec.lora_value = 32, spec.lora_gate = 64;
    engine::load_options o;
    o.backend.threads = 2;
    o.backend.precision = precision;
    o.weight_type = v.convert;
    auto m = engine::model::from_store(engine::make_random_model(spec), o);
    INFO("v" << engine::architecture_name(v.arch) << " " << kernels::dtype_name(m->compute_weights_dtype()) << " "
             << m->backend_info().isa << " " << kernels::precision_name(precision));
    const auto tokens = random_tokens(150, spec.n_vocab, 8);
    engine::context ctx(m);
    auto rs = m->initial_state();
    std::vector<float> rl(spec.n_vocab), sl(spec.n_vocab);
    engine::eval_options rnn;
    rnn.mode = engine::eval_mode::rnn;
    ctx.eval(tokens, rs, rl.data(), rnn);
    for (std::int64_t chunk : {std::int64_t{3}, std::int64_t{64}}) {
      INFO("chunk " << chunk);
      auto ss = m->initial_state();
      engine::eval_options seq;
      seq.chunk = chunk;
      ctx.eval(tokens, ss, sl.data(), seq);
      CHECK(ss.max_abs_diff(rs) == 0.0f);
      CHECK(max_abs_diff(sl, rl) == 0.0f);
    }
  }
}

TEST_CASE("results do not depend on the thread count", "[engine][forward][chunking]") {
  engine::random_model_spec spec;
  spec.n_embd = 256;
  spec.n_layer = 2;
  spec.n_vocab = 300;
  spec.matrix_type = kernels::dtype::bf16;
  const auto tokens = random_tokens(100, spec.n_vocab, 11);
  std::vector<std::vector<float>> states;
  for (int threads : {1, 2, 3}) {
    engine::load_options o;
    o.backend.threads = threads;
    o.backend.precision = kernels::precision::fast;
    auto m = engine::model::from_store(engine::make_random_model(spec), o);
    engine::context ctx(m);
    auto s = m->initial_state();
    ctx.eval(tokens, s, nullptr);
    states.emplace_back(s.data().begin(), s.data().end());
  }
  CHECK(states[0] == states[1]);
  CHECK(states[0] == states[2]);
}

TEST_CASE("a requested block type gives LoRAs q8_0, and bf16 where their rows are short", "[engine][forward]") {
  engine::random_model_spec spec;  // C = 256; LoRAs: decay 64, a 64, value 32, gate 128
  spec.n_embd = 256;
  spec.n_layer = 2;
  auto bytes = [](kernels::dtype t, std::int64_t rows, std::int64_t cols) {
    return static_cast<std::size_t>(rows * kernels::dtype_row_bytes(t, cols));
  };
  const std::int64_t C = spec.n_embd, F = 4 * C;
  for (auto type : {kernels::dtype::q8_0, kernels::dtype::q4_0}) {
    INFO(kernels::dtype_name(type));
    engine::load_options o;
    o.weight_type = type;
    auto m = engine::model::from_store(engine::make_random_model(spec), o);
    std::size_t want = bytes(type, spec.n_vocab, C);  // the head
    for (int layer = 0; layer < spec.n_layer; ++layer) {
      want += 4 * bytes(type, C, C) + bytes(type, F, C) + bytes(type, C, F);
      for (int d : {spec.lora_decay, spec.lora_aaa, spec.lora_gate, layer > 0 ? spec.lora_value : 0}) {
        if (d == 0) continue;  // layer 0 has no value LoRA
        want += bytes(kernels::dtype::q8_0, d, C);  // first stage: rows of C = 256 values
        want += bytes(kernels::dtype::bf16, C, d);  // second stage: rows of 32-128 values
      }
    }
    CHECK(m->bytes_per_token() == want);
  }
}

namespace {

bool is_v7_lora(const std::string& name) {
  const auto dot = name.rfind('.');
  const std::string leaf = name.substr(dot + 1);
  return name.find(".att.") != std::string::npos && leaf.size() == 2 && std::string("wavg").find(leaf[0]) != std::string::npos &&
         (leaf[1] == '1' || leaf[1] == '2');
}

// `source` with every RWKV-7 LoRA matrix replaced by `lora(canonical tensor)`; other tensors are
// borrowed from `source`, which must outlive the result.
engine::tensor_store with_loras(const engine::tensor_store& source, const std::function<engine::tensor(const engine::tensor&, engine::tensor_store&)>& lora) {
  engine::tensor_store s;
  s.format = source.format;
  s.source = source.source;
  for (const auto& [name, t] : source.tensors()) s.add(name, is_v7_lora(name) ? lora(t, s) : t);
  return s;
}

// The LoRA as a Linear-layout file stores it: [out][in] rows of `in` values encoded as `type`.
engine::tensor linear_layout(const engine::tensor& t, kernels::dtype type, engine::tensor_store& keep) {
  const std::int64_t in = t.shape[0], out = t.shape[1];
  const auto v = test::values_of(t);
  std::vector<float> row(static_cast<std::size_t>(in));
  const std::int64_t row_bytes = kernels::dtype_row_bytes(type, in);
  auto data = std::make_shared<std::vector<std::uint8_t>>(static_cast<std::size_t>(out * row_bytes));
  for (std::int64_t o = 0; o < out; ++o) {
    for (std::int64_t i = 0; i < in; ++i) row[static_cast<std::size_t>(i)] = v[static_cast<std::size_t>(i * out + o)];
    REQUIRE(kernels::quantize_row(type, row.data(), data->data() + o * row_bytes, in));
  }
  keep.keep_alive(data);
  engine::tensor lt;
  lt.type = type;
  lt.shape = t.shape;
  lt.data = data->data();
  lt.nbytes = data->size();
  lt.transposed = true;
  return lt;
}

std::vector<float> logits_after(const std::shared_ptr<const engine::model>& m, const std::vector<std::int32_t>& tokens) {
  engine::context ctx(m);
  auto s = m->initial_state();
  std::vector<float> logits(static_cast<std::size_t>(m->config().n_vocab));
  ctx.eval(tokens, s, logits.data());
  return logits;
}

}  // namespace

TEST_CASE("LoRA matrices stored transposed (Linear layout) are used in their stored encoding", "[engine][forward]") {
  // Hugging Face, GGUF and rwkv.cpp files hold the LoRAs [out][in]; their readers mark them
  // transposed and the loader uses them as stored instead of expanding them to fp32.
  engine::random_model_spec spec;  // C = 256; LoRAs: decay 64, a 64, value 32, gate 128
  spec.n_embd = 256;
  spec.n_layer = 2;
  spec.matrix_type = kernels::dtype::bf16;  // LoRAs bf16 too
  const std::vector<std::int32_t> tokens{5, 77, 300, 2, 2, 411};
  const auto blinkdl = engine::make_random_model(spec);
  auto bytes = [](kernels::dtype t, std::int64_t rows, std::int64_t cols) {
    return static_cast<std::size_t>(rows * kernels::dtype_row_bytes(t, cols));
  };
  engine::load_options exact;
  exact.backend.precision = kernels::precision::exact;
  const auto reference = engine::model::from_store(engine::make_random_model(spec), exact);

  SECTION("bf16: the same weights as BlinkDL's layout, bit for bit") {
    auto store = with_loras(blinkdl, [](const engine::tensor& t, engine::tensor_store& keep) {
      return linear_layout(t, kernels::dtype::bf16, keep);
    });
    CHECK(store.find("blocks.1.att.w1")->transposed);
    CHECK(store.to_f32("blocks.1.att.w1") == test::values_of(*blinkdl.find("blocks.1.att.w1")));
    const auto m = engine::model::from_store(std::move(store), exact);
    CHECK(m->bytes_per_token() == reference->bytes_per_token());
    CHECK(logits_after(m, tokens) == logits_after(reference, tokens));

    // A requested weight type converts them as it converts BlinkDL's (q8_0 / bf16 by row length).
    engine::load_options q8 = exact;
    q8.weight_type = kernels::dtype::q8_0;
    const auto converted = engine::model::from_store(with_loras(blinkdl, [](const engine::tensor& t, engine::tensor_store& keep) {
      return linear_layout(t, kernels::dtype::bf16, keep);
    }), q8);
    const auto converted_reference = engine::model::from_store(engine::make_random_model(spec), q8);
    CHECK(converted->bytes_per_token() == converted_reference->bytes_per_token());
    CHECK(logits_after(converted, tokens) == logits_after(converted_reference, tokens));
  }

  SECTION("q8_0: rows of C values stay q8_0, the short second-stage rows become fp32") {
    auto store = with_loras(blinkdl, [](const engine::tensor& t, engine::tensor_store& keep) {
      return linear_layout(t, kernels::dtype::q8_0, keep);
    });
    // The same values in BlinkDL's layout, fp32: what the quantized LoRAs must compute.
    auto decoded = with_loras(store, [](const engine::tensor& t, engine::tensor_store& keep) {
      auto v = std::make_shared<std::vector<float>>(test::values_of(t));
      keep.keep_alive(v);
      engine::tensor f;
      f.shape = t.shape;
      f.data = v->data();
      f.nbytes = v->size() * sizeof(float);
      return f;
    });
    const auto expected = logits_after(engine::model::from_store(std::move(decoded), exact), tokens);
    const std::int64_t C = spec.n_embd;
    // bf16 rows of at most 256 values are stored by columns, in panels of 64 rows.
    auto bf16_bytes = [&](std::int64_t rows, std::int64_t cols) {
      return bytes(kernels::dtype::bf16, cols <= 256 ? (rows + 63) / 64 * 64 : rows, cols);
    };
    std::size_t lora_bf16 = 0, lora_stored = 0;
    for (int layer = 0; layer < spec.n_layer; ++layer)
      for (int d : {spec.lora_decay, spec.lora_aaa, spec.lora_gate, layer > 0 ? spec.lora_value : 0}) {
        if (d == 0) continue;  // layer 0 has no value LoRA
        lora_bf16 += bf16_bytes(d, C) + bf16_bytes(C, d);
        lora_stored += bytes(kernels::dtype::q8_0, d, C) + bytes(kernels::dtype::f32, C, d);
      }
    const auto m = engine::model::from_store(std::move(store), exact);
    CHECK(m->bytes_per_token() == reference->bytes_per_token() - lora_bf16 + lora_stored);
    const auto got = logits_after(m, tokens);
    float worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - expected[i]));
    INFO("max logit difference " << worst);
    CHECK(worst < 1e-4f);
  }
}
