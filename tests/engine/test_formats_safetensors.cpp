// safetensors in the layouts people download: BlinkDL names, transformers' RWKV-4/5/6
// (rwkv.blocks.N.attention...), flash-linear-attention's RWKV-7 (model.layers.N.attn...), sharded
// with an index — each rebuilt here from a golden model following the documented conversions,
// and required to reproduce the golden logits. Also: the tokenizer file beside the model.
#include "engine/error.hpp"
#include "engine/format_builders.hpp"
#include "engine/golden_compare.hpp"
#include "engine/model.hpp"
#include "engine/tokenizer_select.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <regex>

using namespace rwkv;
using test::bytes;
using test::values_of;

namespace {

struct named {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

std::vector<float> transposed(const std::vector<float>& v, std::int64_t rows, std::int64_t cols) {
  std::vector<float> out(v.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) out[static_cast<std::size_t>(c * rows + r)] = v[static_cast<std::size_t>(r * cols + c)];
  return out;
}

bytes safetensors_of(const std::vector<named>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  bytes data;
  for (const auto& t : tensors) {
    const std::size_t begin = data.size();
    data.resize(begin + t.values.size() * 4);
    std::memcpy(data.data() + begin, t.values.data(), t.values.size() * 4);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  while (text.size() % 8) text.push_back(' ');
  return test::safetensors_image(text, data);
}

void write_config(const std::string& dir, const nlohmann::json& config) {
  const std::string text = config.dump();
  test::write_file_bytes(dir + "/config.json", bytes(text.begin(), text.end()));
}

std::string replace(std::string s, const std::string& pattern, const std::string& with) {
  return std::regex_replace(s, std::regex(pattern), with);
}

// transformers' convert_rwkv_checkpoint_to_hf.py renames (v4; v5 adds time_mix_gate, v6 keeps time_maa_*).
std::vector<named> transformers_layout(const engine::tensor_store& s) {
  std::vector<named> out;
  for (const auto& [name, t] : s.tensors()) {
    std::string n = name;
    if (n.rfind("emb.", 0) == 0) n = "embeddings." + n.substr(4);
    n = replace(n, R"(^blocks\.0\.ln0)", "blocks.0.pre_ln");
    n = replace(n, R"(blocks\.(\d+)\.att)", "blocks.$1.attention");
    n = replace(n, R"(blocks\.(\d+)\.ffn)", "blocks.$1.feed_forward");
    n = replace(n, R"(\.time_mix_k$)", ".time_mix_key");
    n = replace(n, R"(\.time_mix_v$)", ".time_mix_value");
    n = replace(n, R"(\.time_mix_r$)", ".time_mix_receptance");
    n = replace(n, R"(\.time_mix_g$)", ".time_mix_gate");
    if (n != "head.weight") n = "rwkv." + n;
    out.push_back({n, t.shape, values_of(t)});
  }
  return out;
}

// flash-linear-attention's RWKV-7 layout (fla/models/rwkv7, fla/layers/rwkv7.py).
std::vector<named> fla_layout(const engine::tensor_store& s) {
  std::vector<named> out;
  for (const auto& [name, t] : s.tensors()) {
    const auto v = values_of(t);
    const std::int64_t numel = t.numel();
    if (name == "emb.weight") { out.push_back({"model.embeddings.weight", t.shape, v}); continue; }
    if (name == "head.weight") { out.push_back({"lm_head.weight", t.shape, v}); continue; }
    if (name.rfind("ln_out.", 0) == 0) { out.push_back({"model.norm." + name.substr(7), t.shape, v}); continue; }
    std::smatch m;
    const std::string& cname = name;
    REQUIRE(std::regex_match(cname, m, std::regex(R"(blocks\.(\d+)\.(.*))")));
    const std::string layer = m[1], rest = m[2];
    const std::string p = "model.layers." + layer + ".";
    if (rest.rfind("ln0.", 0) == 0) { out.push_back({p + "pre_norm." + rest.substr(4), t.shape, v}); continue; }
    if (rest.rfind("ln1.", 0) == 0) { out.push_back({p + "attn_norm." + rest.substr(4), t.shape, v}); continue; }
    if (rest.rfind("ln2.", 0) == 0) { out.push_back({p + "ffn_norm." + rest.substr(4), t.shape, v}); continue; }
    if (rest == "ffn.x_k") { out.push_back({p + "ffn.x_k", {numel}, v}); continue; }
    if (rest.rfind("ffn.", 0) == 0) { out.push_back({p + rest, t.shape, v}); continue; }
    const std::string leaf = rest.substr(4);  // after "att."
    if (layer == "0" && (leaf == "v0" || leaf == "v1" || leaf == "v2")) continue;  // no v_lora on layer 0
    static const std::map<std::string, std::string> proj = {{"receptance.weight", "r_proj.weight"},
                                                            {"key.weight", "k_proj.weight"},
                                                            {"value.weight", "v_proj.weight"},
                                                            {"output.weight", "o_proj.weight"},
                                                            {"ln_x.weight", "g_norm.weight"},
                                                            {"ln_x.bias", "g_norm.bias"}};
    if (proj.count(leaf)) { out.push_back({p + "attn." + proj.at(leaf), t.shape, v}); continue; }
    if (leaf.size() == 3 && leaf[0] == 'x') { out.push_back({p + "attn." + leaf, t.shape, v}); continue; }
    if (leaf == "k_k" || leaf == "k_a") { out.push_back({p + "attn." + leaf, {numel}, v}); continue; }
    if (leaf == "r_k") { out.push_back({p + "attn.r_k", t.shape, v}); continue; }
    const std::string lora = std::string(1, leaf[0]) + "_lora.lora.";
    if (leaf[1] == '0') { out.push_back({p + "attn." + lora + "2.bias", {numel}, v}); continue; }
    if (leaf[1] == '1') { out.push_back({p + "attn." + lora + "0.weight", {t.shape[1], t.shape[0]}, transposed(v, t.shape[0], t.shape[1])}); continue; }
    if (leaf[1] == '2') { out.push_back({p + "attn." + lora + "2.weight", {t.shape[1], t.shape[0]}, transposed(v, t.shape[0], t.shape[1])}); continue; }
    FAIL("unmapped " << name);
  }
  return out;
}

void check_golden(const std::string& model_path, const std::string& golden_name) {
  RWKV_REQUIRE_SHARED(json, "golden/" + golden_name + ".json");
  auto m = engine::model::load(model_path);
  CHECK(m->format() == "safetensors");
  const auto r = test::compare_with_golden(*m, test::read_json(json));
  WARN(golden_name << " as " << model_path << ": max logit error " << r.max_abs_error);
  CHECK(r.max_abs_error < 1e-4f);
}

}  // namespace

TEST_CASE("safetensors in transformers' RWKV-4/5/6 layouts reproduce the golden models", "[formats][safetensors]") {
  const std::pair<const char*, const char*> models[] = {
      {"v4-small", "RwkvForCausalLM"}, {"v5-small", "Rwkv5ForCausalLM"}, {"v6-small", "Rwkv6ForCausalLM"}};
  for (const auto& [name, arch] : models) {
    INFO(name);
    RWKV_REQUIRE_SHARED(pth, std::string("golden/") + name + ".pth");
    const auto dir = test::temp_dir(std::string("st-hf-") + name);
    test::write_file_bytes(dir + "/model.safetensors", safetensors_of(transformers_layout(engine::read_model_file(pth))));
    write_config(dir, {{"architectures", {arch}}, {"model_type", "rwkv"}});
    check_golden(dir + "/model.safetensors", name);
    check_golden(dir, name);  // the folder works as well
  }
}

TEST_CASE("safetensors in flash-linear-attention's RWKV-7 layout reproduce the golden model", "[formats][safetensors]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v7-small.pth");
  const auto hf = fla_layout(engine::read_model_file(pth));
  const auto dir = test::temp_dir("st-fla");
  test::write_file_bytes(dir + "/model.safetensors", safetensors_of(hf));
  write_config(dir, {{"architectures", {"RWKV7ForCausalLM"}}, {"model_type", "rwkv7"}, {"head_dim", 64}});
  check_golden(dir + "/model.safetensors", "v7-small");
  CHECK(engine::read_model_file(dir + "/model.safetensors").find("blocks.1.att.g2")->transposed);  // not copied

