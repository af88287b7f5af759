// llama.cpp's RWKV GGUF files (architectures "rwkv6" and "rwkv7") into BlinkDL names and values.
//
// What llama.cpp's converter (convert_hf_to_gguf.py, Rwkv6Model / Rwkv7Model.modify_tensors) and
// loader (src/models/rwkv6.cpp, rwkv7.cpp: create_tensor shapes, ggml order) do, undone here
// (shapes below in PyTorch order, outermost first):
//   token_embd / token_embd_norm / output_norm / output   emb / blocks.0.ln0 / ln_out / head
//   blk.N.attn_norm, attn_norm_2                          blocks.N.ln1, ln2
//   time_mix_{key,value,receptance,gate,output}, time_mix_ln   att.*.weight, att.ln_x
//   channel_mix_{key,value,receptance}                    ffn.*.weight
// rwkv6:
//   time_mix_lerp_x; time_mix_lerp_fused [5,1,1,C] in the order w,k,v,r,g (or lerp_w..lerp_g)
//                                                         att.time_maa_x, time_maa_w,k,v,r,g
//   time_mix_w1 [5D,C] (transposed by the converter)      att.time_maa_w1 [C,5D]
//   time_mix_w2 [5,C,D] (permute(0,2,1))                  att.time_maa_w2 [5,D,C]
//   time_mix_decay [C] (squeezed); decay_w1 [D,C], decay_w2 [C,D] (transposed)
//   time_mix_first [H,N]                                  att.time_faaaa
//   channel_mix_lerp_k, _r                                ffn.time_maa_k, _r
//   rwkv6.rescale_every_n_layers = R > 0: the converter divided time_mix_output and
//   channel_mix_value of layer N by 2^(N / R) (the graph halves the residual every R layers);
//   multiplied back here, exactly, since only the scale changes.
// rwkv7:
//   time_mix_lerp_fused [6,1,1,C] in the order r,w,k,v,a,g   att.x_r .. x_g
//   time_mix_w0/a0/v0 [C] (fla's lora.2.bias = BlinkDL's w0/a0/v0, same sign convention)
//   time_mix_{w,a,v,g}1 [D,C], {w,a,v,g}2 [C,D] (Linear layout; BlinkDL's are transposed)
//   time_mix_k_k, k_a [C]; time_mix_r_k [C] (flattened [H,N], N = rwkv7.wkv.head_size)
//   channel_mix_lerp_k [1,1,C]                            ffn.x_k
//   blk.0 time_mix_v0/v1/v2 are copies of a0/a1/a2 that the converter adds so llama.cpp finds
//   them; layer 0 has no value residual, so they are dropped.
// The vocabulary (tokenizer.ggml.model "rwkv") is the World vocabulary with token 0 "<s>", each
// token written as Python's repr of its bytes without the b'' (convert_hf_to_gguf.py
// _set_vocab_rwkv_world) and read back by llama.cpp's llama_unescape_rwkv_token, whose rules
// (\t \n \r \xHH, backslash-anything = that char) are followed here.
#include "engine/error.hpp"
#include "formats/gguf_file.hpp"
#include "formats/readers.hpp"
#include "formats/tensor_ops.hpp"

#include <cstdio>

namespace rwkv::engine::formats {

namespace {

constexpr int token_type_control = 3;
constexpr int token_type_unused = 5;

std::string unescape_rwkv_token(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    if (c != '\\' || i + 1 == escaped.size()) {
      out.push_back(c);
      continue;
    }
    const char e = escaped[++i];
    if (e == 't') out.push_back('\t');
    else if (e == 'n') out.push_back('\n');
    else if (e == 'r') out.push_back('\r');
    else if (e == 'x' && i + 2 < escaped.size() && hex(escaped[i + 1]) >= 0 && hex(escaped[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(escaped[i + 1]) * 16 + hex(escaped[i + 2])));
      i += 2;
    } else out.push_back(e);
  }
  return out;
}

std::string value_text(const gguf_value& v) {
  switch (v.type) {
    case gguf_type::string: return std::string(v.text);
    case gguf_type::array: return "[array of " + std::to_string(v.count) + "]";
    case gguf_type::f32:
    case gguf_type::f64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", v.number);
      return buf;
    }
    case gguf_type::boolean: return v.integer ? "true" : "false";
    default: return std::to_string(v.integer);
  }
}

