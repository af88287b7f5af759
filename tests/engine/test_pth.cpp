// The .pth reader: real torch.save checkpoints (shared/golden), torch-style archives built here
// (plain and ZIP64, pickle protocols 2 and 4), and hostile or broken files, each of which must end
// in an engine::error rather than a crash, a hang or a huge allocation.
#include "engine/error.hpp"
#include "engine/mapped_file.hpp"
#include "engine/pth_builder.hpp"
#include "engine/tensor_store.hpp"
#include "kernels/dtype.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>

using namespace rwkv;
using Catch::Matchers::Contains;
using test::bytes;
using test::tensor_spec;

namespace {

// A store together with the exact-size heap buffer it borrows from. Reading from a buffer of
// exactly the file's size lets AddressSanitizer catch any read past the end, which a page-rounded
// mapping would hide.
struct loaded {
  std::shared_ptr<const bytes> buffer;
  engine::tensor_store store;

  bool borrows(const engine::tensor& t) const {
    auto p = static_cast<const std::uint8_t*>(t.data);
    return p >= buffer->data() && p + t.nbytes <= buffer->data() + buffer->size();
  }
};

loaded load(const bytes& b) {
  auto buffer = std::make_shared<const bytes>(b);
  auto file = std::make_shared<const engine::mapped_file>(buffer->data(), buffer->size(), "test.pth");
  loaded out{buffer, engine::read_model_bytes(file)};
  out.store.keep_alive(buffer);
  return out;
}

// The error loading `b` raises; fails the test if it loads or throws anything but engine::error.
std::optional<engine::error> memory_error(const bytes& b) {
  try {
    load(b);
  } catch (const engine::error& e) {
    return e;
  } catch (const std::exception& e) {
    FAIL("threw " << typeid(e).name() << " instead of engine::error: " << e.what());
  }
  return std::nullopt;
}

std::string temp_file(const bytes& b) {
  static const std::string dir = test::temp_dir("pth");
  const std::string path = dir + "/case.pth";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return path;
}

// Loads through both entry points (memory and read_model_file) and returns the error, which
// must be the same from both.
engine::error load_error(const bytes& b) {
  auto in_memory = memory_error(b);
  REQUIRE(in_memory);
  try {
    engine::read_model_file(temp_file(b));
  } catch (const engine::error& e) {
    CHECK(e.code() == in_memory->code());
    return *in_memory;
  }
  FAIL("read_model_file accepted what read_model_bytes rejected");
  return *in_memory;
}

#define CHECK_LOAD_FAILS(bytes_, code_, needle_)                                  \
  do {                                                                             \
    auto err_ = load_error(bytes_);                                                \
    INFO(err_.what());                                                             \
    CHECK(engine::errc_name(err_.code()) == std::string(engine::errc_name(code_))); \
    CHECK_THAT(err_.what(), Contains(needle_));                                    \
  } while (0)

std::vector<float> floats(std::size_t n, float start, float step) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

// A small state dict in every layout the reader handles without copying, plus its storages.
struct fixture {
  std::vector<tensor_spec> tensors;
  std::map<std::string, bytes> storages;

