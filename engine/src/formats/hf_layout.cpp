// Hugging Face RWKV layouts to BlinkDL names. Sources of each rule:
//
// RWKV-4/5/6 in transformers (RwkvForCausalLM; the RWKV org's Rwkv5ForCausalLM and
// Rwkv6ForCausalLM use the same scheme): transformers' convert_rwkv_checkpoint_to_hf.py renames
//   emb. -> rwkv.embeddings.   blocks.0.ln0 -> rwkv.blocks.0.pre_ln   .att -> .attention
//   .ffn -> .feed_forward     time_mix_{k,v,r} -> time_mix_{key,value,receptance}
//   every name but head.weight gets the prefix "rwkv."
// and changes no values (modeling_rwkv computes -exp(time_decay) at run time). The v5 port also
// spells time_mix_g as time_mix_gate; the v6 port keeps BlinkDL's time_maa_* names
// (llama.cpp's gguf-py tensor_mapping.py lists "rwkv.blocks.{bid}.attention.time_maa_x" etc.).
//
// RWKV-7 in flash-linear-attention (RWKV7ForCausalLM, fla/models/rwkv7, fla/layers/rwkv7.py):
//   model.embeddings, model.layers.N.{pre_norm (layer 0), attn_norm, ffn_norm}, model.norm, lm_head
//   attn.{r,k,v,o}_proj          att.{receptance,key,value,output}.weight
//   attn.x_r .. x_g [1,1,C]       att.x_r .. x_g (same lerp: x + (shifted - x) * x_r)
//   attn.{w,a,v,g}_lora.lora.0.weight [D,C]  att.{w,a,v,g}1 = transpose (BlinkDL x @ w1, [C,D])
//   attn.{w,a,v,g}_lora.lora.2.weight [C,D]  att.{w,a,v,g}2 = transpose ([D,C])
//   attn.{w,a,v}_lora.lora.2.bias [C]        att.w0 / a0 / v0. fla computes
//       w = -exp(-0.5) * sigmoid(lora(xw)), a = sigmoid(lora(xa)), v gate = sigmoid(lora(xv)),
//   which equals BlinkDL's -softplus(-(w0 + ...)) - 0.5 under exp (log w = -exp(-0.5)·σ(z)), so the
//   bias is w0 unchanged (fla's init comment: "0.5 comes from F.softplus")
//   attn.k_k, k_a [C]; attn.r_k [H,N]; attn.g_norm (GroupNorm, eps = head_dim * 1e-5)  att.ln_x
//   ffn.x_k, ffn.key, ffn.value   ffn.*
//   Layer 0 has no v_lora. Some exports fuse x_r..x_g as attn.x_x [6,C] (llama.cpp handles
//   that too), or use "blocks"/"attention"/"feed_forward" spellings, or BlinkDL leaf names with
//   BlinkDL shapes (w1, w2, w0, ...; llama.cpp's Rwkv7Model: lora_needs_transpose) — all accepted.
//   Norms without a bias (fla's norm_bias = false) get a zero bias.
#include "formats/hf_layout.hpp"

#include "engine/error.hpp"
#include "formats/tensor_ops.hpp"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace rwkv::engine::formats {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

std::optional<nlohmann::json> read_config(const std::string& folder) {
  const fs::path p = fs::path(folder) / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw error(errc::bad_format, "'" + p.string() + "' is not valid JSON (" + e.what() + ")");
  }
}

class canonicalizer {
 public:
  canonicalizer(const raw_tensors& raw, tensor_store& out, const std::optional<nlohmann::json>& config)
      : raw_(raw), out_(out), config_(config) {}

  void run() {
    check_architecture();
    if (raw_.count("emb.weight")) {
      for (const auto& [name, t] : raw_) out_.add(name, t);
      return;
    }
    bool any_fla = false, any_transformers = false;
    for (const auto& [name, t] : raw_) {
      any_fla |= starts_with(name, "model.") || name == "lm_head.weight";
      any_transformers |= starts_with(name, "rwkv.");
    }
    if (any_transformers && !any_fla) {
      for (const auto& [name, t] : raw_) map_transformers(name, t);
    } else if (any_fla && !any_transformers) {
      for (const auto& [name, t] : raw_) map_fla(name, t);
      finish_fla();
    } else {
      throw error(errc::bad_model, "'" + out_.source + "' has neither BlinkDL names (emb.weight, blocks.N...) nor a Hugging "
                                                       "Face RWKV layout (rwkv.blocks.N... or model.layers.N...)");
    }
  }

