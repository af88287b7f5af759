// The GPT-NeoX 20B byte-level BPE tokenizer (20B_tokenizer.json, RWKV-4 Pile models): ids for
// short words derived from the merges by hand, ids for a set of harder strings from an
// independent Python reference (tools/tokenizer/bpe_reference.py: Python's unicodedata NFC and
// the `regex` module running GPT-2's pattern), exact round trips on large text, NFC, invalid
// UTF-8, added tokens, and the resync points sessions rely on.
#include "engine/error.hpp"
#include "engine/tokenizer.hpp"
#include "engine/tokenizer_select.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>

namespace {

using tokens = std::vector<std::int32_t>;

struct neox {
  std::unique_ptr<rwkv::engine::tokenizer> tokenizer;
  nlohmann::json vocab;  // byte-level piece -> id, from the file itself
};

const neox* load_neox() {
  static const neox* loaded = [] () -> const neox* {
    auto path = rwkv::test::shared_file("vocab/20B_tokenizer.json");
    if (!path) return nullptr;
    auto* n = new neox;
    n->tokenizer = rwkv::engine::load_tokenizer(*path);
    n->vocab = rwkv::test::read_json(*path)["model"]["vocab"];
    return n;
  }();
  return loaded;
}

#define REQUIRE_NEOX(var)                                                            \
  const neox* var = load_neox();                                                     \
  if (!var) {                                                                        \
    WARN("skipped: vocab/20B_tokenizer.json not found (set RWKV_LSP_SHARED)");       \
    return;                                                                          \
  }

struct reference_case {
  std::string text;
  tokens ids;
};

// Produced by tools/tokenizer/bpe_reference.py (see its header) from the same tokenizer.json.
const std::vector<reference_case>& reference_cases() {
  static const std::vector<reference_case> cases = {
    {"hello", {25521}},
    {" the", {253}},
    {"Hello world", {12092, 1533}},
    {"The quick brown fox jumps over the lazy dog.", {510, 3158, 8516, 30013, 27287, 689, 253, 22658, 4370, 15}},
    {"12345 678", {42594, 721, 3141}},
    {"3.14159", {20, 15, 1047, 17220}},
    {"x = 1_000_000", {89, 426, 337, 64, 933, 64, 933}},
    {"    return x;", {50274, 2309, 1269, 28}},
    {"\tif (a) {\n\t\treturn b;\n\t}\n", {186, 338, 313, 66, 10, 551, 996, 186, 2309, 270, 28, 187, 186, 94, 187}},
    {"def f(x):\n    return x  # comment\n", {1545, 269, 9, 89, 2262, 187, 50274, 2309, 1269, 50276, 4, 4385, 187}},
    {"a  b   c    d", {66, 50276, 67, 50275, 68, 50274, 69}},
    {"trailing   ", {7604, 4837, 50275}},
    {"\n\n\n", {2756}},
    {" \n \n", {4928, 187}},
    {"line\r\nbreak", {1282, 190, 187, 7054}},
    {"it's don't I'm we'll they've she'd you're", {262, 434, 1053, 626, 309, 1353, 359, 1833, 597, 1849, 703, 1871, 368, 1472}},
    {"'S 'LL ''s", {8, 52, 686, 2293, 15078, 84}},
    {"\u4e2d\u6587\u6d4b\u8bd5", {13609, 20855, 21998, 222, 11894, 232}},
    {"\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", {49868, 19119, 241, 3917, 28656, 33548, 38206}},
    {"\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", {39742, 166, 115, 244, 39907, 25811, 216, 224, 33057, 99, 169, 221, 118}},
    {"\u00dcn\u00efc\u00f6d\u00e9 na\u00efve caf\u00e9", {127, 239, 79, 12589, 68, 25873, 860, 36060, 36241}},
    {"\U0001f600 emoji \U0001f680\U0001f525", {14931, 235, 211, 802, 80, 8020, 22692, 237, 211, 14931, 231, 100}},
    {"\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", {21715, 1697, 16423, 7508, 13, 8277, 20650, 2}},
    {"\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", {5843, 6900, 21931, 13621, 3142, 15677, 7427, 13793, 7427, 5843}},
    {"\u210c\U0001d522\U0001d529\U0001d529\U0001d52c \u00bd \u00b2 \u2460 \u216b", {13262, 223, 172, 240, 231, 97, 172, 240, 231, 104, 172, 240, 231, 104, 172, 240, 231, 107, 24142, 1191, 112, 3384, 228, 243, 3384, 216, 106}},
    {"\u00a0nbsp\u3000ideographic", {575, 6732, 19409, 504, 5576}},
    {"<|endoftext|>", {0}},
    {"a<|endoftext|>b<|padding|>", {66, 0, 67, 1}},
    {"<|endoftext", {29, 93, 423, 1171, 1156}},
    {"https://example.com/path?q=1&r=2", {3614, 1358, 11667, 15, 681, 16, 3967, 32, 82, 30, 18, 7, 83, 30, 19}},
    {"e\u0301", {860}},
    {"\u212b", {18221}},
    {"\u1100\u1161\u11a8", {26532, 212}},
    {std::string(300, 'x'), {34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 34576, 16321}},
    {std::string(30, ' ') + "y", {50254, 50272, 90}},
  };
  return cases;
}

std::string large_text() {
  std::string text;
  std::mt19937 rng(3);
  const char* words[] = {"return", " value", "\n    ", "if (x) {", "}\n", " // note", " the", "Ünïcödé", "中文",
                         "  ", "\t", "3.14", "it's", " 😀", "a_b", "==", "\r\n", "Привет", "<|endoftext|>", "      "};
  while (text.size() < 300000) text += words[rng() % (sizeof words / sizeof words[0])];
  return text;
}

}  // namespace