  bytes pth(const test::zip_options& zip = {}, const test::pickle_style& style = {}) const {
    return test::write_pth(test::state_dict_pickle(tensors, style), storages, zip).data;
  }
};

fixture small_model() {
  fixture f;
  f.tensors = {
      {"emb.weight", "FloatStorage", "0", 12, 0, {3, 4}, {4, 1}},
      {"blocks.0.ln1.weight", "HalfStorage", "1", 4, 0, {4}, {1}},
      {"blocks.0.att.r_k", "BFloat16Storage", "2", 4, 0, {2, 2}, {2, 1}},
      // Two views of one storage, the second at an offset.
      {"a", "FloatStorage", "3", 5, 0, {2}, {1}},
      {"b", "FloatStorage", "3", 5, 2, {3}, {1}},
  };
  f.storages["0"] = test::to_bytes(floats(12, -1.0f, 0.5f));
  f.storages["1"] = test::to_bytes(std::vector<std::uint16_t>{0x3c00, 0xc000, 0x3800, 0x3400});  // 1, -2, .5, .25
  std::vector<std::uint16_t> bf;
  for (float v : {1.5f, -0.75f, 3.0f, 0.125f}) bf.push_back(kernels::f32_to_bf16(v));
  f.storages["2"] = test::to_bytes(bf);
  f.storages["3"] = test::to_bytes(floats(5, 10.0f, 1.0f));
  return f;
}

void check_small_model(const loaded& l) {
  const auto& s = l.store;
  REQUIRE(s.size() == 5);
  CHECK(s.format == "pth");
  const engine::tensor* emb = s.find("emb.weight");
  REQUIRE(emb);
  CHECK(emb->type == kernels::dtype::f32);
  CHECK(emb->shape == std::vector<std::int64_t>{3, 4});
  CHECK(s.to_f32("emb.weight") == floats(12, -1.0f, 0.5f));
  CHECK(s.find("blocks.0.ln1.weight")->type == kernels::dtype::f16);
  CHECK(s.to_f32("blocks.0.ln1.weight") == std::vector<float>{1.0f, -2.0f, 0.5f, 0.25f});
  CHECK(s.find("blocks.0.att.r_k")->type == kernels::dtype::bf16);
  CHECK(s.find("blocks.0.att.r_k")->shape == std::vector<std::int64_t>{2, 2});
  CHECK(s.to_f32("blocks.0.att.r_k") == std::vector<float>{1.5f, -0.75f, 3.0f, 0.125f});
  CHECK(s.to_f32("a") == std::vector<float>{10, 11});
  CHECK(s.to_f32("b") == std::vector<float>{12, 13, 14});
}

}  // namespace

// --- real checkpoints written by torch.save ---------------------------------------------------------

TEST_CASE("pth: golden checkpoints load with their state-dict keys, shapes and dtypes", "[engine][pth]") {
  // Key counts, element sums and sums of absolute values per file, computed with Debian's torch 1.13:
  //   sd = torch.load(f); len(sd); sum(float(v.double().sum()) for v in sd.values()); same with .abs()
  struct expected {
    const char* name;
    std::size_t keys;
    kernels::dtype type;
    std::int64_t n_embd;
    double sum, abs_sum;
  };
  const expected cases[] = {
      {"v4-small", 60, kernels::dtype::f32, 64, 811.8751910241788, 44267.263038859775},
      {"v4-fp16", 42, kernels::dtype::f16, 64, 654.7046641111374, 39286.8558164835},
      {"v5-small", 50, kernels::dtype::f32, 128, 1496.8623800299742, 85499.50581060874},
      {"v6-small", 62, kernels::dtype::f32, 128, 1942.3937287367517, 95144.2219587491},
      {"v7-small", 102, kernels::dtype::f32, 128, 2516.9842842751927, 105068.69511104995},
      {"v7-bf16", 72, kernels::dtype::bf16, 128, 1559.3618515948765, 89911.55842570169},
  };
  for (const auto& c : cases) {
    RWKV_REQUIRE_SHARED(path, std::string("golden/") + c.name + ".pth");
    INFO(path);
    auto file = std::make_shared<const engine::mapped_file>(path);
    const engine::tensor_store s = engine::read_model_bytes(file);
    CHECK(s.format == "pth");
    CHECK(s.size() == c.keys);
    const engine::tensor* emb = s.find("emb.weight");
    REQUIRE(emb);
    CHECK(emb->shape == std::vector<std::int64_t>{512, c.n_embd});
    CHECK(s.find("head.weight")->shape == std::vector<std::int64_t>{512, c.n_embd});
    double sum = 0, abs_sum = 0;
    for (const auto& [name, t] : s.tensors()) {
      CHECK(t.type == c.type);
      // Zero copy: every tensor is a view of the mapped file.
      auto p = static_cast<const std::uint8_t*>(t.data);
      CHECK((p >= file->data() && p + t.nbytes <= file->data() + file->size()));
      for (float v : s.to_f32(name)) {
        sum += v;
        abs_sum += std::fabs(v);
      }
    }
    CHECK(sum == Approx(c.sum).epsilon(1e-9));
    CHECK(abs_sum == Approx(c.abs_sum).epsilon(1e-9));
  }
}

