// The rwkv.cpp model file (".bin", magic "ggmf"): a 24-byte header, then tensor records to the end.
//
//   header  u32 magic 0x67676d66, version (100 or 101), n_vocab, n_embed, n_layer, data_type
//   record  u32 dim_count (1-3), key_length, data_type; u32 ne[dim_count] (ggml order, innermost
//           first); key bytes; raw data (ggml rows of ne[0] elements)
//   types   0 FP32, 1 FP16, 2 Q4_0, 3 Q4_1, 7 Q5_0, 8 Q5_1, 9 Q8_0 (4-6 were removed formats)
//
// rwkv.cpp's converter (python/convert_pytorch_to_ggml.py) keeps BlinkDL key names but changes
// some values and shapes; this reader undoes each change so the store holds BlinkDL semantics:
//   * every ".time_*" tensor is squeezed (shape only; the engine reads vectors by element count)
//   * v4:   time_decay stored as -exp(w)            -> log(-x)
//   * v5.0 (rwkv.cpp's "5.1": per-head decay, no gate): time_decay stored as exp(-exp(w)) [H,1,1]
//           -> log(-log(x)), [H]; time_first stored as the bonus exp(time_first) [H,1,1] -> log, [H]
//   * v5.2: time_decay stored as exp(-exp(w)) [H,N,1] -> log(-log(x)), [H,N]; time_faaaa [H,N,1]
//   * v6:   time_faaaa [H,N,1]; time_maa_w1, time_decay_w1, time_decay_w2 transposed;
//           time_maa_w2 permuted (5,D,C) -> (5,C,D)
//   * v7:   att.x_r .. x_g concatenated as att.x_rwkvag [6,1,C] (r, w, k, v, a, g, as
//           rwkv_graph.inc slices it); the LoRA matrices w1 w2 a1 a2 v1 v2 g1 g2 transposed
//           (shapes in the shared tiny-rwkv-7v0 file and rwkv_model_loading.inc)
// Quantized files keep their matrices as stored, whichever 2-D tensors the quantizer took (all but
// emb and head in rwkv_quantize.inc as published; the files behind rwkv.cpp's RWKV-7 test values
// kept the LoRAs and r_k unquantized). The transposed LoRAs, quantized or not, are marked
// `transposed` (their stored layout is the one the kernels use) rather than copied.
//
// Version 100 files predate ggml's 2023 change of the Q4/Q5/Q8 block layouts; rwkv.cpp itself
// refuses quantized version-100 files, and so does this reader (FP32/FP16 ones load).
#include "engine/error.hpp"
#include "formats/byte_cursor.hpp"
#include "formats/readers.hpp"
#include "formats/tensor_ops.hpp"

#include <cmath>
#include <map>

namespace rwkv::engine::formats {

namespace {

constexpr std::uint32_t magic = 0x67676d66;
constexpr std::uint32_t max_key_length = 1024;

std::optional<kernels::dtype> type_of(std::uint32_t t) {
  switch (t) {
    case 0: return kernels::dtype::f32;
    case 1: return kernels::dtype::f16;
    case 2: return kernels::dtype::q4_0;
    case 3: return kernels::dtype::q4_1;
    case 7: return kernels::dtype::q5_0;
    case 8: return kernels::dtype::q5_1;
    case 9: return kernels::dtype::q8_0;
    default: return std::nullopt;
  }
}

class rwkvcpp_reader {
 public:
  rwkvcpp_reader(std::shared_ptr<const mapped_file> file, tensor_store& out)
      : file_(std::move(file)), in_(file_->bytes(), file_->path()), out_(out) {}

