// The CPU backend's weight matrices: which bytes, in which layout, and who owns them.
//
// Plain types (f32, bf16, f16) and ggml block formats are used as stored, borrowing the caller's
// (usually memory-mapped) bytes, whenever the stored type is the type computed with. Conversions
// asked for at load (`--dtype`) produce owned memory. The 8/6/5/4-bit formats the kernels run
// natively (q8_0, Q6_K, q5_0, q4_0) are kept in a row layout of our own that carries exactly the
// ggml information (the same quant values and scales) arranged for the int8 dot instruction
// (vpdpbusd: 16 lanes, each the sum of 4 unsigned x signed byte products). q4_1 and q5_1
// (rwkv.cpp's favourite) use the q4 and q5 layouts with an fp16 minimum per block as well:
//
//  * values are stored unsigned, u = q + zero point (128, 32, 16, 8; 0 for q4_1/q5_1), so
//    w = d * (u - zero point) [+ m]; the zero point and the minimum become per-block corrections
//    from the activation side (the sum of its quants), which cost nothing per weight;
//  * a row's blocks of 32 come in superblocks of 16 (the last may have nbs < 16): within a
//    superblock, "chunk" g (g < 8) holds, for each block l, its values 4g .. 4g+3 as the 4 bytes of
//    lane l. A chunk is nbs * 4 bytes, so eight vpdpbusd leave each block's full sum in its own
//    lane — no reduction across lanes, and sums of 16 rows transpose into vectors over rows cheaply;
//  * q8 and q6: chunks as bytes (superblock = 512 bytes). q4/q5: chunks 2h and 2h+1 share bytes
//    (low and high nibble; superblock = 256 bytes). q5 adds a plane of fifth bits: per superblock
//    a bit stream of chunks, chunk g's bits at g * nbs * 4 (bit = lane byte order), 64 bytes per
//    full superblock;
//  * q6 holds GGUF's Q6_K exactly: its quants (zero point 32), the super-block's fp16 d as every
//    block's scale, and the int8 scales of the two 16-value halves of each block (chunks 0-3 and
//    4-7) in two planes, so w = d * s_half * (u - 32); 9 bits per weight against Q6_K's 6.56.
//
//   per row: [quants: cols (q8, q6) or cols/2 bytes][q5: cols/8 bytes of fifth bits]
//            [cols/32 fp16 scales][q4_1/q5_1: cols/32 fp16 minimums]
//            [q6: cols/32 int8 scales of first halves, cols/32 of second halves]
//
// Rows are stored back to back; buffers have 64 bytes of slack so vector loads may overrun.
//
// bf16 matrices with short rows (at most `column_panel_max_cols` columns: the LoRA second stages,
// 768 or more rows of 32-256 values) are stored by columns instead, in panels of 64 rows: panel p
// holds, for each column k, the bf16 weights of rows 64p .. 64p+63 (128 bytes; rows past the end
// are zero), each 32 of them interleaved as 16 pairs (row i, row i + 16). A product then sums
// x[k] times whole columns into vectors over rows — no per-row reduction, which cost more than the
// reading for rows this short — with fp32 activations; a vector load of pairs widens to fp32 with
// one shift (the first of each pair) and one mask (the second), whatever the vector width.
// fp16 matrices this short keep their fp16 values in fast precision, in the same panels with the
// rows in order (vcvtph2ps widens consecutive values), and their products round the activations
// to fp16 first: what ggml (llama.cpp, rwkv.cpp) computes for fp16 weights. Longer fp16 rows
// become bf16 in fast precision where the bf16 dot instruction exists.
#pragma once

#include "kernels/backend.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>