TEST_CASE("pth: golden tensor values match torch.load element for element", "[engine][pth]") {
  // Printed with Debian's torch 1.13: repr(float(torch.load(f)[key][index])).
  struct expected {
    const char* file;
    const char* key;
    std::vector<std::int64_t> shape;
    std::size_t index;  // flat, row-major
    float value;
  };
  const expected cases[] = {
      {"v7-small", "emb.weight", {512, 128}, 0, -0.34178638458251953f},
      {"v7-small", "emb.weight", {512, 128}, 2, 1.3965263366699219f},
      {"v7-small", "emb.weight", {512, 128}, 512 * 128 - 1, -0.35622602701187134f},
      {"v7-small", "blocks.0.att.r_k", {2, 64}, 64 + 63, -0.03441515564918518f},
      {"v7-small", "blocks.2.ffn.value.weight", {128, 512}, 100 * 512 + 511, -0.11058486998081207f},
      {"v4-fp16", "emb.weight", {512, 64}, 1, -0.77001953125f},
      {"v4-fp16", "blocks.1.att.time_decay", {64}, 5, 0.92822265625f},
      {"v7-bf16", "emb.weight", {512, 128}, 0, -0.83984375f},
      {"v7-bf16", "blocks.1.att.w0", {1, 1, 128}, 7, 0.20703125f},
      {"v4-small", "emb.weight", {512, 64}, 1, 1.0282717943191528f},
  };
  for (const auto& c : cases) {
    RWKV_REQUIRE_SHARED(path, std::string("golden/") + c.file + ".pth");
    INFO(c.file << " " << c.key << "[" << c.index << "]");
    const engine::tensor_store s = engine::read_model_file(path);
    REQUIRE(s.find(c.key));
    CHECK(s.find(c.key)->shape == c.shape);
    CHECK(s.to_f32(c.key).at(c.index) == c.value);
  }
}

// --- archives built here ----------------------------------------------------------------------------

TEST_CASE("pth: a torch-style archive loads f32, f16 and bf16 views without copying", "[engine][pth]") {
  const loaded l = load(small_model().pth());
  check_small_model(l);
  for (const auto& [name, t] : l.store.tensors()) {
    INFO(name);
    CHECK(l.borrows(t));
  }
}

TEST_CASE("pth: ZIP64 archives load like plain ones", "[engine][pth][zip64]") {
  const loaded l = load(small_model().pth({.zip64 = true}));
  check_small_model(l);
  CHECK(l.borrows(*l.store.find("emb.weight")));
}

TEST_CASE("pth: protocol-4 pickles and OrderedDict state dicts with _metadata load", "[engine][pth]") {
  check_small_model(load(small_model().pth({}, {.ordered_dict = true})));
  check_small_model(load(small_model().pth({}, {.protocol4 = true})));
  check_small_model(load(small_model().pth({.zip64 = true}, {.ordered_dict = true, .protocol4 = true})));
}

TEST_CASE("pth: the archive prefix is whatever name torch.save chose", "[engine][pth]") {
  fixture f = small_model();
  const bytes b = test::write_pth(test::state_dict_pickle(f.tensors), f.storages, {}, "RWKV-x070-World").data;
  check_small_model(load(b));
}