class gguf_reader {
 public:
  gguf_reader(std::shared_ptr<const mapped_file> file, tensor_store& out)
      : file_(std::move(file)), source_(file_->path()), gguf_(parse_gguf(file_->bytes(), source_)), out_(out) {}

  void read() {
    for (const auto& [key, v] : gguf_.kv) out_.metadata[key] = value_text(v);
    const gguf_value* arch = gguf_.find("general.architecture");
    if (!arch || arch->type != gguf_type::string)
      throw error(errc::bad_model, "'" + source_ + "' is a GGUF file without general.architecture");
    arch_ = std::string(arch->text);
    if (arch_ != "rwkv6" && arch_ != "rwkv7")
      throw error(errc::unsupported, "'" + source_ + "' is a GGUF model of architecture '" + arch_ +
                                         "'; rwkv-lsp runs llama.cpp's 'rwkv6' and 'rwkv7' GGUF files (hybrids such as "
                                         "rwkv6qwen2 or arwkv7 are not RWKV models it knows)");
    const auto* emb = find_tensor("token_embd.weight");
    if (!emb || emb->ne.size() != 2) throw error(errc::bad_model, "'" + source_ + "' lacks a 2-D token_embd.weight");
    C_ = emb->ne[0];
    if (arch_ == "rwkv7") {
      const gguf_value* hs = gguf_.find("rwkv7.wkv.head_size");
      if (!hs || !hs->is_integer() || hs->integer <= 0 || C_ % hs->integer != 0)
        throw error(errc::bad_model, "'" + source_ + "' lacks a usable rwkv7.wkv.head_size");
      head_size_ = hs->integer;
    } else if (const gguf_value* r = gguf_.find("rwkv6.rescale_every_n_layers"); r && r->is_integer() && r->integer > 0) {
      rescale_every_ = r->integer;
    }
    for (const auto& t : gguf_.tensors) map_tensor(t);
    read_vocab();
  }

 private:
  const gguf_tensor_info* find_tensor(const std::string& name) const {
    for (const auto& t : gguf_.tensors)
      if (t.name == name) return &t;
    return nullptr;
  }

  static tensor as_tensor(const gguf_tensor_info& g) {
    tensor t;
    t.type = g.type;
    t.shape.assign(g.ne.rbegin(), g.ne.rend());
    t.data = g.data;
    t.nbytes = static_cast<std::size_t>(g.nbytes);
    return t;
  }

  [[noreturn]] void bad(const std::string& name, const std::string& what) const {
    throw error(errc::bad_model, "'" + source_ + "' (GGUF " + arch_ + "): tensor " + name + " " + what);
  }

  void expect_numel(const std::string& name, const tensor& t, std::int64_t n) const {
    if (t.numel() != n) bad(name, "has shape " + t.shape_string() + ", expected " + std::to_string(n) + " values");
  }

  void vector_as(const std::string& name, const tensor& t, const std::string& to) {
    expect_numel(name, t, C_);
    out_.add(to, reshaped(t, {1, 1, C_}));
  }

  void transposed_as(const std::string& name, const tensor& t, const std::string& to) {
    if (t.shape.size() != 2) bad(name, "should be a matrix, is " + t.shape_string());
    out_.add(to, transposed_view(t));
  }

  void split_lerp(const std::string& name, const tensor& t, const std::string& prefix,
                  std::initializer_list<const char*> parts) {
    const auto n = static_cast<std::int64_t>(parts.size());
    expect_numel(name, t, n * C_);
    const tensor flat = reshaped(t, {n, C_});
    std::int64_t i = 0;
    for (const char* p : parts) out_.add(prefix + p, reshaped(outer_slice(flat, i++, 1), {1, 1, C_}));
  }