 private:
  void check_architecture() {
    if (!config_ || !config_->is_object() || !config_->contains("architectures")) return;
    const auto& archs = (*config_)["architectures"];
    if (!archs.is_array() || archs.empty() || !archs[0].is_string()) return;
    const std::string a = archs[0].get<std::string>();
    static const std::set<std::string> known = {"RwkvForCausalLM",  "Rwkv5ForCausalLM", "Rwkv6ForCausalLM",
                                                "RWKV7ForCausalLM", "Rwkv7ForCausalLM", "RWKV7Model",
                                                "RwkvModel",        "Rwkv5Model",       "Rwkv6Model"};
    out_.metadata["hf.architecture"] = a;
    if (!known.count(a))
      throw error(errc::unsupported, "'" + out_.source + "': config.json declares architecture " + a +
                                         ", which is not an RWKV model rwkv-lsp runs (RwkvForCausalLM, Rwkv5ForCausalLM, "
                                         "Rwkv6ForCausalLM, RWKV7ForCausalLM)");
  }

  [[noreturn]] void unknown(const std::string& name) const {
    throw error(errc::unsupported, "'" + out_.source + "' has a tensor rwkv-lsp cannot place: " + name +
                                       " (not part of the Hugging Face RWKV layouts it knows)");
  }

  // Splits "prefix.N.rest" at the layer number; false when the name has no such part.
  static bool split_layer(const std::string& name, std::string_view prefix, std::string& layer, std::string& rest) {
    if (!starts_with(name, prefix)) return false;
    const std::size_t dot = name.find('.', prefix.size());
    if (dot == std::string::npos) return false;
    layer = name.substr(prefix.size(), dot - prefix.size());
    rest = name.substr(dot + 1);
    return !layer.empty() && layer.size() <= 6 && layer.find_first_not_of("0123456789") == std::string::npos;
  }

  void map_transformers(const std::string& name, const tensor& t) {
    if (name == "rwkv.embeddings.weight") return out_.add("emb.weight", t);
    if (name == "head.weight") return out_.add("head.weight", t);
    if (name == "rwkv.ln_out.weight") return out_.add("ln_out.weight", t);
    if (name == "rwkv.ln_out.bias") return out_.add("ln_out.bias", t);
    std::string layer, rest;
    if (!split_layer(name, "rwkv.blocks.", layer, rest)) unknown(name);
    const std::string b = "blocks." + layer + ".";
    if (starts_with(rest, "pre_ln.")) return out_.add(b + "ln0." + rest.substr(7), t);
    if (starts_with(rest, "ln1.") || starts_with(rest, "ln2.")) return out_.add(b + rest, t);
    std::string part, leaf;
    if (starts_with(rest, "attention.")) part = "att.", leaf = rest.substr(10);
    else if (starts_with(rest, "feed_forward.")) part = "ffn.", leaf = rest.substr(13);
    else unknown(name);
    static const std::pair<const char*, const char*> renames[] = {{"time_mix_key", "time_mix_k"},
                                                                  {"time_mix_value", "time_mix_v"},
                                                                  {"time_mix_receptance", "time_mix_r"},
                                                                  {"time_mix_gate", "time_mix_g"}};
    for (const auto& [from, to] : renames)
      if (leaf == from) leaf = to;
    out_.add(b + part + leaf, t);
  }