TEST_CASE("pth: tensors the file cannot lend are copied into the store", "[engine][pth]") {
  fixture f;
  SECTION("a transposed view becomes contiguous") {
    f.tensors = {{"t", "FloatStorage", "0", 6, 0, {2, 3}, {1, 2}}};
    f.storages["0"] = test::to_bytes(floats(6, 0, 1));
    const loaded l = load(f.pth());
    CHECK(l.store.to_f32("t") == std::vector<float>{0, 2, 4, 1, 3, 5});
    CHECK_FALSE(l.borrows(*l.store.find("t")));
  }
  SECTION("float64 is narrowed to float32") {
    f.tensors = {{"d", "DoubleStorage", "0", 3, 1, {2}, {1}}};
    f.storages["0"] = test::to_bytes(std::vector<double>{9, 0.25, -1e10});
    const loaded l = load(f.pth());
    CHECK(l.store.find("d")->type == kernels::dtype::f32);
    CHECK(l.store.to_f32("d") == std::vector<float>{0.25f, -1e10f});
  }
  SECTION("data not aligned to its element size (a zip not written by torch)") {
    f.tensors = {{"u", "FloatStorage", "0", 3, 0, {3}, {1}}};
    f.storages["0"] = test::to_bytes(floats(3, 1, 1));
    // Grow the archive name until the storage lands off a 4-byte boundary.
    std::string archive = "o";
    test::zip_image img;
    for (;; archive += "d") {
      img = test::write_pth(test::state_dict_pickle(f.tensors), f.storages, {.align = 1}, archive);
      if (img.data_offset[archive + "/data/0"] % 4 != 0) break;
    }
    const loaded l = load(img.data);
    CHECK(l.store.to_f32("u") == std::vector<float>{1, 2, 3});
    CHECK(reinterpret_cast<std::uintptr_t>(l.store.find("u")->data) % alignof(float) == 0);
  }
  SECTION("a size-1 dimension with any stride is still contiguous") {
    f.tensors = {{"w0", "FloatStorage", "0", 4, 0, {1, 1, 4}, {4, 4, 1}}};
    f.storages["0"] = test::to_bytes(floats(4, 1, 1));
    const loaded l = load(f.pth());
    CHECK(l.borrows(*l.store.find("w0")));
  }
}

// --- broken and hostile files -----------------------------------------------------------------------

TEST_CASE("pth: empty files and random bytes are rejected", "[engine][pth][hostile]") {
  CHECK_LOAD_FAILS(bytes{}, engine::errc::bad_format, "empty");
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    bytes b(1 + rng() % 3000);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (round % 2) b.insert(b.begin(), {'P', 'K', 3, 4});  // get past the magic check
    auto err = memory_error(b);
    REQUIRE(err);
  }
  CHECK_LOAD_FAILS((bytes{'P', 'K', 3, 4, 1, 2, 3}), engine::errc::bad_format, "zip");
}

TEST_CASE("pth: every truncation of a valid file is an error", "[engine][pth][hostile]") {
  for (bool zip64 : {false, true}) {
    const bytes full = small_model().pth({.zip64 = zip64});
    REQUIRE_FALSE(memory_error(full));
    for (std::size_t n = 0; n < full.size(); ++n) {
      INFO("zip64 " << zip64 << ", first " << n << " of " << full.size() << " bytes");
      REQUIRE(memory_error(bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n))));
    }
  }
}

TEST_CASE("pth: random corruption never crashes", "[engine][pth][hostile]") {
  const bytes full = small_model().pth();
  std::mt19937 rng(99);
  int rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    bytes b = full;
    for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    rejected += memory_error(b) ? 1 : 0;  // loading is fine too (the flip hit tensor data)
  }
  CHECK(rejected > 0);
}