  void map_tensor(const gguf_tensor_info& g) {
    const std::string& name = g.name;
    const tensor t = as_tensor(g);
    if (name == "token_embd.weight") return out_.add("emb.weight", t);
    if (name == "token_embd_norm.weight") return out_.add("blocks.0.ln0.weight", t);
    if (name == "token_embd_norm.bias") return out_.add("blocks.0.ln0.bias", t);
    if (name == "output_norm.weight") return out_.add("ln_out.weight", t);
    if (name == "output_norm.bias") return out_.add("ln_out.bias", t);
    if (name == "output.weight") return out_.add("head.weight", t);
    if (name.rfind("blk.", 0) != 0) unknown(name);
    const std::size_t dot = name.find('.', 4);
    const std::string idx = name.substr(4, dot == std::string::npos ? std::string::npos : dot - 4);
    if (dot == std::string::npos || idx.empty() || idx.size() > 6 || idx.find_first_not_of("0123456789") != std::string::npos)
      unknown(name);
    const int layer = std::stoi(idx);
    const std::string rest = name.substr(dot + 1);
    const std::string b = "blocks." + idx + ".";
    const std::string a = b + "att.";
    const std::string f = b + "ffn.";

    static const std::pair<const char*, const char*> same_layout[] = {
        {"attn_norm.weight", "ln1.weight"},
        {"attn_norm.bias", "ln1.bias"},
        {"attn_norm_2.weight", "ln2.weight"},
        {"attn_norm_2.bias", "ln2.bias"},
        {"time_mix_key.weight", "att.key.weight"},
        {"time_mix_value.weight", "att.value.weight"},
        {"time_mix_receptance.weight", "att.receptance.weight"},
        {"time_mix_gate.weight", "att.gate.weight"},
        {"time_mix_ln.weight", "att.ln_x.weight"},
        {"time_mix_ln.bias", "att.ln_x.bias"},
        {"channel_mix_key.weight", "ffn.key.weight"},
        {"channel_mix_value.weight", "ffn.value.weight"},
        {"channel_mix_receptance.weight", "ffn.receptance.weight"},
    };
    for (const auto& [from, to] : same_layout)
      if (rest == from) {
        if (rescale_every_ > 0 && rest == "channel_mix_value.weight") return add_rescaled(b + to, t, layer);
        return out_.add(b + to, t);
      }
    if (rest == "time_mix_output.weight") {
      if (rescale_every_ > 0) return add_rescaled(a + "output.weight", t, layer);
      return out_.add(a + "output.weight", t);
    }
    if (arch_ == "rwkv6") return map_v6(name, rest, t, a, f);
    return map_v7(name, rest, t, a, f, layer);
  }

  void add_rescaled(const std::string& to, const tensor& t, int layer) {
    const int exponent = static_cast<int>(layer / rescale_every_);
    if (exponent == 0) return out_.add(to, t);
    out_.add_owned(to, t.type, t.shape, scaled_by_power_of_two(t, exponent));
  }

  void map_v6(const std::string& name, const std::string& rest, const tensor& t, const std::string& a,
              const std::string& f) {
    if (rest == "time_mix_lerp_x.weight") return vector_as(name, t, a + "time_maa_x");
    if (rest == "time_mix_lerp_fused.weight") return split_lerp(name, t, a + "time_maa_", {"w", "k", "v", "r", "g"});
    for (const char* p : {"w", "k", "v", "r", "g"})
      if (rest == std::string("time_mix_lerp_") + p + ".weight") return vector_as(name, t, a + "time_maa_" + p);
    if (rest == "time_mix_w1.weight") return transposed_as(name, t, a + "time_maa_w1");
    if (rest == "time_mix_w2.weight") {
      if (t.shape.size() != 3) bad(name, "should be [5, C, D], is " + t.shape_string());
      return out_.add_owned_f32(a + "time_maa_w2", {t.shape[0], t.shape[2], t.shape[1]},
                                swap_last_two(to_f32(t), t.shape[0], t.shape[1], t.shape[2]));
    }
    if (rest == "time_mix_decay.weight") return vector_as(name, t, a + "time_decay");
    if (rest == "time_mix_decay_w1.weight") return transposed_as(name, t, a + "time_decay_w1");
    if (rest == "time_mix_decay_w2.weight") return transposed_as(name, t, a + "time_decay_w2");
    if (rest == "time_mix_first.weight") {
      if (t.shape.size() != 2) bad(name, "should be [H, N], is " + t.shape_string());
      return out_.add(a + "time_faaaa", t);
    }
    if (rest == "channel_mix_lerp_k.weight") return vector_as(name, t, f + "time_maa_k");
    if (rest == "channel_mix_lerp_r.weight") return vector_as(name, t, f + "time_maa_r");
    unknown(name);
  }

