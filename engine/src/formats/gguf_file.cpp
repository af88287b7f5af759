#include "formats/gguf_file.hpp"

#include "engine/error.hpp"
#include "formats/byte_cursor.hpp"
#include "formats/tensor_ops.hpp"

#include <algorithm>
#include <set>

namespace rwkv::engine::formats {

namespace {

constexpr std::uint64_t max_key_length = 65535;    // as ggml's gguf.cpp
constexpr std::uint64_t max_name_length = 256;     // ggml allows 63; leave room, refuse nonsense
constexpr std::uint32_t max_dims = 4;              // GGML_MAX_DIMS

std::size_t scalar_size(gguf_type t) {
  switch (t) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::boolean: return 1;
    case gguf_type::u16:
    case gguf_type::i16: return 2;
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::f32: return 4;
    case gguf_type::u64:
    case gguf_type::i64:
    case gguf_type::f64: return 8;
    case gguf_type::string: return 8;  // at least its length
    case gguf_type::array: return 12;  // at least its element type and count
  }
  return 0;
}

bool valid_type(std::uint32_t t) { return t <= 12; }

class gguf_parser {
 public:
  gguf_parser(std::span<const std::uint8_t> bytes, const std::string& source) : in_(bytes, source), base_(bytes.data()) {}

  gguf_file parse() {
    gguf_file f;
    if (in_.read_text(4, "the magic") != "GGUF") in_.fail("not a GGUF file");
    f.version = in_.read<std::uint32_t>("the version");
    if (f.version == 0x02000000u || f.version == 0x03000000u)
      throw error(errc::unsupported, "'" + in_.source() + "' is a big-endian GGUF file; rwkv-lsp reads little-endian GGUF");
    if (f.version == 1)
      throw error(errc::unsupported, "'" + in_.source() + "' is a GGUF v1 file (2023); re-convert it with a current llama.cpp");
    if (f.version != 2 && f.version != 3)
      throw error(errc::unsupported, "'" + in_.source() + "' is GGUF version " + std::to_string(f.version) +
                                         "; rwkv-lsp reads versions 2 and 3");
    const auto n_tensors = in_.read<std::uint64_t>("the tensor count");
    const auto n_kv = in_.read<std::uint64_t>("the key/value count");
    in_.check_count(n_kv, 13, "key/value pairs");
    in_.check_count(n_tensors, 32, "tensors");

    for (std::uint64_t i = 0; i < n_kv; ++i) {
      std::string key(read_string("a metadata key", max_key_length));
      const auto type = in_.read<std::uint32_t>("a metadata value type");
      if (!valid_type(type)) in_.fail("metadata '" + key + "' has unknown value type " + std::to_string(type));
      gguf_value v = read_value(static_cast<gguf_type>(type), key);
      if (!f.kv.emplace(std::move(key), std::move(v)).second) in_.fail("a metadata key appears twice");
    }

    if (const gguf_value* a = f.find("general.alignment")) {
      if (a->type != gguf_type::u32 || a->integer <= 0 || (a->integer & (a->integer - 1)) != 0 || a->integer > (1 << 20))
        in_.fail("general.alignment must be a u32 power of two, is " + std::to_string(a->integer));
      f.alignment = static_cast<std::uint32_t>(a->integer);
    }

    f.tensors.reserve(static_cast<std::size_t>(n_tensors));
    for (std::uint64_t i = 0; i < n_tensors; ++i) f.tensors.push_back(read_tensor_info(f.alignment));

    const std::uint64_t end_of_infos = in_.pos();
    f.data_offset = (end_of_infos + f.alignment - 1) / f.alignment * f.alignment;
    const std::uint64_t file_size = in_.size();
    if (!f.tensors.empty() && f.data_offset > file_size)
      in_.fail("the data section would start at " + std::to_string(f.data_offset) + ", past the end of the file");
    const std::uint64_t data_size = f.data_offset <= file_size ? file_size - f.data_offset : 0;

    std::vector<const gguf_tensor_info*> by_offset;
    for (auto& t : f.tensors) {
      if (t.offset > data_size || t.nbytes > data_size - t.offset)
        in_.fail("tensor '" + t.name + "' (" + std::to_string(t.nbytes) + " bytes at data offset " +
                 std::to_string(t.offset) + ") reaches past the end of the file");
      t.data = base_ + f.data_offset + t.offset;
      by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < by_offset.size(); ++i)
      if (by_offset[i - 1]->offset + by_offset[i - 1]->nbytes > by_offset[i]->offset)
        in_.fail("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
    return f;
  }

 private:
  std::string_view read_string(const char* what, std::uint64_t max_length) {
    const auto n = in_.read<std::uint64_t>(what);
    if (n > max_length) in_.fail(std::string(what) + " is " + std::to_string(n) + " bytes long");
    return in_.read_text(n, what);
  }

  void read_scalar(gguf_type type, gguf_value& v) {
    switch (type) {
      case gguf_type::u8: v.integer = in_.read<std::uint8_t>("a u8"); break;
      case gguf_type::i8: v.integer = in_.read<std::int8_t>("an i8"); break;
      case gguf_type::u16: v.integer = in_.read<std::uint16_t>("a u16"); break;
      case gguf_type::i16: v.integer = in_.read<std::int16_t>("an i16"); break;
      case gguf_type::u32: v.integer = in_.read<std::uint32_t>("a u32"); break;
      case gguf_type::i32: v.integer = in_.read<std::int32_t>("an i32"); break;
      case gguf_type::u64: {
        const auto u = in_.read<std::uint64_t>("a u64");
        v.integer = u > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(u);
        break;
      }
      case gguf_type::i64: v.integer = in_.read<std::int64_t>("an i64"); break;
      case gguf_type::boolean: {
        const auto b = in_.read<std::uint8_t>("a bool");
        if (b > 1) in_.fail("a bool holds " + std::to_string(b));
        v.integer = b;
        break;
      }
      case gguf_type::f32: v.number = in_.read<float>("an f32"); return;
      case gguf_type::f64: v.number = in_.read<double>("an f64"); return;
      default: return;
    }
    v.number = static_cast<double>(v.integer);
  }

  gguf_value read_value(gguf_type type, const std::string& key) {
    gguf_value v;
    v.type = type;
    if (type == gguf_type::string) {
      v.text = read_string("a metadata string", in_.remaining());
    } else if (type == gguf_type::array) {
      const auto element = in_.read<std::uint32_t>("an array element type");
      if (!valid_type(element)) in_.fail("metadata '" + key + "' is an array of unknown type " + std::to_string(element));
      v.element = static_cast<gguf_type>(element);
      if (v.element == gguf_type::array) in_.fail("metadata '" + key + "' nests arrays, which GGUF does not allow");
      v.count = in_.read<std::uint64_t>("an array length");
      in_.check_count(v.count, scalar_size(v.element), "array elements");
      if (v.element == gguf_type::string) {
        v.strings.reserve(static_cast<std::size_t>(v.count));
        for (std::uint64_t i = 0; i < v.count; ++i) v.strings.push_back(read_string("an array string", in_.remaining()));
      } else {
        v.numbers.reserve(static_cast<std::size_t>(v.count));
        for (std::uint64_t i = 0; i < v.count; ++i) {
          gguf_value e;
          read_scalar(v.element, e);
          v.numbers.push_back(e.number);
        }
      }
    } else {
      read_scalar(type, v);
    }
    return v;
  }

  gguf_tensor_info read_tensor_info(std::uint32_t alignment) {
    gguf_tensor_info t;
    t.name = std::string(read_string("a tensor name", max_name_length));
    if (t.name.empty()) in_.fail("a tensor has an empty name");
    if (!names_.insert(t.name).second) in_.fail("tensor '" + t.name + "' appears twice");
    const auto dims = in_.read<std::uint32_t>("a tensor's dimension count");
    if (dims < 1 || dims > max_dims) in_.fail("tensor '" + t.name + "' has " + std::to_string(dims) + " dimensions");
    for (std::uint32_t d = 0; d < dims; ++d) {
      const auto ne = in_.read<std::int64_t>("a tensor dimension");
      if (ne <= 0 || ne > (std::int64_t{1} << 40)) in_.fail("tensor '" + t.name + "' has dimension " + std::to_string(ne));
      t.ne.push_back(ne);
    }
    const auto ggml_type = in_.read<std::uint32_t>("a tensor type");
    const auto type = dtype_from_ggml(ggml_type);
    if (!type)
      throw error(errc::unsupported, "'" + in_.source() + "': tensor '" + t.name + "' is of ggml type " +
                                         ggml_type_name(ggml_type) +
                                         "; rwkv-lsp reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K "
                                         "and Q6_K. Re-quantize the model to one of them");
    t.type = *type;
    t.offset = in_.read<std::uint64_t>("a tensor offset");
    if (t.offset % alignment != 0)
      in_.fail("tensor '" + t.name + "' starts at data offset " + std::to_string(t.offset) + ", not a multiple of the alignment " +
               std::to_string(alignment));
    const std::vector<std::int64_t> shape(t.ne.rbegin(), t.ne.rend());
    const auto nbytes = checked_nbytes(t.type, shape);
    if (!nbytes)
      in_.fail("tensor '" + t.name + "' has rows of " + std::to_string(t.ne[0]) + " values, which do not fit the block size of " +
               ggml_type_name(ggml_type) + " (or its size overflows)");
    t.nbytes = *nbytes;
    return t;
  }

  byte_cursor in_;
  const std::uint8_t* base_ = nullptr;
  std::set<std::string> names_;
};

}  // namespace

bool gguf_value::is_integer() const noexcept {
  switch (type) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::u16:
    case gguf_type::i16:
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::u64:
    case gguf_type::i64: return true;
    default: return false;
  }
}