TEST_CASE("pth: zip directories that point outside the file are rejected", "[engine][pth][hostile]") {
  const fixture f = small_model();
  const auto img = [&](bool zip64 = false) { return test::write_pth(test::state_dict_pickle(f.tensors), f.storages, {.zip64 = zip64}); };

  SECTION("central directory past the end") {
    auto z = img();
    test::put_u32(z.data, z.end + 16, static_cast<std::uint32_t>(z.data.size() + 100));
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "central directory");
  }
  SECTION("ZIP64 central directory past the end") {
    auto z = img(true);
    test::put_u64(z.data, z.zip64_end + 48, std::uint64_t{1} << 62);
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "central directory");
  }
  SECTION("ZIP64 locator past the end") {
    auto z = img(true);
    test::put_u64(z.data, z.end - 20 + 8, z.data.size() * 2);
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "ZIP64 locator");
  }
  SECTION("an entry size past the end") {
    auto z = img();
    const std::size_t h = z.central_header.at("archive/data/0");
    test::put_u32(z.data, h + 20, 1u << 30);
    test::put_u32(z.data, h + 24, 1u << 30);
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "archive/data/0");
  }
  SECTION("a ZIP64 entry size past the end") {
    auto z = img(true);
    const std::size_t h = z.central_header.at("archive/data/0");
    const std::size_t extra = h + 46 + std::string("archive/data/0").size();
    test::put_u64(z.data, extra + 4, std::uint64_t{1} << 40);
    test::put_u64(z.data, extra + 12, std::uint64_t{1} << 40);
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "archive/data/0");
  }
  SECTION("an entry whose data runs one byte past the end") {
    auto z = img();
    const auto size = static_cast<std::uint32_t>(z.data.size() - z.data_offset.at("archive/data/3") + 1);
    test::put_u32(z.data, z.central_header.at("archive/data/3") + 20, size);
    test::put_u32(z.data, z.central_header.at("archive/data/3") + 24, size);
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "past the end");
  }
  SECTION("a local header offset past the end") {
    auto z = img();
    test::put_u32(z.data, z.central_header.at("archive/data.pkl") + 42, 0x7fffffff);
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "points at offset");
  }
  SECTION("a local header for another name") {
    auto z = img();
    z.data[z.local_header.at("archive/data/1") + 30 + 8] = 'X';
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "local header");
  }
  SECTION("a header claiming 10^12 entries") {
    auto z = img(true);
    test::put_u64(z.data, z.zip64_end + 24, 1'000'000'000'000);
    test::put_u64(z.data, z.zip64_end + 32, 1'000'000'000'000);
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "1000000000000 entries");
    auto p = img();
    test::put_u16(p.data, p.end + 8, 0xfffe);
    test::put_u16(p.data, p.end + 10, 0xfffe);
    CHECK_LOAD_FAILS(p.data, engine::errc::bad_format, "65534 entries");
  }
}

TEST_CASE("pth: archives that are not plain torch.save checkpoints are refused", "[engine][pth][hostile]") {
  const fixture f = small_model();
  const bytes pickle = test::state_dict_pickle(f.tensors);
  SECTION("compressed entry") {
    auto z = test::write_zip({{"archive/data.pkl", pickle, 8}});
    CHECK_LOAD_FAILS(z.data, engine::errc::unsupported, "compressed");
  }
  SECTION("encrypted entry") {
    auto z = test::write_pth(pickle, f.storages);
    test::put_u16(z.data, z.central_header.at("archive/data.pkl") + 8, 1);
    CHECK_LOAD_FAILS(z.data, engine::errc::unsupported, "encrypted");
  }
  SECTION("no data.pkl") {
    auto z = test::write_zip({{"readme.txt", {'h', 'i'}}});
    CHECK_LOAD_FAILS(z.data, engine::errc::unsupported, "data.pkl");
  }
  SECTION("two entries of the same name") {
    auto z = test::write_zip({{"archive/data.pkl", pickle}, {"archive/data.pkl", pickle}});
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "two entries");
  }
  SECTION("two checkpoints in one archive") {
    auto z = test::write_zip({{"a/data.pkl", pickle}, {"b/data.pkl", pickle}});
    CHECK_LOAD_FAILS(z.data, engine::errc::bad_format, "two checkpoints");
  }
  SECTION("big-endian storages") {
    std::vector<test::zip_entry> entries = {{"archive/data.pkl", pickle}, {"archive/byteorder", {'b', 'i', 'g'}}};
    CHECK_LOAD_FAILS(test::write_zip(entries).data, engine::errc::unsupported, "byte order");
  }
}

