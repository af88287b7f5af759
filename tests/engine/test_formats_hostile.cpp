// Corrupt and hostile model files of every format get a clean engine::error — never a crash, a
// hang, or an allocation sized by the file's claims. Each format is truncated at every prefix
// length of a small valid file, then specific fields are made to lie.
#include "engine/convert.hpp"
#include "engine/error.hpp"
#include "engine/format_builders.hpp"
#include "engine/mapped_file.hpp"
#include "engine/model.hpp"
#include "engine/random_model.hpp"
#include "engine/tensor_store.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

using namespace rwkv;
using test::bytes;

namespace {

engine::tensor_store tiny_model(engine::architecture arch) {
  engine::random_model_spec spec;
  spec.arch = arch;
  spec.n_layer = 1;
  spec.n_embd = 16;
  spec.head_size = 16;
  spec.n_vocab = 8;
  spec.n_ffn = 32;
  spec.lora_mix = spec.lora_decay = spec.lora_aaa = spec.lora_value = spec.lora_gate = 8;
  return engine::make_random_model(spec);
}

// Reads bytes as a model file from memory (borrowed: they outlive the call), as read_model_file
// reads a mapped file.
engine::tensor_store read_span(const std::uint8_t* data, std::size_t size) {
  return engine::read_model_bytes(std::make_shared<const engine::mapped_file>(data, size, "<test>"));
}
engine::tensor_store read_bytes(const bytes& b) { return read_span(b.data(), b.size()); }

// Only engine::error may escape; anything else (or nothing) fails the test.
void expect_engine_error(const bytes& b, const char* what) {
  INFO(what);
  CHECK_THROWS_AS(read_bytes(b), engine::error);
}

void expect_code(const bytes& b, engine::errc code, const char* what) {
  INFO(what);
  try {
    read_bytes(b);
    FAIL("no error for " << what);
  } catch (const engine::error& e) {
    INFO(e.what());
    CHECK(e.code() == code);
  }
}

// Every strict prefix is refused with engine::error: by the reader, or — where a prefix ends
// exactly between two records of a format without a tensor count (rwkv.cpp) — by the model
// builder, which finds tensors missing.
void every_prefix_fails(const bytes& valid, bool is_model = true) {
  if (is_model)
    REQUIRE_NOTHROW(engine::model::from_store(read_bytes(valid)));
  else
    REQUIRE_NOTHROW(read_bytes(valid));
  std::size_t refused = 0, by_model = 0;
  for (std::size_t n = 0; n < valid.size(); ++n) {
    try {
      auto store = read_span(valid.data(), n);
      if (!is_model) continue;
      try {
        engine::model::from_store(std::move(store));
      } catch (const engine::error&) {
        ++refused, ++by_model;
      }
    } catch (const engine::error&) {
      ++refused;
    }
  }
  CHECK(refused == valid.size());
  CHECK(by_model <= 64);
}

template <class T>
void poke(bytes& b, std::size_t at, T v) {
  REQUIRE(at + sizeof v <= b.size());
  std::memcpy(b.data() + at, &v, sizeof v);
}

bytes write_with(const engine::tensor_store& s, engine::output_format f, const std::string& dir, const char* name) {
  engine::convert_options o;
  o.format = f;
  const std::string path = dir + "/" + name;
  engine::write_model(s, path, o);
  return test::read_file_bytes(path);
}

bytes f32_bytes(std::size_t n, float v = 0.5f) {
  bytes b(n * 4);
  for (std::size_t i = 0; i < n; ++i) std::memcpy(b.data() + 4 * i, &v, 4);
  return b;
}

}  // namespace

TEST_CASE("GGUF truncated at every length is refused cleanly", "[formats][hostile][gguf]") {
  const auto dir = test::temp_dir("hostile-gguf");
  every_prefix_fails(write_with(tiny_model(engine::architecture::v7), engine::output_format::gguf, dir, "v7.gguf"));
}

