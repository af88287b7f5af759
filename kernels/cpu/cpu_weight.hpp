// The CPU backend's weight matrices: which bytes, in which layout, and who owns them.
//
// Plain types (f32, bf16, f16) and ggml block formats are used as stored, borrowing the caller's
// (usually memory-mapped) bytes, whenever the stored type is the type computed with. Conversions
// asked for at load (`--dtype`) produce owned memory. The 8/5/4-bit formats the kernels run
// natively (q8_0, q5_0, q4_0) are kept in a row layout of our own that carries exactly the ggml
// information (fp16 scale per 32 values, same quant values) but suits the int8 dot instruction:
//
//   q8: per row  [cols bytes: u = q + 128]                      [cols/32 fp16 scales]
//   q4: per row  [cols/2 bytes of nibbles u = q + 8]            [cols/32 fp16 scales]
//   q5: per row  [cols/2 bytes of low nibbles][cols/8 bytes: fifth bits]  [cols/32 fp16 scales]
//
// so that w = d * (u - zero_point) with u unsigned: the VNNI dot (unsigned x signed bytes) takes
// u as is and the zero point becomes a per-block correction on the activation side (its sum),
// which costs nothing per weight. Nibbles come in units of 64 columns: byte i holds column i in
// its low and column 32 + i in its high nibble (a trailing unit of 32 columns: i and 16 + i), so
// one 32-byte load unpacks to 64 consecutive columns. The fifth bits: bit c of the plane is
// column c. Rows are stored back to back; buffers have 64 bytes of slack so vector loads may
// overrun the last row.
#pragma once

#include "kernels/backend.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>

namespace rwkv::kernels::cpu {

enum class layout : std::uint8_t { f32, bf16, f16, q8, q4, q5, ggml };

// 64-byte aligned bytes with 64 bytes of slack after the end.
class aligned_bytes {
 public:
  aligned_bytes() = default;
  explicit aligned_bytes(std::size_t n);
  std::uint8_t* data() const noexcept { return p_.get(); }
  std::size_t size() const noexcept { return n_; }
  // Grows to at least n bytes (contents not kept); for scratch sized at first use.
  void reserve(std::size_t n);

 private:
  struct deleter {
    void operator()(std::uint8_t* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<std::uint8_t[], deleter> p_;
  std::size_t n_ = 0;
};

class cpu_weight final : public weight {
 public:
  // The weight for `m` encoded as `want` (a conversion when it differs from m.type). In fast
  // precision fp16 becomes bf16: the bf16 dot instruction then serves prefill, and rounding the
  // weights to bf16 costs no more than the bf16 rounding fast mode applies to activations anyway.
  // `parallel_rows(n, fn)` runs fn(r0, r1) over row ranges (the backend's thread pool).
  template <class ParallelRows>
  static std::unique_ptr<cpu_weight> make(const matrix& m, dtype want, bool fast, ParallelRows&& parallel_rows);

  dtype type() const noexcept override { return type_; }
  std::int64_t rows() const noexcept override { return rows_; }
  std::int64_t cols() const noexcept override { return cols_; }
  std::size_t owned_bytes() const noexcept override { return owned_.size(); }
  std::size_t bytes_per_pass() const noexcept override { return static_cast<std::size_t>(row_bytes_ * rows_); }

  layout lay() const noexcept { return lay_; }
  const std::uint8_t* row(std::int64_t r) const noexcept { return data_ + r * row_bytes_; }
  std::int64_t row_bytes() const noexcept { return row_bytes_; }
  // Planar quantized layouts: blocks of 32 per row, where the scales and fifth bits start, and
  // the zero point u - zp = q.
  std::int64_t blocks() const noexcept { return cols_ / 32; }
  std::int64_t scale_offset() const noexcept { return scale_offset_; }
  std::int64_t hi_offset() const noexcept { return hi_offset_; }
  int zero_point() const noexcept { return zero_point_; }
  const std::uint16_t* scales(std::int64_t r) const noexcept {
    return reinterpret_cast<const std::uint16_t*>(row(r) + scale_offset_);
  }

  // Row r as fp32 (any layout). Used by exact-precision paths that dequantize once per row.
  void decode_row(std::int64_t r, float* out) const noexcept;

 private:
  cpu_weight() = default;
  void init_layout(dtype t, std::int64_t rows, std::int64_t cols);
  // Fills rows [r0, r1) of the owned planar layout from a ggml-encoded row-major source.
  void repack_rows(const std::uint8_t* ggml, std::int64_t ggml_row_bytes, std::int64_t r0, std::int64_t r1) noexcept;

  dtype type_ = dtype::f32;
  layout lay_ = layout::f32;
  std::int64_t rows_ = 0, cols_ = 0;
  const std::uint8_t* data_ = nullptr;
  std::int64_t row_bytes_ = 0;
  std::int64_t scale_offset_ = 0, hi_offset_ = 0;
  int zero_point_ = 0;
  aligned_bytes owned_;

  friend struct weight_builder;
};

// Builds cpu_weights (kept out of the header template's way: defined in cpu_weight.cpp).
struct weight_builder {
  static dtype target(const matrix& m, dtype want, bool fast) noexcept;
  static std::unique_ptr<cpu_weight> start(const matrix& m, dtype target);
  // Converts/repacks rows [r0, r1) of `m` into `w` (no-op for borrowed weights).
  static void fill(cpu_weight& w, const matrix& m, std::int64_t r0, std::int64_t r1) noexcept;
};

template <class ParallelRows>
std::unique_ptr<cpu_weight> cpu_weight::make(const matrix& m, dtype want, bool fast, ParallelRows&& parallel_rows) {
  auto w = weight_builder::start(m, weight_builder::target(m, want, fast));
  if (w->owned_.size()) parallel_rows(m.rows, [&](std::int64_t r0, std::int64_t r1) { weight_builder::fill(*w, m, r0, r1); });
  return w;
}

}  // namespace rwkv::kernels::cpu