namespace {

// A pickle that calls the global and stops: what an exploit looks like.
bytes call(std::string_view module, std::string_view name) {
  test::pickle_writer w;
  w.proto(2).global(module, name).unicode("id").op(0x85).op('R').stop();
  return w.data;
}

bytes pth_with_pickle(const bytes& pickle) { return test::write_pth(pickle, small_model().storages).data; }

bytes pth_with_tensor(tensor_spec t, bytes storage = test::to_bytes(floats(4, 0, 1))) {
  return test::write_pth(test::state_dict_pickle({t}), {{"0", storage}}).data;
}

}  // namespace

TEST_CASE("pth: pickles that would run code are refused, naming what they use", "[engine][pth][hostile]") {
  using engine::errc;
  CHECK_LOAD_FAILS(pth_with_pickle(call("os", "system")), errc::unsupported, "os.system");
  CHECK_LOAD_FAILS(pth_with_pickle(call("os", "system")), errc::unsupported, "not a plain state-dict checkpoint");
  CHECK_LOAD_FAILS(pth_with_pickle(call("builtins", "eval")), errc::unsupported, "builtins.eval");
  CHECK_LOAD_FAILS(pth_with_pickle(call("torch", "load")), errc::unsupported, "torch.load");
  CHECK_LOAD_FAILS(pth_with_pickle(call("torch", "FloatStorage")), errc::unsupported, "as a function");
  test::pickle_writer stack_global;
  stack_global.proto(4).short_unicode("builtins").short_unicode("exec").op(0x93).stop();
  CHECK_LOAD_FAILS(pth_with_pickle(stack_global.data), errc::unsupported, "builtins.exec");

  test::pickle_writer inst, obj, ext, newobj, persid;
  inst.proto(2).mark().raw({'i', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n'}).stop();
  CHECK_LOAD_FAILS(pth_with_pickle(inst.data), errc::unsupported, "INST");
  obj.proto(2).mark().global("collections", "OrderedDict").op('o').stop();
  CHECK_LOAD_FAILS(pth_with_pickle(obj.data), errc::unsupported, "OBJ");
  ext.proto(2).raw({0x82, 1}).stop();
  CHECK_LOAD_FAILS(pth_with_pickle(ext.data), errc::unsupported, "EXT1");
  newobj.proto(2).global("collections", "OrderedDict").op(')').op(0x81).stop();
  CHECK_LOAD_FAILS(pth_with_pickle(newobj.data), errc::unsupported, "NEWOBJ");
  persid.proto(2).unicode("x").op(0x85).op('Q').stop();
  CHECK_LOAD_FAILS(pth_with_pickle(persid.data), errc::unsupported, "persistent id");
}

TEST_CASE("pth: malformed pickles are errors, not crashes", "[engine][pth][hostile]") {
  using engine::errc;
  auto p = [] { return test::pickle_writer{}; };
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).raw({0xff}).stop().data), errc::bad_format, "unknown pickle opcode 0xff");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(6).op('}').stop().data), errc::unsupported, "protocol 6");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).get(7).stop().data), errc::bad_format, "memo slot 7");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).op('s').stop().data), errc::bad_format, "empty stack");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).op('t').stop().data), errc::bad_format, "without a MARK");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).op('}').op('N').op('a').stop().data), errc::unsupported, "APPEND");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).raw({0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}).stop().data), errc::unsupported,
                   "64 bits");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).raw({'T', 0xff, 0xff, 0xff, 0xff}).stop().data), errc::bad_format,
                   "negative length");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).raw({'X', 0xff, 0xff, 0xff, 0xff}).stop().data), errc::bad_format,
                   "truncated");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).op('}').data), errc::bad_format, "without a STOP");
  CHECK_LOAD_FAILS(pth_with_pickle(p().proto(2).op(']').stop().data), errc::unsupported, "type list, not a state dict");

  // Every truncation of a real state-dict pickle, stored in an otherwise valid archive.
  const bytes pickle = test::state_dict_pickle(small_model().tensors);
  for (std::size_t n = 0; n < pickle.size(); ++n) {
    INFO("first " << n << " of " << pickle.size() << " pickle bytes");
    auto err = memory_error(pth_with_pickle(bytes(pickle.begin(), pickle.begin() + static_cast<std::ptrdiff_t>(n))));
    REQUIRE(err);
    CHECK(err->code() == errc::bad_format);
  }
}