  void read() {
    if (in_.read<std::uint32_t>("the magic number") != magic) in_.fail("not an rwkv.cpp file (bad magic)");
    const auto version = in_.read<std::uint32_t>("the version");
    if (version != 100 && version != 101)
      throw error(errc::unsupported, "'" + in_.source() + "' is an rwkv.cpp file of version " + std::to_string(version) +
                                         "; rwkv-lsp reads versions 100 and 101. Re-convert the model with a current rwkv.cpp");
    const auto n_vocab = in_.read<std::uint32_t>("n_vocab");
    const auto n_embed = in_.read<std::uint32_t>("n_embed");
    in_.read<std::uint32_t>("n_layer");
    in_.read<std::uint32_t>("data_type");
    out_.metadata["rwkvcpp.version"] = std::to_string(version);

    while (!in_.at_end()) read_record(version);

    const auto emb = raw_.find("emb.weight");
    if (emb == raw_.end()) throw error(errc::bad_model, "'" + in_.source() + "' has no emb.weight tensor");
    if (emb->second.shape.size() != 2 || emb->second.shape[0] != n_vocab || emb->second.shape[1] != n_embed)
      throw error(errc::bad_format, "'" + in_.source() + "': emb.weight is " + emb->second.shape_string() +
                                        " but the header says " + std::to_string(n_vocab) + " tokens of " +
                                        std::to_string(n_embed));
    canonicalize();
  }

 private:
  void read_record(std::uint32_t version) {
    const auto dims = in_.read<std::uint32_t>("a tensor's dimension count");
    const auto key_length = in_.read<std::uint32_t>("a tensor's name length");
    const auto type_code = in_.read<std::uint32_t>("a tensor's data type");
    if (dims < 1 || dims > 3) in_.fail("a tensor has " + std::to_string(dims) + " dimensions (1 to 3 allowed)");
    if (key_length == 0 || key_length > max_key_length) in_.fail("a tensor name is " + std::to_string(key_length) + " bytes long");
    const auto type = type_of(type_code);
    if (!type) {
      if (type_code >= 4 && type_code <= 6)
        throw error(errc::unsupported, "'" + in_.source() + "' uses a quantization format (Q4_1_O, Q4_2 or Q4_3) that "
                                                            "rwkv.cpp removed; re-quantize the FP16 model");
      in_.fail("unknown tensor data type " + std::to_string(type_code));
    }
    if (version == 100 && kernels::dtype_is_quantized(*type))
      throw error(errc::unsupported, "'" + in_.source() + "' is a quantized rwkv.cpp file of format version 100, whose "
                                                          "block layout predates ggml's current one; re-quantize it from the "
                                                          "FP16 model with a current rwkv.cpp (or `rwkv-lsp convert`)");
    std::vector<std::int64_t> shape(dims);
    for (std::uint32_t i = 0; i < dims; ++i) {
      const auto ne = in_.read<std::uint32_t>("a tensor dimension");
      if (ne == 0 || ne > (1u << 31)) in_.fail("a tensor dimension is " + std::to_string(ne));
      shape[dims - 1 - i] = ne;  // ggml order to PyTorch order
    }
    const std::string name(in_.read_text(key_length, "a tensor name"));
    const auto nbytes = checked_nbytes(*type, shape);
    if (!nbytes)
      in_.fail("tensor '" + name + "' " + shape_text(shape) + " does not fit the block size of " +
               std::string(kernels::dtype_name(*type)));
    const auto data = in_.read_bytes(*nbytes, ("the data of tensor '" + name + "'").c_str());
    tensor t;
    t.type = *type;
    t.shape = std::move(shape);
    t.data = data.data();
    t.nbytes = data.size();
    if (!raw_.emplace(name, std::move(t)).second)
      throw error(errc::bad_format, "'" + in_.source() + "': tensor '" + name + "' appears twice");
  }

  [[noreturn]] void bad(const std::string& name, const std::string& what) const {
    throw error(errc::bad_model, "'" + in_.source() + "': tensor " + name + " " + what);
  }

  void add_f32(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> v) {
    out_.add_owned_f32(name, std::move(shape), std::move(v));
  }

  static bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  }