TEST_CASE("rwkv.cpp files truncated at every length are refused cleanly", "[formats][hostile][rwkvcpp]") {
  every_prefix_fails(test::write_rwkvcpp(test::rwkvcpp_from_blinkdl(tiny_model(engine::architecture::v6), false)));
}

TEST_CASE("safetensors truncated at every length are refused cleanly", "[formats][hostile][safetensors]") {
  // A few tensors of every dtype the reader takes (the JSON header is re-parsed for each prefix,
  // so a whole model would make this slow without testing anything more).
  bytes data = f32_bytes(8);
  for (int i = 0; i < 8; ++i) data.push_back(static_cast<std::uint8_t>(i));  // F16 [4], BF16 [2] ...
  data.resize(data.size() + 16, 0x3f);                                       // ... and F64 [2]
  every_prefix_fails(test::safetensors_image(
                         R"({"__metadata__":{"format":"pt"},"emb.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]},)"
                         R"("a":{"dtype":"F16","shape":[2,2],"data_offsets":[32,40]},"b":{"dtype":"BF16","shape":[0],"data_offsets":[40,40]},)"
                         R"("c":{"dtype":"F64","shape":[2],"data_offsets":[40,56]}})",
                         data),
                     false);
}

TEST_CASE("GGUF headers that lie are refused without allocating for the lie", "[formats][hostile][gguf]") {
  auto base = [] {
    test::gguf_builder g;
    g.str("general.architecture", "rwkv7").u32("rwkv7.wkv.head_size", 16);
    return g;
  };
  const bytes one_tensor = f32_bytes(32 * 8);
  auto with_tensor = [&](test::gguf_builder g) { return g.tensor("token_embd.weight", 0, {32, 8}, one_tensor); };

  expect_code(base().build(3, 32, 1'000'000'000'000LL, -1), engine::errc::bad_format, "10^12 tensors");
  expect_code(base().build(3, 32, -1, 1'000'000'000'000LL), engine::errc::bad_format, "10^12 key/values");
  expect_code(base().build(1), engine::errc::unsupported, "GGUF v1");
  expect_code(base().build(0x03000000u), engine::errc::unsupported, "big-endian");
  expect_code(base().build(7), engine::errc::unsupported, "unknown version");

  {  // a string claiming 2^60 bytes
    test::gguf_builder g;
    bytes v;
    const std::uint64_t huge = std::uint64_t{1} << 60;
    v.resize(8);
    std::memcpy(v.data(), &huge, 8);
    g.raw_kv("general.name", 8, v);
    expect_code(g.build(), engine::errc::bad_format, "huge string");
  }
  {  // an array claiming 2^40 u32 elements, and a nested array
    test::gguf_builder g;
    bytes v(12);
    const std::uint32_t u32 = 4;
    const std::uint64_t n = std::uint64_t{1} << 40;
    std::memcpy(v.data(), &u32, 4);
    std::memcpy(v.data() + 4, &n, 8);
    g.raw_kv("x", 9, v);
    expect_code(g.build(), engine::errc::bad_format, "huge array");
    test::gguf_builder h;
    const std::uint32_t arr = 9;
    std::memcpy(v.data(), &arr, 4);
    const std::uint64_t one = 1;
    std::memcpy(v.data() + 4, &one, 8);
    h.raw_kv("x", 9, v);
    expect_code(h.build(), engine::errc::bad_format, "nested array");
  }
  expect_code(base().u32("general.architecture", 1).build(), engine::errc::bad_format, "duplicate key");
  expect_code(test::gguf_builder().raw_kv("x", 99, {}).build(), engine::errc::bad_format, "unknown value type");

  for (std::uint32_t a : {0u, 3u, 48u}) {
    auto g = with_tensor(base().u32("general.alignment", a));
    expect_code(g.build(3, a ? a : 32), engine::errc::bad_format, "bad alignment");
  }
  expect_code(with_tensor(base()).tensor("output.weight", 0, {32, 8}, one_tensor, 0).build(), engine::errc::bad_format,
              "overlapping tensors");
  expect_code(base().tensor("token_embd.weight", 0, {32, 8}, one_tensor, 16).build(), engine::errc::bad_format,
              "unaligned offset");
  expect_code(base().tensor("token_embd.weight", 0, {32, 8}, {}, 1 << 20).build(), engine::errc::bad_format,
              "offset past the end");
  expect_code(base().tensor("token_embd.weight", 0, {32, 8000}, one_tensor).build(), engine::errc::bad_format,
              "shape larger than the data");
  expect_code(with_tensor(base()).tensor("token_embd.weight", 0, {32, 8}, one_tensor).build(), engine::errc::bad_format,
              "duplicate tensor");
  expect_code(base().tensor("token_embd.weight", 0, {32, 1, 1, 1, 8}, one_tensor).build(), engine::errc::bad_format,
              "five dimensions");
  expect_code(base().tensor("token_embd.weight", 0, {static_cast<std::uint64_t>(-32), 8}, one_tensor).build(),
              engine::errc::bad_format, "negative dimension");
  expect_code(base().tensor("token_embd.weight", 0, {0, 8}, one_tensor).build(), engine::errc::bad_format, "zero dimension");
  expect_code(base().tensor("token_embd.weight", 8, {33, 8}, one_tensor).build(), engine::errc::bad_format,
              "q8_0 rows that do not fit the block");
  expect_code(base().tensor("token_embd.weight", 10, {256, 1}, one_tensor).build(), engine::errc::unsupported,
              "Q2_K, a type rwkv-lsp does not read");
  expect_code(base().tensor("token_embd.weight", 99, {32, 8}, one_tensor).build(), engine::errc::unsupported,
              "unknown ggml type");
  {
    test::gguf_builder g;
    g.str("general.architecture", "llama").tensor("token_embd.weight", 0, {32, 8}, one_tensor);
    expect_code(g.build(), engine::errc::unsupported, "another architecture");
  }
  expect_code(with_tensor(base()).tensor("blk.0.mystery.weight", 0, {32}, f32_bytes(32)).build(), engine::errc::unsupported,
              "unknown tensor");
  {
    auto g = with_tensor(base());
    g.str("tokenizer.ggml.model", "rwkv");
    expect_code(g.build(), engine::errc::bad_format, "rwkv tokenizer without tokens");
  }
}