  void map_fla(std::string name, const tensor& t) {
    const std::string original = name;
    replace_all(name, "model.blocks.", "model.layers.");
    replace_all(name, ".attention.", ".attn.");
    replace_all(name, ".feed_forward.", ".ffn.");
    if (name == "model.embeddings.weight") return out_.add("emb.weight", t);
    if (name == "lm_head.weight") return out_.add("head.weight", t);
    if (name == "model.norm.weight") return out_.add("ln_out.weight", t);
    if (name == "model.norm.bias") return out_.add("ln_out.bias", t);
    std::string layer, rest;
    if (!split_layer(name, "model.layers.", layer, rest)) unknown(original);
    const std::string b = "blocks." + layer + ".";
    const std::string a = b + "att.";
    for (const auto& [from, to] : {std::pair{"pre_norm.", "ln0."}, {"attn_norm.", "ln1."}, {"ffn_norm.", "ln2."}})
      if (starts_with(rest, from)) return out_.add(b + to + rest.substr(std::strlen(from)), t);
    if (starts_with(rest, "ffn.")) {
      const std::string leaf = rest.substr(4);
      if (leaf == "x_k") return vector(b + "ffn.x_k", t);
      if (leaf == "key.weight" || leaf == "value.weight") return out_.add(b + rest, t);
      unknown(original);
    }
    if (!starts_with(rest, "attn.")) unknown(original);
    const std::string leaf = rest.substr(5);
    static const std::pair<const char*, const char*> projections[] = {{"r_proj.weight", "receptance.weight"},
                                                                      {"k_proj.weight", "key.weight"},
                                                                      {"v_proj.weight", "value.weight"},
                                                                      {"o_proj.weight", "output.weight"},
                                                                      {"g_norm.weight", "ln_x.weight"},
                                                                      {"g_norm.bias", "ln_x.bias"},
                                                                      {"ln_x.weight", "ln_x.weight"},
                                                                      {"ln_x.bias", "ln_x.bias"}};
    for (const auto& [from, to] : projections)
      if (leaf == from) return out_.add(a + to, t);
    for (const char* x : {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "k_k", "k_a", "w0", "a0", "v0"})
      if (leaf == x) return vector(a + x, t);
    if (leaf == "r_k") return out_.add(a + "r_k", t);
    if (leaf == "x_x") {
      if (t.numel() % 6 != 0) bad(original, "should hold 6 mixing vectors, is " + t.shape_string());
      const std::int64_t C = t.numel() / 6;
      const tensor flat = reshaped(t, {6, C});
      const char* parts[] = {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g"};
      for (int i = 0; i < 6; ++i) out_.add(a + parts[i], reshaped(outer_slice(flat, i, 1), {1, 1, C}));
      return;
    }
    for (const char* p : {"w1", "w2", "a1", "a2", "v1", "v2", "g1", "g2"})
      if (leaf == p) return out_.add(a + p, t);  // BlinkDL leaf names keep BlinkDL shapes
    for (const char* p : {"w", "a", "v", "g"}) {
      const std::string lora = std::string(p) + "_lora.lora.";
      if (leaf == lora + "0.weight") return transposed(original, a + p + "1", t);
      if (leaf == lora + "2.weight") return transposed(original, a + p + "2", t);
      if (leaf == lora + "2.bias" && std::string(p) != "g") return vector(a + p + "0", t);
    }
    unknown(original);
  }

  [[noreturn]] void bad(const std::string& name, const std::string& what) const {
    throw error(errc::bad_model, "'" + out_.source + "': tensor " + name + " " + what);
  }

  void vector(const std::string& to, const tensor& t) { out_.add(to, reshaped(t, {1, 1, t.numel()})); }

  void transposed(const std::string& name, const std::string& to, const tensor& t) {
    if (t.shape.size() != 2) bad(name, "should be a matrix, is " + t.shape_string());
    out_.add(to, transposed_view(t));
  }

  // Zero biases for bias-free norms; the head tied to the embedding.
  void finish_fla() {
    std::vector<std::string> missing_bias;
    for (const auto& [name, t] : out_.tensors()) {
      if (name.size() < 7 || name.compare(name.size() - 7, 7, ".weight") != 0) continue;
      const std::string stem = name.substr(0, name.size() - 7);
      const bool norm = stem == "ln_out" || (stem.size() > 4 && (stem.compare(stem.size() - 4, 4, ".ln0") == 0 ||
                                                                  stem.compare(stem.size() - 4, 4, ".ln1") == 0 ||
                                                                  stem.compare(stem.size() - 4, 4, ".ln2") == 0 ||
                                                                  stem.compare(stem.size() - 5, 5, ".ln_x") == 0));
      if (norm && !out_.contains(stem + ".bias")) missing_bias.push_back(stem + ".bias");
    }
    for (const auto& name : missing_bias) {
      const tensor& w = *out_.find(name.substr(0, name.size() - 5) + ".weight");
      out_.add_owned_f32(name, w.shape, std::vector<float>(static_cast<std::size_t>(w.numel()), 0.0f));
    }
    if (!out_.contains("head.weight") && out_.contains("emb.weight") && config_ && config_->is_object() &&
        config_->value("tie_word_embeddings", false))
      out_.add("head.weight", *out_.find("emb.weight"));
  }

  const raw_tensors& raw_;
  tensor_store& out_;
  const std::optional<nlohmann::json>& config_;
};

}  // namespace

void add_canonical(const raw_tensors& raw, const std::string& folder, tensor_store& out) {
  const auto config = read_config(folder);
  canonicalizer(raw, out, config).run();
  std::error_code ec;
  for (const char* tokenizer_file : {"tokenizer.json", "rwkv_vocab_v20230424.txt", "20B_tokenizer.json"}) {
    const fs::path p = fs::path(folder) / tokenizer_file;
    if (fs::is_regular_file(p, ec)) {
      out.metadata["tokenizer_path"] = p.string();
      break;
    }
  }
}

}  // namespace rwkv::engine::formats
