#include "engine/tensor_store.hpp"

#include "engine/error.hpp"
#include "formats/tensor_ops.hpp"

#include <sstream>

namespace rwkv::engine {

std::int64_t tensor::numel() const noexcept {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::int64_t tensor::row_length() const noexcept {
  if (transposed && shape.size() == 2) return shape[0];
  return shape.empty() ? 1 : shape.back();
}

std::string tensor::shape_string() const {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

void tensor_store::add(const std::string& name, tensor t) {
  if (tensors_.count(name)) throw error(errc::bad_format, "tensor '" + name + "' appears twice in " + source);
  for (auto d : t.shape)
    if (d < 0) throw error(errc::bad_format, "tensor '" + name + "' has a negative dimension in " + source);
  if (t.transposed && t.shape.size() != 2)
    throw error(errc::bad_format, "tensor '" + name + "' is marked transposed but is not a matrix in " + source);
  std::int64_t n = t.numel();
  std::int64_t inner = t.row_length();
  std::int64_t row = kernels::dtype_row_bytes(t.type, inner);
  if (row < 0)
    throw error(errc::bad_format, "tensor '" + name + "' " + t.shape_string() + " does not fit the block size of " +
                                      std::string(kernels::dtype_name(t.type)));
  std::int64_t rows = inner == 0 ? 0 : n / inner;
  if (static_cast<std::size_t>(row * rows) != t.nbytes)
    throw error(errc::bad_format, "tensor '" + name + "' " + t.shape_string() + " of type " +
                                      std::string(kernels::dtype_name(t.type)) + " should hold " +
                                      std::to_string(row * rows) + " bytes but has " + std::to_string(t.nbytes));
  // Kernels read elements (and the fp16 fields of blocks) through typed pointers: a tensor that a
  // file places at an address unaligned for its type (rwkv.cpp records, GGUF with a small
  // general.alignment) is copied rather than borrowed.
  const std::size_t align = t.type == kernels::dtype::f32 ? 4 : 2;
  if (t.nbytes > 0 && reinterpret_cast<std::uintptr_t>(t.data) % align != 0) {
    auto* p = static_cast<const std::uint8_t*>(t.data);
    auto copy = std::make_shared<std::vector<std::uint8_t>>(p, p + t.nbytes);
    t.data = copy->data();
    keep_alive(copy);
  }
  tensors_.emplace(name, std::move(t));
}

void tensor_store::add_owned(const std::string& name, kernels::dtype type, std::vector<std::int64_t> shape,
                             std::vector<std::uint8_t> bytes) {
  auto owned = std::make_shared<std::vector<std::uint8_t>>(std::move(bytes));
  tensor t;
  t.type = type;
  t.shape = std::move(shape);
  t.data = owned->data();
  t.nbytes = owned->size();
  add(name, std::move(t));
  keep_alive(owned);
}

void tensor_store::add_owned_f32(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> values) {
  auto owned = std::make_shared<std::vector<float>>(std::move(values));
  tensor t;
  t.type = kernels::dtype::f32;
  t.shape = std::move(shape);
  t.data = owned->data();
  t.nbytes = owned->size() * sizeof(float);
  add(name, std::move(t));
  keep_alive(owned);
}

const tensor* tensor_store::find(const std::string& name) const noexcept {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void tensor_store::release_pages(const void* p, std::size_t n) const noexcept {
  for (const auto& m : mappings_) m->release(p, n);
}

std::vector<float> tensor_store::to_f32(const std::string& name) const {
  const tensor* t = find(name);
  if (!t) throw error(errc::bad_model, "tensor '" + name + "' is missing from " + source);
  return formats::to_f32(*t);
}

}  // namespace rwkv::engine