TEST_CASE("rwkv.cpp files that lie are refused", "[formats][hostile][rwkvcpp]") {
  const auto valid = test::rwkvcpp_from_blinkdl(tiny_model(engine::architecture::v7), false);
  REQUIRE_NOTHROW(read_bytes(test::write_rwkvcpp(valid)));
  auto mutate = [&](auto fn) {
    auto img = valid;
    fn(img);
    return test::write_rwkvcpp(img);
  };
  expect_code(mutate([](auto& i) { i.tensors[0].ne = {32, 8, 1, 1}; }), engine::errc::bad_format, "four dimensions");
  expect_code(mutate([](auto& i) { i.tensors[0].ne = {0, 8}; }), engine::errc::bad_format, "zero dimension");
  expect_code(mutate([](auto& i) { i.tensors[0].type = 42; }), engine::errc::bad_format, "unknown type");
  expect_code(mutate([](auto& i) { i.tensors[1].name = i.tensors[0].name; }), engine::errc::bad_format, "duplicate name");
  expect_code(mutate([](auto& i) { i.tensors[0].ne[1] = 4000; }), engine::errc::bad_format, "data past the end");
  expect_code(mutate([](auto& i) { i.n_vocab = 9; }), engine::errc::bad_format, "header disagrees with emb.weight");
  expect_code(mutate([](auto& i) { i.tensors[0].type = 9, i.tensors[0].ne[0] = 31; }), engine::errc::bad_format,
              "q8_0 rows that do not fit the block");
  auto b = test::write_rwkvcpp(valid);
  poke<std::uint32_t>(b, 28, 0xFFFFFFF0u);  // first record's key length
  expect_code(b, engine::errc::bad_format, "huge key length");
  b = test::write_rwkvcpp(valid);
  poke<std::uint32_t>(b, 32, 0x7FFFFFFFu);  // first record's first dimension
  expect_code(b, engine::errc::bad_format, "huge dimension");
}

