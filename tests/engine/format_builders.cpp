#include "engine/format_builders.hpp"

#include "kernels/dtype.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

namespace rwkv::test {

namespace {

template <class T>
void put(bytes& b, T v) {
  const std::size_t at = b.size();
  b.resize(at + sizeof v);
  std::memcpy(b.data() + at, &v, sizeof v);
}

void put_string(bytes& b, const std::string& s) {
  put<std::uint64_t>(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

template <class T>
T get(const bytes& b, std::size_t& at) {
  REQUIRE(at + sizeof(T) <= b.size());
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

bytes encode(const std::vector<float>& v, kernels::dtype type, std::int64_t row) {
  bytes out(static_cast<std::size_t>(kernels::dtype_row_bytes(type, row) * (static_cast<std::int64_t>(v.size()) / row)));
  const std::int64_t rb = kernels::dtype_row_bytes(type, row);
  for (std::int64_t r = 0; r * row < static_cast<std::int64_t>(v.size()); ++r)
    REQUIRE(kernels::quantize_row(type, v.data() + r * row, out.data() + r * rb, row));
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<float> transpose(const std::vector<float>& v, std::int64_t rows, std::int64_t cols) {
  std::vector<float> out(v.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) out[static_cast<std::size_t>(c * rows + r)] = v[static_cast<std::size_t>(r * cols + c)];
  return out;
}

}  // namespace

std::vector<float> values_of(const engine::tensor& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  const std::int64_t inner = t.row_length();
  const std::int64_t row = kernels::dtype_row_bytes(t.type, inner);
  for (std::int64_t r = 0; r * inner < t.numel(); ++r)
    kernels::dequantize_row(t.type, static_cast<const std::uint8_t*>(t.data) + r * row, v.data() + r * inner, inner);
  if (!t.transposed) return v;
  std::vector<float> canonical(v.size());  // stored [b][a] -> [a][b]
  const std::int64_t a = t.shape[0], b = t.shape[1];
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < a; ++j) canonical[static_cast<std::size_t>(j * b + i)] = v[static_cast<std::size_t>(i * a + j)];
  return canonical;
}

bytes read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return bytes(std::istreambuf_iterator<char>(in), {});
}

void write_file_bytes(const std::string& path, const bytes& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

// --- rwkv.cpp ----------------------------------------------------------------------------------

bytes write_rwkvcpp(const rwkvcpp_image& image) {
  bytes b;
  for (std::uint32_t v : {0x67676d66u, image.version, image.n_vocab, image.n_embed, image.n_layer, image.data_type}) put(b, v);
  for (const auto& t : image.tensors) {
    put(b, static_cast<std::uint32_t>(t.ne.size()));
    put(b, static_cast<std::uint32_t>(t.name.size()));
    put(b, t.type);
    for (auto d : t.ne) put(b, d);
    b.insert(b.end(), t.name.begin(), t.name.end());
    b.insert(b.end(), t.data.begin(), t.data.end());
  }
  return b;
}

std::uint32_t rwkvcpp_type_code(kernels::dtype t) {
  switch (t) {
    case kernels::dtype::f32: return 0;
    case kernels::dtype::f16: return 1;
    case kernels::dtype::q4_0: return 2;
    case kernels::dtype::q4_1: return 3;
    case kernels::dtype::q5_0: return 7;
    case kernels::dtype::q5_1: return 8;
    case kernels::dtype::q8_0: return 9;
    default: FAIL("no rwkv.cpp type for this dtype"); return 0;
  }
}

static kernels::dtype dtype_of_code(std::uint32_t c) {
  switch (c) {
    case 0: return kernels::dtype::f32;
    case 1: return kernels::dtype::f16;
    case 2: return kernels::dtype::q4_0;
    case 3: return kernels::dtype::q4_1;
    case 7: return kernels::dtype::q5_0;
    case 8: return kernels::dtype::q5_1;
    case 9: return kernels::dtype::q8_0;
  }
  FAIL("unknown rwkv.cpp type");
  return kernels::dtype::f32;
}

rwkvcpp_image parse_rwkvcpp(const bytes& file) {
  rwkvcpp_image img;
  std::size_t at = 0;
  REQUIRE(get<std::uint32_t>(file, at) == 0x67676d66u);
  img.version = get<std::uint32_t>(file, at);
  img.n_vocab = get<std::uint32_t>(file, at);
  img.n_embed = get<std::uint32_t>(file, at);
  img.n_layer = get<std::uint32_t>(file, at);
  img.data_type = get<std::uint32_t>(file, at);
  while (at < file.size()) {
    rwkvcpp_tensor t;
    const auto dims = get<std::uint32_t>(file, at);
    const auto key = get<std::uint32_t>(file, at);
    t.type = get<std::uint32_t>(file, at);
    std::int64_t n = 1;
    for (std::uint32_t i = 0; i < dims; ++i) {
      t.ne.push_back(get<std::uint32_t>(file, at));
      n *= t.ne.back();
    }
    REQUIRE(at + key <= file.size());
    t.name.assign(reinterpret_cast<const char*>(file.data() + at), key);
    at += key;
    const auto size = static_cast<std::size_t>(kernels::dtype_row_bytes(dtype_of_code(t.type), t.ne[0]) * (n / t.ne[0]));
    REQUIRE(at + size <= file.size());
    t.data.assign(file.begin() + static_cast<std::ptrdiff_t>(at), file.begin() + static_cast<std::ptrdiff_t>(at + size));
    at += size;
    img.tensors.push_back(std::move(t));
  }
  return img;
}

rwkvcpp_image quantize_rwkvcpp(const rwkvcpp_image& in, kernels::dtype type, bool all_2d) {
  rwkvcpp_image out = in;
  out.version = 101;
  out.data_type = rwkvcpp_type_code(type);
  for (auto& t : out.tensors) {
    if (t.ne.size() != 2 || (t.type != 0 && t.type != 1) || t.name == "emb.weight" || t.name == "head.weight") continue;
    if (!all_2d && !ends_with(t.name, ".weight")) continue;
    engine::tensor view;
    view.type = dtype_of_code(t.type);
    view.shape = {t.ne[1], t.ne[0]};
    view.data = t.data.data();
    view.nbytes = t.data.size();
    t.data = encode(values_of(view), type, t.ne[0]);
    t.type = rwkvcpp_type_code(type);
  }
  return out;
}

rwkvcpp_image rwkvcpp_from_blinkdl(const engine::tensor_store& s, bool fp16) {
  rwkvcpp_image img;
  const auto& emb = *s.find("emb.weight");
  img.n_vocab = static_cast<std::uint32_t>(emb.shape[0]);
  img.n_embed = static_cast<std::uint32_t>(emb.shape[1]);
  img.data_type = fp16 ? 1 : 0;
  const bool v7 = s.contains("blocks.0.att.r_k"), v6 = s.contains("blocks.0.att.time_maa_x");
  const bool v5 = s.contains("blocks.0.att.ln_x.weight"), v5_2 = s.contains("blocks.0.att.time_faaaa");
  std::uint32_t layers = 0;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, std::vector<float> v) {
    if (name.find(".time_") != std::string::npos) {  // squeeze
      std::vector<std::int64_t> kept;
      for (auto d : shape)
        if (d != 1) kept.push_back(d);
      shape = kept.empty() ? std::vector<std::int64_t>{1} : kept;
    }
    std::int64_t big = 0;
    for (auto d : shape) big += d > 1;
    const bool half = fp16 && big >= 2 && name.find(".time_") == std::string::npos;
    rwkvcpp_tensor t;
    t.name = name;
    t.type = half ? 1 : 0;
    t.ne.assign(shape.rbegin(), shape.rend());
    t.data = encode(v, half ? kernels::dtype::f16 : kernels::dtype::f32, shape.back());
    img.tensors.push_back(std::move(t));
  };
  std::map<std::string, std::vector<float>> x_parts;
  for (const auto& [name, t] : s.tensors()) {
    if (name.rfind("blocks.", 0) == 0) layers = std::max(layers, static_cast<std::uint32_t>(std::stoul(name.substr(7)) + 1));
    auto v = values_of(t);
    auto shape = t.shape;
    if (v7) {
      if (name.find(".att.x_") != std::string::npos) {
        x_parts[name] = std::move(v);
        continue;
      }
      if (name.rfind("blocks.0.att.v", 0) == 0 && (ends_with(name, "v0") || ends_with(name, "v1") || ends_with(name, "v2")))
        continue;  // rwkv.cpp has no value residual on layer 0
      for (const char* l : {".att.w1", ".att.w2", ".att.a1", ".att.a2", ".att.v1", ".att.v2", ".att.g1", ".att.g2"})
        if (ends_with(name, l)) {
          v = transpose(v, shape[0], shape[1]);
          std::swap(shape[0], shape[1]);
        }
    } else if (v6) {
      if (ends_with(name, ".time_faaaa")) {  // squeeze, then unsqueeze(-1): [H, N, 1]
        rwkvcpp_tensor t2;
        t2.name = name;
        t2.ne = {1, static_cast<std::uint32_t>(shape[1]), static_cast<std::uint32_t>(shape[0])};
        t2.data = encode(v, kernels::dtype::f32, 1);
        img.tensors.push_back(std::move(t2));
        continue;
      }
      if (ends_with(name, ".time_maa_w1") || ends_with(name, ".time_decay_w1") || ends_with(name, ".time_decay_w2")) {
        v = transpose(v, shape[0], shape[1]);
        std::swap(shape[0], shape[1]);
      }
      if (ends_with(name, ".time_maa_w2")) {
        const auto a = shape[0], b = shape[1], c = shape[2];
        std::vector<float> o(v.size());
        for (std::int64_t i = 0; i < a; ++i)
          for (std::int64_t j = 0; j < b; ++j)
            for (std::int64_t k = 0; k < c; ++k) o[static_cast<std::size_t>((i * c + k) * b + j)] = v[static_cast<std::size_t>((i * b + j) * c + k)];
        v = std::move(o);
        shape = {a, c, b};
      }
    } else if (v5) {
      const bool first = ends_with(name, ".time_first");  // 5.0: the bonus exp(time_first), [H,1,1]
      if (ends_with(name, ".time_decay") || first) {
        for (float& x : v) x = first ? std::exp(x) : std::exp(-std::exp(x));
        shape = v5_2 ? std::vector<std::int64_t>{shape[0], shape[1], 1} : std::vector<std::int64_t>{shape[0], 1, 1};
        rwkvcpp_tensor t2;  // reshape after squeeze, as the converter does: bypass the squeeze
        t2.name = name;
        t2.type = 0;
        t2.ne.assign(shape.rbegin(), shape.rend());
        t2.data = encode(v, kernels::dtype::f32, shape.back());
        img.tensors.push_back(std::move(t2));
        continue;
      }
      if (ends_with(name, ".time_faaaa")) {
        rwkvcpp_tensor t2;
        t2.name = name;
        t2.ne = {1, static_cast<std::uint32_t>(shape[1]), static_cast<std::uint32_t>(shape[0])};
        t2.data = encode(v, kernels::dtype::f32, 1);
        img.tensors.push_back(std::move(t2));
        continue;
      }
    } else if (ends_with(name, ".time_decay")) {
      for (float& x : v) x = -std::exp(x);
    }
    add(name, shape, std::move(v));
  }
  for (std::uint32_t i = 0; v7 && i < layers; ++i) {
    const std::string p = "blocks." + std::to_string(i) + ".att.x_";
    std::vector<float> all;
    for (const char* part : {"r", "w", "k", "v", "a", "g"}) {
      const auto& x = x_parts.at(p + part);
      all.insert(all.end(), x.begin(), x.end());
    }
    rwkvcpp_tensor t;
    t.name = p + "rwkvag";
    t.ne = {img.n_embed, 1, 6};
    t.data = encode(all, kernels::dtype::f32, img.n_embed);
    img.tensors.push_back(std::move(t));
  }
  img.n_layer = layers;
  return img;
}

// --- GGUF --------------------------------------------------------------------------------------

gguf_builder& gguf_builder::u32(const std::string& key, std::uint32_t v) {
  bytes value;
  put(value, v);
  return raw_kv(key, 4, value);
}

gguf_builder& gguf_builder::str(const std::string& key, const std::string& v) {
  bytes value;
  put_string(value, v);
  return raw_kv(key, 8, value);
}

gguf_builder& gguf_builder::strings(const std::string& key, const std::vector<std::string>& v) {
  bytes value;
  put<std::uint32_t>(value, 8);
  put<std::uint64_t>(value, v.size());
  for (const auto& s : v) put_string(value, s);
  return raw_kv(key, 9, value);
}

gguf_builder& gguf_builder::raw_kv(const std::string& key, std::uint32_t type, const bytes& value) {
  put_string(kv_, key);
  put(kv_, type);
  kv_.insert(kv_.end(), value.begin(), value.end());
  ++n_kv_;
  return *this;
}

gguf_builder& gguf_builder::tensor(const std::string& name, std::uint32_t ggml_type, std::vector<std::uint64_t> ne,
                                   const bytes& data, std::int64_t offset) {
  tensors_.push_back({name, ggml_type, std::move(ne), data, offset});
  return *this;
}

bytes gguf_builder::build(std::uint32_t version, std::uint32_t alignment, std::int64_t tensor_count,
                          std::int64_t kv_count) const {
  bytes b = {'G', 'G', 'U', 'F'};
  put(b, version);
  put<std::uint64_t>(b, tensor_count < 0 ? tensors_.size() : static_cast<std::uint64_t>(tensor_count));
  put<std::uint64_t>(b, kv_count < 0 ? n_kv_ : static_cast<std::uint64_t>(kv_count));
  b.insert(b.end(), kv_.begin(), kv_.end());
  std::vector<std::uint64_t> offsets;
  std::uint64_t next = 0;
  for (const auto& t : tensors_) {
    const std::uint64_t off = t.offset >= 0 ? static_cast<std::uint64_t>(t.offset) : next;
    offsets.push_back(off);
    next = (std::max(next, off + t.data.size()) + alignment - 1) / alignment * alignment;
    put_string(b, t.name);
    put<std::uint32_t>(b, static_cast<std::uint32_t>(t.ne.size()));
    for (auto d : t.ne) put(b, d);
    put(b, t.type);
    put(b, off);
  }
  while (b.size() % alignment) b.push_back(0);
  const std::size_t data_start = b.size();
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const std::size_t at = data_start + static_cast<std::size_t>(offsets[i]);
    if (b.size() < at + tensors_[i].data.size()) b.resize(at + tensors_[i].data.size());
    if (!tensors_[i].data.empty()) std::memcpy(b.data() + at, tensors_[i].data.data(), tensors_[i].data.size());
  }
  return b;
}

// --- safetensors -------------------------------------------------------------------------------

bytes safetensors_image(const std::string& header_json, const bytes& data) {
  bytes b(8 + header_json.size() + data.size());
  const std::uint64_t n = header_json.size();
  for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(n >> (8 * i));  // little-endian
  std::copy(header_json.begin(), header_json.end(), b.begin() + 8);
  std::copy(data.begin(), data.end(), b.begin() + 8 + static_cast<std::ptrdiff_t>(header_json.size()));
  return b;
}

}  // namespace rwkv::test