TEST_CASE("pth: deep nesting, self-reference and absurd counts stay bounded", "[engine][pth][hostile]") {
  using engine::errc;
  test::pickle_writer marks;
  marks.proto(2);
  for (int i = 0; i < 100000; ++i) marks.mark();
  CHECK_LOAD_FAILS(pth_with_pickle(marks.stop().data), errc::unsupported, "nests more than");

  // 200,000 nested 1-tuples: nothing recurses over the tree, so depth costs nothing.
  test::pickle_writer tuples;
  tuples.proto(2).op(')');
  for (int i = 0; i < 200000; ++i) tuples.op(0x85);
  CHECK_LOAD_FAILS(pth_with_pickle(tuples.stop().data), errc::unsupported, "holds a value of type tuple");

  // A dict that contains itself (legal pickle) must neither loop nor leak.
  test::pickle_writer self;
  self.proto(2).op('}').put(0).unicode("me").get(0).op('s').stop();
  CHECK_LOAD_FAILS(pth_with_pickle(self.data), errc::unsupported, "'me' is of type dict");

  test::pickle_writer stacked;
  stacked.proto(2);
  stacked.data.insert(stacked.data.end(), 3'000'000, 'N');
  CHECK_LOAD_FAILS(pth_with_pickle(stacked.stop().data), errc::unsupported, "stacks more than 1048576 objects");

  test::pickle_writer objects;  // 1.5 million strings in 300,000 tuples
  objects.proto(2);
  for (int i = 0; i < 300000; ++i) objects.mark().raw({'U', 0, 'U', 0, 'U', 0, 'U', 0}).op('t');
  CHECK_LOAD_FAILS(pth_with_pickle(objects.stop().data), errc::unsupported, "holds more than 1048576 objects");
}

TEST_CASE("pth: tensors that do not fit their storage are rejected", "[engine][pth][hostile]") {
  using engine::errc;
  const tensor_spec ok{"w", "FloatStorage", "0", 4, 0, {2, 2}, {2, 1}};
  REQUIRE_FALSE(memory_error(pth_with_tensor(ok)));
  auto with = [&](auto change) {
    tensor_spec t = ok;
    change(t);
    return pth_with_tensor(t);
  };
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.key = "99"; }), errc::bad_format, "archive/data/99");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.size = {3, 2}; }), errc::bad_format, "more elements than its storage");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.storage_numel = 100; }), errc::bad_format, "holds only 16 bytes");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.size = {-1, 2}; }), errc::bad_format, "negative size");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.stride = {-2, 1}; }), errc::bad_format, "negative size or stride");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.size = {std::int64_t{1} << 40, std::int64_t{1} << 40}; }),
                   errc::bad_format, "more elements");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.stride = {std::int64_t{1} << 62, 1}; }), errc::bad_format, "reaches");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.offset = 1; }), errc::bad_format, "reaches element 4");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.offset = -1; }), errc::bad_format, "negative storage offset");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.size = {2, 2, 1, 1, 1, 1, 1, 1, 1}; t.stride = {2, 1, 1, 1, 1, 1, 1, 1, 1}; }),
                   errc::unsupported, "dimensions");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.storage_type = "LongStorage"; t.storage_numel = 2; }), errc::unsupported,
                   "torch.LongStorage");
  CHECK_LOAD_FAILS(with([](tensor_spec& t) { t.storage_type = "ComplexFloatStorage"; }), errc::unsupported,
                   "torch.ComplexFloatStorage");

  // A state dict holding something other than tensors, and a name used twice.
  test::pickle_writer other;
  other.proto(2).op('}').unicode("step").integer(1000).op('s').stop();
  CHECK_LOAD_FAILS(pth_with_pickle(other.data), errc::unsupported, "'step' is of type int, not a tensor");
  bytes twice = test::state_dict_pickle({ok, ok});
  CHECK_LOAD_FAILS(pth_with_pickle(twice), errc::bad_format, "appears twice");
}