TEST_CASE("safetensors headers that lie are refused", "[formats][hostile][safetensors]") {
  const bytes data = f32_bytes(8);
  auto image = [&](const std::string& header) { return test::safetensors_image(header, data); };
  REQUIRE_NOTHROW(read_bytes(image(R"({"emb.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}})")));

  bytes huge = image("{}");
  poke<std::uint64_t>(huge, 0, std::uint64_t{1} << 62);
  huge[8] = '{';
  expect_engine_error(huge, "header length 2^62");
  expect_code(image(R"({"emb.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]})"), engine::errc::bad_format,
              "truncated JSON");
  expect_code(image(R"({"a":{"dtype":"F32","shape":[2,4],"data_offsets":[0,64]}})"), engine::errc::bad_format,
              "offsets past the end");
  expect_code(image(R"({"a":{"dtype":"F32","shape":[2,4],"data_offsets":[32,0]}})"), engine::errc::bad_format,
              "begin after end");
  expect_code(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,24]}})"),
              engine::errc::bad_format, "overlapping tensors");
  expect_code(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"),
              engine::errc::bad_format, "duplicate names");
  expect_code(image(R"({"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})"), engine::errc::unsupported, "integer dtype");
  expect_code(image(R"({"a":{"dtype":"F32","shape":[3,4],"data_offsets":[0,32]}})"), engine::errc::bad_format,
              "shape that does not match the bytes");
  expect_code(image(R"({"a":{"dtype":"F32","shape":[-2,4],"data_offsets":[0,32]}})"), engine::errc::bad_format,
              "negative dimension");
  expect_code(image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,32]}})"),
              engine::errc::bad_format, "overflowing shape");
  expect_code(image(R"({"a":[1,2,3]})"), engine::errc::bad_format, "entry not an object");
  expect_engine_error(image(R"([1,2])"), "header not an object");

  const auto dir = test::temp_dir("hostile-index");
  test::write_file_bytes(dir + "/model-1.safetensors", image(R"({"emb.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}})"));
  const std::string index = dir + "/model.safetensors.index.json";
  auto write_index = [&](const std::string& text) { test::write_file_bytes(index, bytes(text.begin(), text.end())); };
  write_index(R"({"weight_map":{"emb.weight":"../model-1.safetensors"}})");
  CHECK_THROWS_AS(engine::read_model_file(index), engine::error);
  write_index(R"({"weight_map":{"head.weight":"model-1.safetensors"}})");
  CHECK_THROWS_AS(engine::read_model_file(index), engine::error);
  write_index(R"({"weight_map":{"emb.weight":"model-2.safetensors"}})");
  CHECK_THROWS_AS(engine::read_model_file(index), engine::error);
  write_index(R"({"weight_map":{"emb.weight":"model-1.safetensors"}})");
  CHECK_NOTHROW(engine::read_model_file(index));
  CHECK_NOTHROW(engine::read_model_file(dir));
}

TEST_CASE("random bytes and empty files are not taken for models", "[formats][hostile]") {
  expect_code({}, engine::errc::bad_format, "empty");
  expect_code(bytes{'G', 'G', 'U', 'F'}, engine::errc::bad_format, "bare GGUF magic");
  bytes noise(4096);
  std::uint32_t x = 12345;
  for (auto& b : noise) b = static_cast<std::uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
  expect_engine_error(noise, "noise");
}
