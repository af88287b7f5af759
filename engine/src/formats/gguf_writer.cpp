// GGUF in llama.cpp's rwkv6 / rwkv7 layout: the inverse of gguf_reader.cpp, shaped like the
// output of llama.cpp's convert_hf_to_gguf.py (Rwkv6Model, Rwkv7Model) so that llama.cpp's
// loader (src/models/rwkv6.cpp, rwkv7.cpp) accepts it:
//   * metadata: general.architecture, general.alignment 32, general.file_type, and
//     <arch>.{context_length 1048576, embedding_length, block_count, feed_forward_length,
//     vocab_size, attention.layer_norm_epsilon 1e-5, wkv.head_size, attention.head_count 0} plus
//     rwkv6.{time_mix_extra_dim, time_decay_extra_dim, rescale_every_n_layers 0} or
//     rwkv7.attention.{decay,iclr,value_residual_mix,gate}_lora_rank; token_shift_count is left
//     at llama.cpp's default (2), which both graphs assert;
//   * tensor data contiguous in file order, each padded to the alignment (gguf.cpp requires
//     offsets to follow exactly);
//   * rwkv7 layer 0 gets time_mix_v0/v1/v2 as copies of a0/a1/a2, as the converter does
//     ("dummy v0/v1/v2 on first layer ... easiest way to make llama happy").
// The World vocabulary is written as the converter does (_set_vocab_rwkv_world): "<s>" (control)
// for id 0, each token as Python's repr of its bytes without b'', "[PADn]" (unused) up to n_vocab.
#include "engine/error.hpp"
#include "engine/model.hpp"
#include "engine/mapped_file.hpp"
#include "engine/tokenizer_select.hpp"
#include "formats/gguf_file.hpp"
#include "formats/tensor_ops.hpp"
#include "formats/writers.hpp"
#include "tokenizer/world_vocab.hpp"

#include <cstdio>
#include <filesystem>

namespace rwkv::engine::formats {

namespace {

using kernels::dtype;

constexpr std::uint32_t alignment = 32;

class kv_writer {
 public:
  void u32(const std::string& key, std::uint32_t v) { head(key, gguf_type::u32), put(v); }
  void f32(const std::string& key, float v) { head(key, gguf_type::f32), put(v); }
  void str(const std::string& key, const std::string& v) { head(key, gguf_type::string), put_string(v); }
  void strings(const std::string& key, const std::vector<std::string>& v) {
    head(key, gguf_type::array), put(static_cast<std::uint32_t>(gguf_type::string)), put<std::uint64_t>(v.size());
    for (const auto& s : v) put_string(s);
  }
  void i32s(const std::string& key, const std::vector<std::int32_t>& v) {
    head(key, gguf_type::array), put(static_cast<std::uint32_t>(gguf_type::i32)), put<std::uint64_t>(v.size());
    for (auto x : v) put(x);
  }
  std::uint64_t count() const { return count_; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof v);
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }

