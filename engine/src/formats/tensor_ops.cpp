#include "formats/tensor_ops.hpp"

#include "engine/error.hpp"
#include "kernels/quant.hpp"

#include <cmath>
#include <cstring>
#include <sstream>

namespace rwkv::engine::formats {

namespace {

constexpr std::int64_t max_elements = std::int64_t{1} << 62;

}  // namespace

std::optional<std::int64_t> checked_numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > max_elements / d) return std::nullopt;
    n *= d;
  }
  return n;
}

std::optional<std::uint64_t> checked_nbytes(kernels::dtype type, const std::vector<std::int64_t>& shape) {
  auto n = checked_numel(shape);
  if (!n) return std::nullopt;
  const std::int64_t inner = shape.empty() ? 1 : shape.back();
  const std::int64_t row = kernels::dtype_row_bytes(type, inner);
  if (row < 0) return std::nullopt;
  const std::int64_t rows = inner == 0 ? 0 : *n / inner;
  if (row != 0 && rows > max_elements / row) return std::nullopt;
  return static_cast<std::uint64_t>(row * rows);
}

tensor reshaped(const tensor& t, std::vector<std::int64_t> shape) {
  tensor out = t;
  out.shape = std::move(shape);
  return out;
}

tensor outer_slice(const tensor& t, std::int64_t first, std::int64_t count) {
  tensor out = t;
  const std::int64_t outer = t.shape.empty() ? 1 : t.shape.front();
  const std::size_t per = outer == 0 ? 0 : t.nbytes / static_cast<std::size_t>(outer);
  out.shape.front() = count;
  out.data = static_cast<const std::uint8_t*>(t.data) + static_cast<std::size_t>(first) * per;
  out.nbytes = static_cast<std::size_t>(count) * per;
  return out;
}

std::vector<float> to_f32(const tensor& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  const std::int64_t inner = t.row_length();
  if (inner == 0) return out;
  const std::int64_t row_bytes = kernels::dtype_row_bytes(t.type, inner);
  const auto* src = static_cast<const std::uint8_t*>(t.data);
  std::vector<std::uint32_t> aligned;  // the dequantizers read through typed pointers
  if (reinterpret_cast<std::uintptr_t>(src) % 4 != 0) {
    aligned.resize((t.nbytes + 3) / 4);
    std::memcpy(aligned.data(), src, t.nbytes);
    src = reinterpret_cast<const std::uint8_t*>(aligned.data());
  }
  for (std::int64_t r = 0; r * inner < t.numel(); ++r)
    kernels::dequantize_row(t.type, src + r * row_bytes, out.data() + r * inner, inner);
  if (t.transposed) return transpose(out, t.shape[1], t.shape[0]);
  return out;
}

tensor transposed_view(const tensor& t) {
  tensor out = t;
  out.shape = {t.shape[1], t.shape[0]};
  out.transposed = !t.transposed;
  return out;
}

bool is_v7_lora(std::string_view name) {
  for (std::string_view s : {".att.w1", ".att.w2", ".att.a1", ".att.a2", ".att.v1", ".att.v2", ".att.g1", ".att.g2"})
    if (name.ends_with(s)) return true;
  return false;
}

std::vector<float> transpose(const std::vector<float>& v, std::int64_t rows, std::int64_t cols) {
  std::vector<float> out(v.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      out[static_cast<std::size_t>(c * rows + r)] = v[static_cast<std::size_t>(r * cols + c)];
  return out;
}

std::vector<float> swap_last_two(const std::vector<float>& v, std::int64_t a, std::int64_t b, std::int64_t c) {
  std::vector<float> out(v.size());
  for (std::int64_t i = 0; i < a; ++i)
    for (std::int64_t j = 0; j < b; ++j)
      for (std::int64_t k = 0; k < c; ++k)
        out[static_cast<std::size_t>((i * c + k) * b + j)] = v[static_cast<std::size_t>((i * b + j) * c + k)];
  return out;
}

namespace {

std::uint16_t scale_half(std::uint16_t h, float factor) { return kernels::f32_to_f16(kernels::f16_to_f32(h) * factor); }

template <class Block, class Fn>
void for_blocks(std::vector<std::uint8_t>& bytes, Fn fn) {
  for (std::size_t at = 0; at + sizeof(Block) <= bytes.size(); at += sizeof(Block)) {
    Block b;
    std::memcpy(&b, bytes.data() + at, sizeof b);
    fn(b);
    std::memcpy(bytes.data() + at, &b, sizeof b);
  }
}

}  // namespace

std::vector<std::uint8_t> scaled_by_power_of_two(const tensor& t, int exponent) {
  using kernels::dtype;
  const float f = std::ldexp(1.0f, exponent);
  const auto* src = static_cast<const std::uint8_t*>(t.data);
  std::vector<std::uint8_t> out(src, src + t.nbytes);
  switch (t.type) {
    case dtype::f32:
      for (std::size_t i = 0; i + 4 <= out.size(); i += 4) {
        float v;
        std::memcpy(&v, out.data() + i, 4);
        v *= f;
        std::memcpy(out.data() + i, &v, 4);
      }
      break;
    case dtype::f16:
    case dtype::bf16:
      for (std::size_t i = 0; i + 2 <= out.size(); i += 2) {
        std::uint16_t h;
        std::memcpy(&h, out.data() + i, 2);
        h = t.type == dtype::f16 ? scale_half(h, f) : kernels::f32_to_bf16(kernels::bf16_to_f32(h) * f);
        std::memcpy(out.data() + i, &h, 2);
      }
      break;
    case dtype::q8_0: for_blocks<kernels::block_q8_0>(out, [&](auto& b) { b.d = scale_half(b.d, f); }); break;
    case dtype::q4_0: for_blocks<kernels::block_q4_0>(out, [&](auto& b) { b.d = scale_half(b.d, f); }); break;
    case dtype::q5_0: for_blocks<kernels::block_q5_0>(out, [&](auto& b) { b.d = scale_half(b.d, f); }); break;
    case dtype::q4_1:
      for_blocks<kernels::block_q4_1>(out, [&](auto& b) { b.d = scale_half(b.d, f), b.m = scale_half(b.m, f); });
      break;
    case dtype::q5_1:
      for_blocks<kernels::block_q5_1>(out, [&](auto& b) { b.d = scale_half(b.d, f), b.m = scale_half(b.m, f); });
      break;
    case dtype::q4_k:
      for_blocks<kernels::block_q4_k>(out, [&](auto& b) { b.d = scale_half(b.d, f), b.dmin = scale_half(b.dmin, f); });
      break;
    case dtype::q5_k:
      for_blocks<kernels::block_q5_k>(out, [&](auto& b) { b.d = scale_half(b.d, f), b.dmin = scale_half(b.dmin, f); });
      break;
    case dtype::q6_k: for_blocks<kernels::block_q6_k>(out, [&](auto& b) { b.d = scale_half(b.d, f); }); break;
  }
  return out;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

}  // namespace rwkv::engine::formats
