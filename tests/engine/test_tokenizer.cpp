// The World and byte tokenizers against the reference tokenizer's ids, round trips on large and
// invalid text, the greedy-match and re-synchronisation guarantees, and load_tokenizer's detection.
#include "engine/error.hpp"
#include "engine/tokenizer.hpp"
#include "engine/tokenizer_fixtures.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>

namespace {

using rwkv::engine::errc;
using rwkv::test::catch_error;
using tokens = std::vector<std::int32_t>;

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::string text(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0).read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

std::string write_temp(const std::string& name, const std::string& content) {
  auto path = (std::filesystem::path(rwkv::test::temp_dir("tokenizer")) / name).string();
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Source code to tokenize: the C++ library's vector header, or generated code when it is absent.
std::string source_code_sample() {
  std::string text = read_file("/usr/include/c++/12/bits/stl_vector.h");
  if (!text.empty()) return text;
  for (int i = 0; i < 2000; ++i)
    text += "  for (std::size_t i = 0; i < n; ++i) sum_" + std::to_string(i) + " += a[i] * b[i];\n";
  return text;
}

tokens concat(tokens a, const tokens& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("World tokenizer gives the reference ids for every golden text", "[engine][tokenizer][golden]") {
  RWKV_REQUIRE_SHARED(golden_path, "golden/tokenizer-world.json");
  RWKV_REQUIRE_WORLD(world);
  const auto golden = rwkv::test::read_json(golden_path);
  REQUIRE(golden.size() > 10);
  for (const auto& c : golden) {
    const auto text = c.at("text").get<std::string>();
    const auto expected = c.at("tokens").get<tokens>();
    INFO("text: " << text.substr(0, 80));
    CHECK(world->encode(text) == expected);
    CHECK(world->decode(expected) == text);
  }
}

TEST_CASE("World tokenizer reports the models' vocabulary and its special ids", "[engine][tokenizer]") {
  RWKV_REQUIRE_WORLD(world);
  CHECK(world->name() == "world");
  CHECK(world->vocab_size() == 65536);
  CHECK(world->end_of_text() == 0);
  CHECK(world->lookahead_bytes() == 128);
  CHECK(world->token_bytes(1) == std::string_view("\0", 1));
  CHECK(world->token_bytes(256) == "\xFF");
  CHECK(world->token_bytes(261) == "\n\n");
  CHECK(world->token_bytes(2423) == "\xC2\x80");  // '\x80' in a str literal is U+0080
  CHECK(world->token_bytes(2412) == "\x82\xAC");  // b'\x82\xac'
  CHECK(world->token_bytes(65529) == std::string(128, ' '));
  CHECK(world->token_bytes(0).empty());      // end of text
  CHECK(world->token_bytes(65535).empty());  // padding
  for (std::int32_t bad : {-1, 65536, 1 << 30}) {
    auto e = catch_error([&] { (void)world->token_bytes(bad); });
    CHECK(e.thrown);
    CHECK(e.code == errc::bad_argument);
    const tokens t{33, bad};
    CHECK(catch_error([&] { (void)world->decode(t); }).code == errc::bad_argument);
  }
  for (std::int32_t id = 1; id <= 65529; ++id) REQUIRE(!world->token_bytes(id).empty());
}

TEST_CASE("World tokenizer round-trips a whole source file and random bytes", "[engine][tokenizer]") {
  RWKV_REQUIRE_WORLD(world);
  for (const std::string& text : {source_code_sample(), random_bytes(200'000, 7), random_bytes(1, 8),
                                  std::string("\xC3\x28\xE2\x82\xF0\x9F\x98\x80\xED\xA0\x80\xFF", 12)}) {
    const auto ids = world->encode(text);
    for (auto id : ids) REQUIRE((id >= 1 && id <= 65529));
    CHECK(world->decode(ids) == text);
  }
  const auto code = source_code_sample();
  CHECK(world->encode(code).size() < code.size() / 2);  // it does find multi-byte tokens
}

TEST_CASE("World encoding takes the longest vocabulary entry at each position", "[engine][tokenizer]") {
  // 257 ab, 258 abc, 259 abcde (no abcd): after a failed longer walk the best earlier match is used.
  auto t = rwkv::test::small_world("257 'ab' 2\n258 'abc' 3\n259 'abcde' 5\n260 '\\u00e9' 2\n");
  const auto b = [](char c) { return static_cast<std::int32_t>(static_cast<unsigned char>(c)) + 1; };
  CHECK(t->encode("") == tokens{});
  CHECK(t->encode("ab") == tokens{257});
  CHECK(t->encode("abcab") == tokens{258, 257});
  CHECK(t->encode("abcdx") == tokens{258, b('d'), b('x')});
  CHECK(t->encode("abcdeab") == tokens{259, 257});
  CHECK(t->encode("xab\xC3\xA9\xC3") == tokens{b('x'), 257, 260, b('\xC3')});
  CHECK(t->vocab_size() == 65536);
  CHECK(t->lookahead_bytes() == 5);
}

TEST_CASE("World tokens after a token boundary depend only on the text after it", "[engine][tokenizer]") {
  RWKV_REQUIRE_WORLD(world);
  const std::string text = source_code_sample().substr(0, 6000) + random_bytes(500, 3);
  const auto ids = world->encode(text);
  std::size_t offset = 0;
  for (std::size_t k = 0; k <= ids.size(); ++k) {
    REQUIRE(world->is_resync_point(text, offset));
    const tokens before(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k));
    REQUIRE(concat(world->encode(text.substr(0, offset)), world->encode(text.substr(offset))) == ids);
    REQUIRE(world->encode(text.substr(0, offset)) == before);
    if (k < ids.size()) offset += world->token_bytes(ids[k]).size();
  }
  CHECK(!world->is_resync_point(text, text.size() + 1));
}

TEST_CASE("Re-tokenizing an edit from the last safe old token gives encode(new text)", "[engine][tokenizer]") {
  // The recipe documented on tokenizer::lookahead_bytes, as the session will run it.
  RWKV_REQUIRE_WORLD(world);
  const std::string original = source_code_sample().substr(0, 20'000);
  const auto old_ids = world->encode(original);
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t edit = rng() % original.size();
    const std::size_t removed = std::min<std::size_t>(rng() % 8, original.size() - edit);
    const std::string inserted = trial % 3 == 0 ? std::string("    ") : std::string(1, static_cast<char>('a' + trial % 26));
    const std::string edited = original.substr(0, edit) + inserted + original.substr(edit + removed);

    tokens kept;
    std::size_t start = 0;
    for (auto id : old_ids) {
      if (start + world->lookahead_bytes() > edit) break;
      kept.push_back(id);
      start += world->token_bytes(id).size();
    }
    REQUIRE(world->is_resync_point(edited, start));
    REQUIRE(concat(kept, world->encode(std::string_view(edited).substr(start))) == world->encode(edited));
  }
}

TEST_CASE("utf8_decoder streams World tokens into the original text", "[engine][utf8][tokenizer]") {
  RWKV_REQUIRE_WORLD(world);
  const std::string text = "emoji: \xF0\x9F\x98\x80\xF0\x9F\x9A\x80 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E "
                           "na\xC3\xAFve \xE2\x88\x80\xCE\xB5>0";
  rwkv::engine::utf8_decoder d;
  std::string out;
  for (auto id : world->encode(text)) {
    out += d.push(world->token_bytes(id));
    CHECK(rwkv::engine::utf8_valid_prefix(out) == out.size());
  }
  out += d.flush();
  CHECK(out == text);
}

TEST_CASE("Byte tokenizer round-trips all 256 bytes", "[engine][tokenizer]") {
  auto t = rwkv::engine::make_byte_tokenizer();
  CHECK(t->name() == "bytes");
  CHECK(t->vocab_size() == 256);
  CHECK(!t->end_of_text().has_value());
  CHECK(t->lookahead_bytes() == 1);
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const auto ids = t->encode(all);
  REQUIRE(ids.size() == 256);
  for (int b = 0; b < 256; ++b) {
    CHECK(ids[static_cast<std::size_t>(b)] == b);
    CHECK(t->token_bytes(b) == all.substr(static_cast<std::size_t>(b), 1));
  }
  CHECK(t->decode(ids) == all);
  CHECK(t->is_resync_point(all, 17));
  CHECK(catch_error([&] { (void)t->token_bytes(256); }).code == errc::bad_argument);
  const tokens bad{1, -1};
  CHECK(catch_error([&] { (void)t->decode(bad); }).code == errc::bad_argument);
}

TEST_CASE("load_tokenizer recognises a World vocabulary by its content", "[engine][tokenizer]") {
  RWKV_REQUIRE_SHARED(vocab_path, "vocab/rwkv_vocab_v20230424.txt");
  auto t = rwkv::engine::load_tokenizer(vocab_path);
  CHECK(t->name() == "world");
  CHECK(t->encode("hello world") == tokens{34550, 40213});
}

TEST_CASE("load_tokenizer recognises a BPE tokenizer.json by its content", "[engine][tokenizer]") {
  RWKV_REQUIRE_SHARED(json_path, "vocab/20B_tokenizer.json");
  auto t = rwkv::engine::load_tokenizer(json_path);
  CHECK(t->name() == "bpe");
  CHECK(t->vocab_size() == 50277);
}

TEST_CASE("load_tokenizer rejects files that are no tokenizer", "[engine][tokenizer]") {
  const auto load = [](const std::string& name, const std::string& content) {
    return catch_error([&] { (void)rwkv::engine::load_tokenizer(write_temp(name, content)); });
  };
  CHECK(load("empty.txt", "").code == errc::bad_format);
  CHECK(load("blank.txt", " \n\n").code == errc::bad_format);
  auto e = load("prose.txt", "Once upon a time\n");
  CHECK(e.code == errc::bad_format);
  CHECK_THAT(e.message, Catch::Contains("rwkv_vocab_v20230424.txt"));
  CHECK(load("broken.json", "{\"model\": ").code == errc::bad_format);
  CHECK(load("other.json", "{\"name\": 1}").code == errc::bad_format);
  e = load("unigram.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  CHECK(e.code == errc::unsupported);
  CHECK_THAT(e.message, Catch::Contains("Unigram"));
  CHECK(load("bpe.json", R"({"model": {"type": "BPE"}})").code == errc::unsupported);
  // A World vocabulary is recognised and then read strictly.
  e = load("vocab.txt", "1 '\\x00' 2\n");
  CHECK(e.code == errc::bad_format);
  CHECK_THAT(e.message, Catch::Contains("vocab.txt:1:"));
  CHECK(!load("bytes.txt", rwkv::test::single_byte_lines()).thrown);
  CHECK(catch_error([] { (void)rwkv::engine::load_tokenizer("/nonexistent/vocab.txt"); }).code == errc::io);
}