 private:
  void head(const std::string& key, gguf_type t) {
    ++count_;
    put_string(key);
    put(static_cast<std::uint32_t>(t));
  }
  std::vector<std::uint8_t> bytes_;
  std::uint64_t count_ = 0;
};

// Python's repr(bytes)[2:-1]: what the converter stores for a World token.
std::string python_bytes_repr(std::string_view b) {
  const bool has_single = b.find('\'') != std::string_view::npos, has_double = b.find('"') != std::string_view::npos;
  const bool escape_single = !(has_single && !has_double);  // repr picks "..." only then
  std::string out;
  for (unsigned char c : b) {
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\'' && escape_single) out += "\\'";
    else if (c >= 0x20 && c < 0x7f) out.push_back(static_cast<char>(c));
    else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::uint32_t file_type(dtype t) {
  switch (t) {
    case dtype::f32: return 0;
    case dtype::f16: return 1;
    case dtype::q4_0: return 2;
    case dtype::q4_1: return 3;
    case dtype::q8_0: return 7;
    case dtype::q5_0: return 8;
    case dtype::q5_1: return 9;
    case dtype::q4_k: return 14;  // llama.cpp's Q4_K_S / Q5_K_S / Q6_K (every large matrix one type)
    case dtype::q5_k: return 16;
    case dtype::q6_k: return 18;
    case dtype::bf16: return 32;
    default: return 0;
  }
}

class gguf_planner {
 public:
  gguf_planner(const tensor_store& s, const convert_options& o) : s_(s), o_(o), c_(config_from_tensors(s)) {
    if (c_.arch != architecture::v6 && c_.arch != architecture::v7)
      throw error(errc::unsupported, "'" + s.source + "' is an RWKV-" + std::string(architecture_name(c_.arch)) +
                                         " model; llama.cpp's GGUF has only the rwkv6 and rwkv7 architectures. Convert it "
                                         "with --format safetensors instead");
    arch_ = c_.arch == architecture::v6 ? "rwkv6" : "rwkv7";
    head_type_ = o.head_dtype.value_or(kernels::dtype_is_quantized(o.dtype) ? dtype::q8_0 : o.dtype);
    lora_type_ = o.dtype == dtype::f32 || o.dtype == dtype::bf16 ? o.dtype : dtype::f16;
  }

  const model_config& config() const { return c_; }
  const std::string& arch() const { return arch_; }
  std::vector<planned_tensor>& tensors() { return out_; }

  void plan() {
    const std::int64_t C = c_.n_embd, V = c_.n_vocab, F = c_.n_ffn;
    matrix("token_embd.weight", "emb.weight", {V, C}, head_type_);
    vec("token_embd_norm.weight", "blocks.0.ln0.weight");
    vec("token_embd_norm.bias", "blocks.0.ln0.bias");
    for (int i = 0; i < c_.n_layer; ++i) {
      const std::string g = "blk." + std::to_string(i) + ".", b = "blocks." + std::to_string(i) + ".";
      const std::string a = b + "att.", f = b + "ffn.";
      vec(g + "attn_norm.weight", b + "ln1.weight");
      vec(g + "attn_norm.bias", b + "ln1.bias");
      vec(g + "attn_norm_2.weight", b + "ln2.weight");
      vec(g + "attn_norm_2.bias", b + "ln2.bias");
      if (c_.arch == architecture::v6) {
        vec(g + "time_mix_lerp_x.weight", a + "time_maa_x", {1, 1, C});
        fused(g + "time_mix_lerp_fused.weight", a + "time_maa_", {"w", "k", "v", "r", "g"});
        transposed(g + "time_mix_w1.weight", a + "time_maa_w1");
        const tensor& w2 = need(a + "time_maa_w2");
        if (w2.shape.size() != 3) throw error(errc::bad_model, "time_maa_w2 should be [5, D, C], is " + w2.shape_string());
        add_values(g + "time_mix_w2.weight", {w2.shape[0], w2.shape[2], w2.shape[1]},
                   [&w2] { return swap_last_two(to_f32(w2), w2.shape[0], w2.shape[1], w2.shape[2]); });
        vec(g + "time_mix_first.weight", a + "time_faaaa", {c_.n_head, c_.head_size});
        vec(g + "time_mix_decay.weight", a + "time_decay");
        transposed(g + "time_mix_decay_w1.weight", a + "time_decay_w1");
        transposed(g + "time_mix_decay_w2.weight", a + "time_decay_w2");
        matrix(g + "time_mix_gate.weight", a + "gate.weight", {C, C}, o_.dtype);
      } else {
        fused(g + "time_mix_lerp_fused.weight", a + "x_", {"r", "w", "k", "v", "a", "g"});
        for (const char* p : {"w", "a", "v"}) {
          // Layer 0 has no value residual; llama.cpp still wants v0/v1/v2 there, and its
          // converter writes copies of a0/a1/a2 (the real checkpoint's layer-0 v* are unused).
          const std::string src = (i == 0 && p[0] == 'v') ? "a" : p;
          vec(g + "time_mix_" + p + "0.weight", a + src + "0");
          transposed(g + "time_mix_" + p + "1.weight", a + src + "1");
          transposed(g + "time_mix_" + p + "2.weight", a + src + "2");
        }
        transposed(g + "time_mix_g1.weight", a + "g1");
        transposed(g + "time_mix_g2.weight", a + "g2");
        vec(g + "time_mix_k_k.weight", a + "k_k");
        vec(g + "time_mix_k_a.weight", a + "k_a");
        vec(g + "time_mix_r_k.weight", a + "r_k");
      }
      matrix(g + "time_mix_key.weight", a + "key.weight", {C, C}, o_.dtype);
      matrix(g + "time_mix_value.weight", a + "value.weight", {C, C}, o_.dtype);
      matrix(g + "time_mix_receptance.weight", a + "receptance.weight", {C, C}, o_.dtype);
      vec(g + "time_mix_ln.weight", a + "ln_x.weight");
      vec(g + "time_mix_ln.bias", a + "ln_x.bias");
      matrix(g + "time_mix_output.weight", a + "output.weight", {C, C}, o_.dtype);
      if (c_.arch == architecture::v6) {
        vec(g + "channel_mix_lerp_k.weight", f + "time_maa_k", {1, 1, C});
        vec(g + "channel_mix_lerp_r.weight", f + "time_maa_r", {1, 1, C});
        matrix(g + "channel_mix_receptance.weight", f + "receptance.weight", {C, C}, o_.dtype);
      } else {
        vec(g + "channel_mix_lerp_k.weight", f + "x_k", {1, 1, C});
      }
      matrix(g + "channel_mix_key.weight", f + "key.weight", {F, C}, o_.dtype);
      matrix(g + "channel_mix_value.weight", f + "value.weight", {C, F}, o_.dtype);
    }
    vec("output_norm.weight", "ln_out.weight");
    vec("output_norm.bias", "ln_out.bias");
    matrix("output.weight", "head.weight", {V, C}, head_type_);
  }

 private:
  const tensor& need(const std::string& name) const {
    const tensor* t = s_.find(name);
    if (!t) throw error(errc::bad_model, "'" + s_.source + "' lacks tensor " + name + "; cannot write GGUF");
    return *t;
  }

  void add_values(const std::string& name, std::vector<std::int64_t> shape, std::function<std::vector<float>()> values,
                  dtype type = dtype::f32) {
    planned_tensor p;
    p.name = name;
    p.type = type;
    p.shape = std::move(shape);
    p.values = std::move(values);
    out_.push_back(std::move(p));
  }

  // A small fp32 tensor; `shape` defaults to a vector.
  void vec(const std::string& name, const std::string& src, std::vector<std::int64_t> shape = {}) {
    const tensor& t = need(src);
    if (shape.empty()) shape = {t.numel()};
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    if (n != t.numel()) throw error(errc::bad_model, src + " has shape " + t.shape_string() + ", expected " + shape_text(shape));
    add_values(name, std::move(shape), [&t] { return to_f32(t); });
  }

  // A LoRA matrix, stored [out][in] as llama.cpp wants it: as stored when the source holds it that
  // way already (read from GGUF) in the same encoding.
  void transposed(const std::string& name, const std::string& src) {
    const tensor& t = need(src);
    if (t.shape.size() != 2) throw error(errc::bad_model, src + " should be a matrix, is " + t.shape_string());
    add_values(name, {t.shape[1], t.shape[0]}, [&t] { return transpose(to_f32(t), t.shape[0], t.shape[1]); }, lora_type_);
    if (t.transposed && t.type == lora_type_) out_.back().as_stored = &t;
  }

  void fused(const std::string& name, const std::string& prefix, std::initializer_list<const char*> parts) {
    std::vector<const tensor*> ts;
    for (const char* p : parts) ts.push_back(&need(prefix + p));
    const std::int64_t C = c_.n_embd;
    for (const tensor* t : ts)
      if (t->numel() != C) throw error(errc::bad_model, "a mixing vector of " + name + " does not have " + std::to_string(C) + " values");
    add_values(name, {static_cast<std::int64_t>(ts.size()), 1, 1, C}, [ts] {
      std::vector<float> all;
      for (const tensor* t : ts) {
        auto v = to_f32(*t);
        all.insert(all.end(), v.begin(), v.end());
      }
      return all;
    });
  }

  void matrix(const std::string& name, const std::string& src, std::vector<std::int64_t> shape, dtype type) {
    const tensor& t = need(src);
    if (t.shape != shape) throw error(errc::bad_model, src + " has shape " + t.shape_string() + ", expected " + shape_text(shape));
    // Rows that do not fill whole blocks: a K-quant's super-block of 256 falls back to q8_0 (blocks of
    // 32), anything else to f16.
    if (kernels::dtype_row_bytes(type, shape.back()) < 0)
      type = kernels::dtype_row_bytes(dtype::q8_0, shape.back()) > 0 && kernels::dtype_block_elems(type) == 256 ? dtype::q8_0 : dtype::f16;
    planned_tensor p;
    p.name = name;
    p.type = type;
    p.shape = std::move(shape);
    if (t.type == type && !t.transposed) p.as_stored = &t;
    else p.values = [&t] { return to_f32(t); };
    out_.push_back(std::move(p));
  }

  const tensor_store& s_;
  const convert_options& o_;
  model_config c_;
  std::string arch_;
  dtype head_type_ = dtype::f32;
  dtype lora_type_ = dtype::f32;
  std::vector<planned_tensor> out_;
};

// The World vocabulary as GGUF token texts, or empty when none is available.
std::vector<std::string> world_tokens(const tensor_store& s, const convert_options& o, std::int64_t n_vocab) {
  std::vector<std::string> raw;  // token bytes by id; empty = no text
  if (!o.vocab_path.empty() || s.vocab.empty()) {
    std::string path = o.vocab_path;
    if (path.empty() && n_vocab == 65536 && s.source != "<embedded>")
      for (const auto& c : vocabulary_search_path(s.source, "rwkv_vocab_v20230424.txt"))
        if (std::error_code ec; std::filesystem::is_regular_file(c, ec)) {
          path = c;
          break;
        }
    if (path.empty()) return {};
    const mapped_file f(path);
    auto entries = tokenizers::parse_world_vocab(std::string_view(reinterpret_cast<const char*>(f.data()), f.size()), path);
    raw.resize(static_cast<std::size_t>(n_vocab));
    for (auto& e : entries) {
      if (e.id >= n_vocab)
        throw error(errc::bad_argument, "the vocabulary '" + path + "' has token id " + std::to_string(e.id) +
                                            " but the model only " + std::to_string(n_vocab) + " logits");
      raw[static_cast<std::size_t>(e.id)] = std::move(e.bytes);
    }
  } else {
    raw = s.vocab;
    raw.resize(static_cast<std::size_t>(std::max<std::int64_t>(n_vocab, static_cast<std::int64_t>(raw.size()))));
  }
  return raw;
}

}  // namespace

convert_summary write_gguf(const tensor_store& source, const std::string& path, const convert_options& options) {
  gguf_planner planner(source, options);
  planner.plan();
  const model_config& c = planner.config();
  const std::string& arch = planner.arch();

  kv_writer kv;
  kv.str("general.architecture", arch);
  kv.str("general.name", std::filesystem::path(source.source).stem().string());
  kv.u32("general.alignment", alignment);
  kv.u32("general.file_type", file_type(options.dtype));
  if (kernels::dtype_is_quantized(options.dtype)) kv.u32("general.quantization_version", 2);
  kv.u32(arch + ".context_length", 1048576);
  kv.u32(arch + ".embedding_length", static_cast<std::uint32_t>(c.n_embd));
  kv.u32(arch + ".block_count", static_cast<std::uint32_t>(c.n_layer));
  kv.u32(arch + ".feed_forward_length", static_cast<std::uint32_t>(c.n_ffn));
  kv.u32(arch + ".vocab_size", static_cast<std::uint32_t>(c.n_vocab));
  kv.f32(arch + ".attention.layer_norm_epsilon", 1e-5f);
  kv.u32(arch + ".wkv.head_size", static_cast<std::uint32_t>(c.head_size));
  kv.u32(arch + ".attention.head_count", 0);
  if (c.arch == architecture::v6) {
    kv.u32("rwkv6.time_mix_extra_dim", static_cast<std::uint32_t>(c.lora_mix));
    kv.u32("rwkv6.time_decay_extra_dim", static_cast<std::uint32_t>(c.lora_decay));
    kv.u32("rwkv6.rescale_every_n_layers", 0);
  } else {
    kv.u32("rwkv7.attention.decay_lora_rank", static_cast<std::uint32_t>(c.lora_decay));
    kv.u32("rwkv7.attention.iclr_lora_rank", static_cast<std::uint32_t>(c.lora_aaa));
    kv.u32("rwkv7.attention.value_residual_mix_lora_rank", static_cast<std::uint32_t>(c.lora_value ? c.lora_value : c.lora_aaa));
    kv.u32("rwkv7.attention.gate_lora_rank", static_cast<std::uint32_t>(c.lora_gate));
  }
  convert_summary summary;
  const auto raw_tokens = world_tokens(source, options, c.n_vocab);
  if (!raw_tokens.empty()) {
    std::vector<std::string> tokens;
    std::vector<std::int32_t> types;
    for (std::size_t i = 0; i < raw_tokens.size(); ++i) {
      if (i == 0) tokens.push_back("<s>"), types.push_back(3);
      else if (raw_tokens[i].empty()) tokens.push_back("[PAD" + std::to_string(i) + "]"), types.push_back(5);
      else tokens.push_back(python_bytes_repr(raw_tokens[i])), types.push_back(1);
    }
    kv.str("tokenizer.ggml.model", "rwkv");
    kv.strings("tokenizer.ggml.tokens", tokens);
    kv.i32s("tokenizer.ggml.token_type", types);
    // As llama.cpp's converter writes them: <s> (id 0) begins and ends a text, "\n\n" ends a turn
    // (without these llama.cpp has no end-of-generation token), and its built-in World chat format.
    kv.u32("tokenizer.ggml.bos_token_id", 0);
    kv.u32("tokenizer.ggml.eos_token_id", 0);
    if (raw_tokens.size() > 261 && raw_tokens[261] == "\n\n") kv.u32("tokenizer.ggml.eot_token_id", 261);
    kv.str("tokenizer.chat_template", "rwkv-world");
    summary.vocabulary = true;
  } else {
    // llama.cpp requires the key; "no_vocab" is its value for a model without a vocabulary
    // (src/llama-vocab.cpp), e.g. byte-level models.
    kv.str("tokenizer.ggml.model", "no_vocab");
  }

  auto& tensors = planner.tensors();
  kv_writer infos;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    infos.put_string(t.name);
    infos.put(static_cast<std::uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) infos.put(static_cast<std::uint64_t>(*it));
    infos.put(ggml_type_of(t.type));
    infos.put(offset);
    offset += (t.nbytes() + alignment - 1) / alignment * alignment;
  }

  output_file out(path);
  out.write("GGUF", 4);
  const std::uint32_t version = 3;
  const std::uint64_t n_tensors = tensors.size(), n_kv = kv.count();
  out.write(&version, 4);
  out.write(&n_tensors, 8);
  out.write(&n_kv, 8);
  out.write(kv.bytes().data(), kv.bytes().size());
  out.write(infos.bytes().data(), infos.bytes().size());
  out.pad_to(alignment);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto bytes = tensors[i].encode();
    out.write(bytes.data(), bytes.size());
    out.pad_to(alignment);
    ++summary.tensor_types[std::string(kernels::dtype_name(tensors[i].type))];
    if (options.progress) options.progress(i + 1, tensors.size(), tensors[i].name);
  }
  summary.tensors = tensors.size();
  summary.bytes = out.size();
  out.commit();
  return summary;
}

}  // namespace rwkv::engine::formats