namespace rwkv::kernels::cpu {

enum class layout : std::uint8_t { f32, bf16, f16, q8, q6, q4, q5, ggml, bf16_columns, f16_columns };

// Column panels (see above): rows per panel, the widest rows stored that way, and where row r of a
// panel sits within each of its columns (bf16: paired; fp16: in order).
constexpr bool is_column_layout(layout l) noexcept { return l == layout::bf16_columns || l == layout::f16_columns; }
constexpr std::int64_t column_panel_rows = 64;
constexpr std::int64_t column_panel_max_cols = 256;
constexpr std::int64_t column_panel_slot(layout l, std::int64_t r) noexcept {
  return l == layout::f16_columns ? r : r / 32 * 32 + r % 16 * 2 + r % 32 / 16;
}

// The layouts the int8 dot kernels read (see above).
constexpr bool is_int8_layout(layout l) noexcept {
  return l == layout::q8 || l == layout::q6 || l == layout::q4 || l == layout::q5;
}
// Layouts of our own, filled by repacking ggml-encoded rows (never borrowed from the file).
constexpr bool is_repacked(layout l) noexcept { return is_int8_layout(l) || is_column_layout(l); }

class weight_pool;

// 64-byte aligned bytes with 64 bytes of slack after the end; from huge_page_bytes on, aligned to
// and advised into 2 MiB pages.
class aligned_bytes {
 public:
  static constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

  aligned_bytes() = default;
  explicit aligned_bytes(std::size_t n);
  std::uint8_t* data() const noexcept { return p_.get(); }
  std::size_t size() const noexcept { return n_; }
  // Grows to at least n bytes (contents not kept; zero-filled unless !zero); for scratch sized at
  // first use. Throws std::bad_alloc.
  void reserve(std::size_t n, bool zero = true);

 private:
  struct deleter {
    void operator()(std::uint8_t* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<std::uint8_t[], deleter> p_;
  std::size_t n_ = 0;
};

// The encodings fast precision may run a weight in, from the kernel table's abilities: fp16 as
// bf16 (a bf16 dot instruction), int8 layouts (an int8 dot instruction), fp16 column panels.
struct fast_encodings {
  bool bf16 = false, int8 = false, f16_panels = false;
};

class cpu_weight final : public weight {
 public:
  // The weight for `m` encoded as `want` (a conversion when it differs from m.type). In fast
  // precision (`fast` says which encodings the kernels run) fp16 becomes bf16: the bf16 dot
  // instruction then serves prefill, and rounding the weights to bf16 costs no more than the bf16
  // rounding fast mode applies to activations anyway; only short rows stay fp16 (f16_columns, see
  // above). And the K-quants run in the int8 layouts:
  // Q6_K exactly (the q6 layout), Q4_K / Q5_K sub-blocks as q4_1 / q5_1 blocks (scale and minimum
  // rounded to fp16, quants unchanged).
  // `parallel_rows(n, fn)` runs fn(r0, r1) over row ranges (the backend's thread pool).
  // Owned bytes come from `pool` (2 MiB pages). With `copy`, a matrix that would be borrowed is
  // copied there too, bytes unchanged: file mappings come in 4 KiB pages (see weight_pool.hpp).
  template <class ParallelRows>
  static std::unique_ptr<cpu_weight> make(const matrix& m, dtype want, fast_encodings fast, bool copy, weight_pool& pool,
                                          ParallelRows&& parallel_rows);

  dtype type() const noexcept override { return type_; }
  std::int64_t rows() const noexcept override { return rows_; }
  std::int64_t cols() const noexcept override { return cols_; }
  std::size_t owned_bytes() const noexcept override { return owned_bytes_; }
  std::size_t bytes_per_pass() const noexcept override { return static_cast<std::size_t>(storage_bytes()); }