const gguf_value* gguf_file::find(std::string_view key) const {
  auto it = kv.find(key);
  return it == kv.end() ? nullptr : &it->second;
}

gguf_file parse_gguf(std::span<const std::uint8_t> bytes, const std::string& source) {
  return gguf_parser(bytes, source).parse();
}

std::optional<kernels::dtype> dtype_from_ggml(std::uint32_t t) noexcept {
  using kernels::dtype;
  switch (t) {
    case 0: return dtype::f32;
    case 1: return dtype::f16;
    case 2: return dtype::q4_0;
    case 3: return dtype::q4_1;
    case 6: return dtype::q5_0;
    case 7: return dtype::q5_1;
    case 8: return dtype::q8_0;
    case 12: return dtype::q4_k;
    case 13: return dtype::q5_k;
    case 14: return dtype::q6_k;
    case 30: return dtype::bf16;
    default: return std::nullopt;
  }
}

std::uint32_t ggml_type_of(kernels::dtype t) noexcept {
  using kernels::dtype;
  switch (t) {
    case dtype::f32: return 0;
    case dtype::f16: return 1;
    case dtype::q4_0: return 2;
    case dtype::q4_1: return 3;
    case dtype::q5_0: return 6;
    case dtype::q5_1: return 7;
    case dtype::q8_0: return 8;
    case dtype::q4_k: return 12;
    case dtype::q5_k: return 13;
    case dtype::q6_k: return 14;
    case dtype::bf16: return 30;
  }
  return 0;
}

std::string ggml_type_name(std::uint32_t t) {
  static const char* const names[] = {"F32",     "F16",    "Q4_0",   "Q4_1",   "Q4_2 (removed)", "Q4_3 (removed)",
                                      "Q5_0",    "Q5_1",   "Q8_0",   "Q8_1",   "Q2_K",           "Q3_K",
                                      "Q4_K",    "Q5_K",   "Q6_K",   "Q8_K",   "IQ2_XXS",        "IQ2_XS",
                                      "IQ3_XXS", "IQ1_S",  "IQ4_NL", "IQ3_S",  "IQ2_S",          "IQ4_XS",
                                      "I8",      "I16",    "I32",    "I64",    "F64",            "IQ1_M",
                                      "BF16",    "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",  "TQ2_0"};
  std::string out = t < sizeof names / sizeof names[0] ? names[t] : "#";
  out += t < sizeof names / sizeof names[0] ? " (" : "";
  out += std::to_string(t);
  if (t < sizeof names / sizeof names[0]) out += ')';
  return out;
}

}  // namespace rwkv::engine::formats