  void map_v7(const std::string& name, const std::string& rest, const tensor& t, const std::string& a,
              const std::string& f, int layer) {
    if (rest == "time_mix_lerp_fused.weight") return split_lerp(name, t, a + "x_", {"r", "w", "k", "v", "a", "g"});
    if (layer == 0 && (rest == "time_mix_v0.weight" || rest == "time_mix_v1.weight" || rest == "time_mix_v2.weight"))
      return;
    for (const char* p : {"w", "a", "v"})
      if (rest == std::string("time_mix_") + p + "0.weight") return vector_as(name, t, a + p + "0");
    for (const char* p : {"w1", "w2", "a1", "a2", "v1", "v2", "g1", "g2"})
      if (rest == std::string("time_mix_") + p + ".weight") return transposed_as(name, t, a + p);
    if (rest == "time_mix_k_k.weight") return vector_as(name, t, a + "k_k");
    if (rest == "time_mix_k_a.weight") return vector_as(name, t, a + "k_a");
    if (rest == "time_mix_r_k.weight") {
      expect_numel(name, t, C_);
      return out_.add(a + "r_k", reshaped(t, {C_ / head_size_, head_size_}));
    }
    if (rest == "channel_mix_lerp_k.weight") return vector_as(name, t, f + "x_k");
    unknown(name);
  }

  [[noreturn]] void unknown(const std::string& name) const {
    throw error(errc::unsupported, "'" + source_ + "' (GGUF " + arch_ + ") has a tensor rwkv-lsp does not know: " + name +
                                       ". It may be a variant llama.cpp added later; use a standard RWKV-6/7 GGUF");
  }

  void read_vocab() {
    const gguf_value* model = gguf_.find("tokenizer.ggml.model");
    if (!model || model->type != gguf_type::string || model->text != "rwkv") return;
    const gguf_value* tokens = gguf_.find("tokenizer.ggml.tokens");
    if (!tokens || tokens->type != gguf_type::array || tokens->element != gguf_type::string)
      throw error(errc::bad_format, "'" + source_ + "' says its tokenizer is 'rwkv' but has no tokenizer.ggml.tokens list");
    const gguf_value* types = gguf_.find("tokenizer.ggml.token_type");
    const bool typed = types && types->type == gguf_type::array && types->numbers.size() == tokens->strings.size();
    out_.vocab.reserve(tokens->strings.size());
    for (std::size_t i = 0; i < tokens->strings.size(); ++i) {
      const int type = typed ? static_cast<int>(types->numbers[i]) : (i == 0 ? token_type_control : 1);
      // Control (<s>, id 0) and unused ([PADn]) entries stand for no text.
      out_.vocab.push_back(type == token_type_control || type == token_type_unused ? std::string()
                                                                                   : unescape_rwkv_token(tokens->strings[i]));
    }
  }

  std::shared_ptr<const mapped_file> file_;
  std::string source_;
  gguf_file gguf_;
  tensor_store& out_;
  std::string arch_;
  std::int64_t C_ = 0;
  std::int64_t head_size_ = 0;
  std::int64_t rescale_every_ = 0;
};

}  // namespace

void read_gguf(std::shared_ptr<const mapped_file> file, tensor_store& out) { gguf_reader(std::move(file), out).read(); }

}  // namespace rwkv::engine::formats