TEST_CASE("BPE: short words give the tokens their merges build", "[engine][tokenizer][bpe]") {
  REQUIRE_NEOX(n);
  auto id = [&](const char* piece) { return n->vocab.at(piece).get<std::int32_t>(); };
  // " the" = Ġ t h e: merges "Ġ t" (rank 1), "h e" (3), "Ġt he" (8) -> Ġthe.
  CHECK(n->tokenizer->encode(" the") == tokens{id("\xc4\xa0the")});
  // "Hello world": pre-tokens "Hello", " world"; " world" = "Ġ w" (14), "o r" (18), "l d" (147),
  // "Ġw or" (303), "Ġwor ld" (1288).
  CHECK(n->tokenizer->encode("Hello world") == tokens{id("Hello"), id("\xc4\xa0world")});
  // "hello": "h e" (3), "l l" (375), "he ll" (14195), "hell o" (25276).
  CHECK(n->tokenizer->encode("hello") == tokens{id("hello")});
  // Numbers are pre-tokens of their own: "12345", " 678" -> "Ġ6" ("Ġ 6", 476) + "78" ("7 8", 2896).
  CHECK(n->tokenizer->encode("12345 678") == tokens{id("12345"), id("\xc4\xa0" "6"), id("78")});
  // Runs of 2-24 spaces are added tokens (50276 = 2 spaces ... 50254 = 24), matched before BPE.
  CHECK(n->tokenizer->encode("a    b") == tokens{id("a"), 50274, id("b")});
  CHECK(n->tokenizer->token_bytes(50254) == std::string(24, ' '));
}

TEST_CASE("BPE: ids match the independent reference on harder strings", "[engine][tokenizer][bpe]") {
  REQUIRE_NEOX(n);
  for (const auto& c : reference_cases()) {
    INFO(c.text);
    CHECK(n->tokenizer->encode(c.text) == c.ids);
    // NFC text round-trips exactly (the decomposed inputs are checked separately below).
    if (c.text != "e\u0301" && c.text != "\u212b" && c.text != "\u1100\u1161\u11a8")
      CHECK(n->tokenizer->decode(c.ids) == c.text);
  }
}

TEST_CASE("BPE: large text round-trips exactly", "[engine][tokenizer][bpe]") {
  REQUIRE_NEOX(n);
  const std::string text = large_text();
  const auto ids = n->tokenizer->encode(text);
  CHECK(ids.size() < text.size() / 2);
  CHECK(n->tokenizer->decode(ids) == text);
  RWKV_REQUIRE_SHARED(samples_path, "golden/tokenizer-world.json");
  std::string multilingual;
  for (const auto& s : rwkv::test::read_json(samples_path)) {
    const auto sample = s["text"].get<std::string>();
    // One sample spells accents with combining marks (U+0300-U+036F) on purpose: NFC changes it.
    if (sample.find('\xcc') == std::string::npos && sample.find('\xcd') == std::string::npos) multilingual += sample + "\n";
  }
  CHECK(n->tokenizer->decode(n->tokenizer->encode(multilingual)) == multilingual);
}

TEST_CASE("BPE: NFC composes what the 20B tokenizer normalizes", "[engine][tokenizer][bpe]") {
  REQUIRE_NEOX(n);
  const auto& t = *n->tokenizer;
  CHECK(t.encode("e\u0301") == t.encode("\u00e9"));               // combining acute
  CHECK(t.encode("\u212b") == t.encode("\u00c5"));                // Angstrom sign, a singleton
  CHECK(t.encode("\u1100\u1161\u11a8") == t.encode("\uac01"));   // Hangul jamo L V T
  CHECK(t.encode("a\u0323\u0302") == t.encode("a\u0302\u0323"));  // canonical order, then compose
  CHECK(t.decode(t.encode("o\u0308\u0304")) == "\u022b");         // two marks composing in turn
  CHECK(t.decode(t.encode("\u00e9\u0301")) == "\u00e9\u0301");    // no further composition
}