  void canonicalize() {
    const bool v7 = raw_.count("blocks.0.att.r_k") > 0;
    const bool v6 = raw_.count("blocks.0.att.time_maa_x") > 0;
    const bool v5 = raw_.count("blocks.0.att.ln_x.weight") > 0;
    const bool v5_2 = v5 && raw_.count("blocks.0.att.time_faaaa") > 0;  // else per-head 5.0/5.1
    for (const auto& [name, t] : raw_) {
      const std::int64_t numel = t.numel();
      if (v7 && ends_with(name, ".att.x_rwkvag")) {
        if (t.shape.size() != 3 || t.shape[0] != 6 || t.shape[1] != 1) bad(name, "should be [6, 1, C], is " + t.shape_string());
        const std::string prefix = name.substr(0, name.size() - 6);  // "...att.x_"
        const char* parts[] = {"r", "w", "k", "v", "a", "g"};
        for (int i = 0; i < 6; ++i) out_.add(prefix + parts[i], reshaped(outer_slice(t, i, 1), {1, 1, t.shape[2]}));
      } else if (v7 && is_v7_lora(name)) {
        if (t.shape.size() != 2) bad(name, "should be a matrix, is " + t.shape_string());
        out_.add(name, transposed_view(t));
      } else if (v6 && (ends_with(name, ".time_maa_w1") || ends_with(name, ".time_decay_w1") ||
                        ends_with(name, ".time_decay_w2"))) {
        if (t.shape.size() != 2) bad(name, "should be a matrix, is " + t.shape_string());
        out_.add(name, transposed_view(t));
      } else if (v6 && ends_with(name, ".time_maa_w2")) {
        if (t.shape.size() != 3) bad(name, "should be [5, C, D], is " + t.shape_string());
        add_f32(name, {t.shape[0], t.shape[2], t.shape[1]}, swap_last_two(to_f32(t), t.shape[0], t.shape[1], t.shape[2]));
      } else if ((v5_2 || v6) && ends_with(name, ".time_faaaa")) {
        if (t.shape.size() != 3) bad(name, "should be [H, N, 1], is " + t.shape_string());
        out_.add(name, reshaped(t, {t.shape[0], t.shape[1]}));
      } else if (v5 && !v6 && ends_with(name, ".time_decay")) {
        // exp(-exp(w)) back to w; the engine recomputes exp(-exp(w)) in fp32 at load.
        auto v = to_f32(t);
        for (float& x : v) {
          if (!(x > 0.0f && x < 1.0f)) bad(name, "holds " + std::to_string(x) + ", not a decay exp(-exp(w)) in (0, 1)");
          x = std::log(-std::log(x));
        }
        if (v5_2)
          add_f32(name, {t.shape[0], t.shape[1]}, std::move(v));
        else
          add_f32(name, {t.shape[0]}, std::move(v));
      } else if (v5 && !v5_2 && ends_with(name, ".time_first")) {
        auto v = to_f32(t);
        for (float& x : v) {
          if (!(x > 0.0f)) bad(name, "holds " + std::to_string(x) + ", not exp(time_first)");
          x = std::log(x);
        }
        add_f32(name, {t.shape[0]}, std::move(v));
      } else if (!v5 && !v6 && !v7 && ends_with(name, ".time_decay")) {
        auto v = to_f32(t);
        for (float& x : v) {
          if (!(x < 0.0f)) bad(name, "holds " + std::to_string(x) + ", not a decay -exp(w) < 0");
          x = std::log(-x);
        }
        add_f32(name, {numel}, std::move(v));
      } else {
        out_.add(name, t);
      }
    }
  }

  std::shared_ptr<const mapped_file> file_;
  byte_cursor in_;
  tensor_store& out_;
  std::map<std::string, tensor> raw_;
};

}  // namespace

void read_rwkvcpp(std::shared_ptr<const mapped_file> file, tensor_store& out) { rwkvcpp_reader(std::move(file), out).read(); }

}  // namespace rwkv::engine::formats