  SECTION("sharded, with model.safetensors.index.json") {
    const auto sharded = test::temp_dir("st-fla-sharded");
    std::vector<named> a(hf.begin(), hf.begin() + static_cast<std::ptrdiff_t>(hf.size() / 2)), b(hf.begin() + static_cast<std::ptrdiff_t>(hf.size() / 2), hf.end());
    test::write_file_bytes(sharded + "/model-00001-of-00002.safetensors", safetensors_of(a));
    test::write_file_bytes(sharded + "/model-00002-of-00002.safetensors", safetensors_of(b));
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
    for (const auto& t : a) index["weight_map"][t.name] = "model-00001-of-00002.safetensors";
    for (const auto& t : b) index["weight_map"][t.name] = "model-00002-of-00002.safetensors";
    const std::string text = index.dump(2);
    test::write_file_bytes(sharded + "/model.safetensors.index.json", bytes(text.begin(), text.end()));
    write_config(sharded, {{"architectures", {"RWKV7ForCausalLM"}}});
    check_golden(sharded + "/model.safetensors.index.json", "v7-small");
    check_golden(sharded, "v7-small");
  }
  SECTION("a config.json naming another architecture is refused") {
    write_config(dir, {{"architectures", {"LlamaForCausalLM"}}});
    CHECK_THROWS_MATCHES(engine::read_model_file(dir + "/model.safetensors"), engine::error,
                         Catch::Matchers::Predicate<engine::error>(
                             [](const engine::error& e) { return e.code() == engine::errc::unsupported; }));
  }
}

TEST_CASE("safetensors with BlinkDL names load as they are, F64 narrowed", "[formats][safetensors]") {
  RWKV_REQUIRE_SHARED(pth, "golden/v4-small.pth");
  const auto store = engine::read_model_file(pth);
  // F64 for every tensor: read as fp32.
  nlohmann::json header = nlohmann::json::object();
  bytes data;
  for (const auto& [name, t] : store.tensors()) {
    const auto v = values_of(t);
    const std::size_t begin = data.size();
    for (float f : v) {
      const double d = f;
      const auto* p = reinterpret_cast<const std::uint8_t*>(&d);
      data.insert(data.end(), p, p + 8);
    }
    header[name] = {{"dtype", "F64"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  const auto dir = test::temp_dir("st-f64");
  test::write_file_bytes(dir + "/m.safetensors", test::safetensors_image(header.dump(), data));
  check_golden(dir + "/m.safetensors", "v4-small");
}

TEST_CASE("the tokenizer beside a safetensors model is picked up", "[formats][safetensors]") {
  RWKV_REQUIRE_SHARED(vocab, "vocab/rwkv_vocab_v20230424.txt");
  RWKV_REQUIRE_SHARED(pth, "golden/v4-small.pth");
  const auto dir = test::temp_dir("st-tokenizer");
  test::write_file_bytes(dir + "/model.safetensors", safetensors_of(transformers_layout(engine::read_model_file(pth))));
  const auto without = engine::read_model_file(dir + "/model.safetensors");
  CHECK_FALSE(without.metadata.count("tokenizer_path"));
  std::filesystem::copy_file(vocab, dir + "/rwkv_vocab_v20230424.txt");
  const auto with = engine::read_model_file(dir + "/model.safetensors");
  REQUIRE(with.metadata.count("tokenizer_path"));
  // The golden model has 512 logits, fewer than the World vocabulary: a clear error, not a crash.
  CHECK_THROWS_AS(engine::tokenizer_for_model(with, 512, ""), engine::error);
  CHECK(engine::tokenizer_for_model(with, 65536, "")->name() == "world");
}
