// engine::write_model: the format dispatch, and the pieces every writer shares.
#include "engine/convert.hpp"

#include "engine/error.hpp"
#include "formats/tensor_ops.hpp"
#include "formats/writers.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rwkv::engine {

namespace formats {

std::uint64_t planned_tensor::nbytes() const {
  const auto n = checked_nbytes(type, shape);
  if (!n) throw error(errc::bad_argument, "tensor " + name + " " + shape_text(shape) + " cannot be stored as " +
                                              std::string(kernels::dtype_name(type)));
  return *n;
}

std::vector<std::uint8_t> planned_tensor::encode() const {
  if (as_stored) {
    const auto* p = static_cast<const std::uint8_t*>(as_stored->data);
    return std::vector<std::uint8_t>(p, p + as_stored->nbytes);
  }
  const std::vector<float> v = values();
  std::vector<std::uint8_t> out(static_cast<std::size_t>(nbytes()));
  const std::int64_t inner = shape.empty() ? 1 : shape.back();
  if (inner <= 0) return out;
  const std::int64_t row_bytes = kernels::dtype_row_bytes(type, inner), rows = static_cast<std::int64_t>(v.size()) / inner;
  // Rows in parallel: the K-quants' scale searches encode about 10-16 M values per second and thread.
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, std::max<std::int64_t>(1, 16384 / inner)),
                    [&](const tbb::blocked_range<std::int64_t>& range) {
                      for (std::int64_t r = range.begin(); r < range.end(); ++r)
                        kernels::quantize_row(type, v.data() + r * inner, out.data() + r * row_bytes, inner);
                    });
  return out;
}

output_file::output_file(const std::string& path) : path_(path), partial_(path + ".partial") {
  f_ = std::fopen(partial_.c_str(), "wb");
  if (!f_) throw error(errc::io, "cannot create '" + partial_ + "': " + std::strerror(errno));
}

output_file::~output_file() {
  if (f_) {
    std::fclose(f_);
    std::remove(partial_.c_str());
  }
}

void output_file::write(const void* data, std::size_t n) {
  if (n && std::fwrite(data, 1, n, f_) != n) throw error(errc::io, "cannot write '" + partial_ + "': " + std::strerror(errno));
  size_ += n;
}

void output_file::pad_to(std::uint64_t alignment) {
  static const std::uint8_t zeros[64] = {};
  while (size_ % alignment != 0) write(zeros, static_cast<std::size_t>(std::min<std::uint64_t>(alignment - size_ % alignment, 64)));
}

void output_file::commit() {
  const bool ok = std::fflush(f_) == 0 && std::fclose(f_) == 0;
  f_ = nullptr;
  if (!ok || std::rename(partial_.c_str(), path_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(partial_.c_str());
    throw error(errc::io, "cannot write '" + path_ + "': " + reason);
  }
}

}  // namespace formats

convert_summary write_model(const tensor_store& source, const std::string& path, const convert_options& options) {
  using kernels::dtype;
  if (options.format == output_format::safetensors) {
    for (dtype t : {options.dtype, options.head_dtype.value_or(dtype::f32)})
      if (kernels::dtype_is_quantized(t))
        throw error(errc::bad_argument, "safetensors holds f32, f16 and bf16 weights; write GGUF for " +
                                            std::string(kernels::dtype_name(t)));
    return formats::write_safetensors(source, path, options);
  }
  return formats::write_gguf(source, path, options);
}

}  // namespace rwkv::engine