TEST_CASE("BPE: any bytes encode, invalid UTF-8 included", "[engine][tokenizer][bpe]") {
  REQUIRE_NEOX(n);
  const auto& t = *n->tokenizer;
  const std::string lone = "a\x80" "b\xe4\xb8";  // a stray continuation byte, a truncated sequence
  CHECK(t.decode(t.encode(lone)) == lone);
  // 0xC0, 0xC1 and 0xF5-0xFF never occur in UTF-8 and have no token: they become U+FFFD.
  CHECK(t.decode(t.encode("x\xff" "y\xc0")) == "x\xef\xbf\xbdy\xef\xbf\xbd");
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    std::string noise(static_cast<std::size_t>(rng() % 64), '\0');
    for (auto& c : noise) c = static_cast<char>(rng());
    CHECK_NOTHROW(t.decode(t.encode(noise)));
  }
}

TEST_CASE("BPE: vocabulary facts the engine uses", "[engine][tokenizer][bpe]") {
  REQUIRE_NEOX(n);
  const auto& t = *n->tokenizer;
  CHECK(t.name() == "bpe");
  CHECK(t.vocab_size() == 50277);
  CHECK(t.end_of_text() == 0);
  CHECK(t.decode(tokens{0}) == "<|endoftext|>");
  CHECK(t.lookahead_bytes() == SIZE_MAX);
  CHECK_THROWS_AS(t.token_bytes(50277), rwkv::engine::error);
  // Chosen by vocabulary size when the file lies beside the model (or is named explicitly).
  RWKV_REQUIRE_SHARED(path, "vocab/20B_tokenizer.json");
  CHECK(rwkv::engine::tokenizer_for_model(50277, "", path)->name() == "bpe");
  const auto dir = rwkv::test::temp_dir("bpe-select");
  std::filesystem::copy_file(path, dir + "/20B_tokenizer.json");
  CHECK(rwkv::engine::tokenizer_for_model(50277, dir + "/model.pth", "")->name() == "bpe");
}

TEST_CASE("BPE: re-tokenizing from a resync point equals tokenizing the whole", "[engine][tokenizer][bpe]") {
  REQUIRE_NEOX(n);
  const auto& t = *n->tokenizer;
  const std::string text = "int main() {\n  return 0;\n}\nx\n\ny\n  z\n'a\nb\xc3\xa9\n\xcc\x81q\nfoo  \nbar\n";
  const auto ids = t.encode(text);
  std::size_t boundary = 0, checked = 0;
  for (std::size_t i = 0; i <= ids.size(); ++i) {
    if (t.is_resync_point(text, boundary)) {
      auto left = t.encode(text.substr(0, boundary));
      const auto right = t.encode(text.substr(boundary));
      left.insert(left.end(), right.begin(), right.end());
      INFO("offset " << boundary);
      CHECK(left == ids);
      ++checked;
    }
    if (i < ids.size()) boundary += t.token_bytes(ids[i]).size();
  }
  CHECK(checked >= 5);
  CHECK_FALSE(t.is_resync_point(text, text.size() + 1));
  CHECK_FALSE(t.is_resync_point("a\n\nb", 3));  // "\n\n" before b splits differently alone
}

TEST_CASE("BPE: tokenizer.json options it does not implement are refused by name", "[engine][tokenizer][bpe]") {
  const auto dir = rwkv::test::temp_dir("bpe-options");
  auto load = [&](const std::string& json) {
    std::ofstream(dir + "/t.json") << json;
    try {
      (void)rwkv::engine::load_tokenizer(dir + "/t.json");
      return std::string("loaded");
    } catch (const rwkv::engine::error& e) {
      return std::string(rwkv::engine::errc_name(e.code())) + ": " + e.what();
    }
  };
  const std::string model = R"("model": {"type": "BPE", "vocab": {"a": 0}, "merges": []})";
  CHECK_THAT(load("{" + model + R"(, "normalizer": {"type": "NFKC"}, "pre_tokenizer": {"type": "ByteLevel"}})"),
             Catch::Contains("NFKC"));
  CHECK_THAT(load("{" + model + R"(, "pre_tokenizer": {"type": "Metaspace"}})"), Catch::Contains("Metaspace"));
  CHECK_THAT(load("{" + model + R"(, "pre_tokenizer": {"type": "ByteLevel"}})"), Catch::Contains("ASCII byte"));
}