  layout lay() const noexcept { return lay_; }
  // Row r's bytes (not for column panels).
  const std::uint8_t* row(std::int64_t r) const noexcept { return data_ + r * row_bytes_; }
  // Column panels: panel p (cols x column_panel_rows values, column by column).
  const std::uint16_t* panel(std::int64_t p) const noexcept {
    return reinterpret_cast<const std::uint16_t*>(data_) + p * cols_ * column_panel_rows;
  }
  std::int64_t row_bytes() const noexcept { return row_bytes_; }
  // Interleaved quantized layouts: blocks of 32 per row, where the scales and fifth bits start,
  // and the zero point (u - zero point = q).
  std::int64_t blocks() const noexcept { return cols_ / 32; }
  std::int64_t scale_offset() const noexcept { return scale_offset_; }
  std::int64_t hi_offset() const noexcept { return hi_offset_; }
  int zero_point() const noexcept { return zero_point_; }
  const std::uint16_t* scales(std::int64_t r) const noexcept {
    return reinterpret_cast<const std::uint16_t*>(row(r) + scale_offset_);
  }
  // q4_1 / q5_1: each block's minimum m (w = d * u + m).
  bool has_mins() const noexcept { return min_offset_ > 0; }
  const std::uint16_t* mins(std::int64_t r) const noexcept {
    return reinterpret_cast<const std::uint16_t*>(row(r) + min_offset_);
  }
  // q6: the int8 scales of each block's first halves ([blocks]), then of its second halves.
  const std::int8_t* half_scales(std::int64_t r) const noexcept {
    return reinterpret_cast<const std::int8_t*>(row(r) + half_offset_);
  }

  // Bytes of the whole layout (column panels pad the last panel).
  std::int64_t storage_bytes() const noexcept;

  // Row r as fp32 (any layout). Used by exact-precision paths that dequantize once per row.
  void decode_row(std::int64_t r, float* out) const noexcept;

 private:
  cpu_weight() = default;
  void init_layout(dtype t, layout l, std::int64_t rows, std::int64_t cols);
  // Fills rows [r0, r1) of a repacked layout from a ggml-encoded (bf16 / fp16 for column panels)
  // row-major source.
  void repack_rows(const std::uint8_t* ggml, std::int64_t ggml_row_bytes, std::int64_t r0, std::int64_t r1) noexcept;

  dtype type_ = dtype::f32;
  layout lay_ = layout::f32;
  std::int64_t rows_ = 0, cols_ = 0;
  const std::uint8_t* data_ = nullptr;
  std::int64_t row_bytes_ = 0;
  std::int64_t scale_offset_ = 0, hi_offset_ = 0, min_offset_ = 0, half_offset_ = 0;
  int zero_point_ = 0;
  std::shared_ptr<void> owned_;  // the pool slab holding data_ when the bytes are ours
  std::size_t owned_bytes_ = 0;

  friend struct weight_builder;
};

// Builds cpu_weights (kept out of the header template's way: defined in cpu_weight.cpp).
struct weight_builder {
  // The type and layout a weight is computed with, and the encoding its values are rounded to
  // (differs for Q4_K / Q5_K run as q4_1 / q5_1).
  struct encoding {
    dtype type;
    layout lay;
    dtype values;
  };
  static encoding target(const matrix& m, dtype want, fast_encodings fast) noexcept;
  static std::unique_ptr<cpu_weight> start(const matrix& m, encoding target, bool copy, weight_pool& pool);
  // Converts/repacks rows [r0, r1) of `m` into `w`, rounding them to `values` (the target's) first
  // (no-op for borrowed weights).
  static void fill(cpu_weight& w, const matrix& m, dtype values, std::int64_t r0, std::int64_t r1) noexcept;
};

template <class ParallelRows>
std::unique_ptr<cpu_weight> cpu_weight::make(const matrix& m, dtype want, fast_encodings fast, bool copy, weight_pool& pool,
                                             ParallelRows&& parallel_rows) {
  const auto target = weight_builder::target(m, want, fast);
  auto w = weight_builder::start(m, target, copy, pool);
  if (w->owned_bytes_)
    parallel_rows(m.rows, [&](std::int64_t r0, std::int64_t r1) { weight_builder::fill(*w, m, target.values, r0, r1); });
  return w;
}

}  // namespace rwkv::kernels::cpu
