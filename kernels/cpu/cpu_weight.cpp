#include "cpu_weight.hpp"

#include "kernels/quant.hpp"
#include "weight_pool.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <vector>

namespace rwkv::kernels::cpu {

aligned_bytes::aligned_bytes(std::size_t n) { reserve(n); }

void aligned_bytes::reserve(std::size_t n, bool zero) {
  if (n <= n_ && p_) return;
  // Large buffers (weights) go to 2 MiB pages: streaming them through 4 KiB pages costs a TLB miss
  // per page, which under a VM's nested paging halved the read bandwidth of generation here.
  const bool huge = n >= huge_page_bytes;
  const std::size_t align = huge ? huge_page_bytes : 64;
  const std::size_t bytes = (n + 64 + align - 1) / align * align;  // 64 bytes of slack for overrunning loads
  auto* p = static_cast<std::uint8_t*>(std::aligned_alloc(align, bytes));
  if (!p) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  if (huge) ::madvise(p, bytes, MADV_HUGEPAGE);  // before the first touch; advisory only
#endif
  if (zero) std::memset(p, 0, bytes);
  p_.reset(p);
  n_ = n;
}

namespace {

layout layout_of(dtype t) noexcept {
  switch (t) {
    case dtype::f32: return layout::f32;
    case dtype::bf16: return layout::bf16;
    case dtype::f16: return layout::f16;
    case dtype::q8_0: return layout::q8;
    case dtype::q4_0:
    case dtype::q4_1: return layout::q4;
    case dtype::q5_0:
    case dtype::q5_1: return layout::q5;
    default: return layout::ggml;
  }
}

// Where column c's quant lives in a q8/q4/q5 row (see the layout in cpu_weight.hpp): its byte,
// the nibble shift (q4/q5), and the bit index in the fifth-bit plane (q5).
struct quant_pos {
  std::int64_t byte;
  int shift;
  std::int64_t bit;
};

inline quant_pos position(layout l, std::int64_t c, std::int64_t cols) noexcept {
  const std::int64_t nb = cols / 32, b = c / 32, s = b / 16, lane = b % 16;
  const std::int64_t nbs = std::min<std::int64_t>(16, nb - s * 16);
  const std::int64_t j = c % 32, g = j / 4, q = j % 4;
  quant_pos p{};
  if (l == layout::q8 || l == layout::q6) {
    p.byte = s * 512 + g * nbs * 4 + lane * 4 + q;
  } else {
    p.byte = s * 256 + (g / 2) * nbs * 4 + lane * 4 + q;
    p.shift = (g % 2) * 4;
    p.bit = s * 512 + g * nbs * 4 + lane * 4 + q;
  }
  return p;
}

}  // namespace

void cpu_weight::init_layout(dtype t, layout l, std::int64_t rows, std::int64_t cols) {
  type_ = t;
  lay_ = l;
  rows_ = rows;
  cols_ = cols;
  const std::int64_t nb = cols / 32;
  switch (lay_) {
    case layout::q8:
      scale_offset_ = cols;
      zero_point_ = 128;
      break;
    case layout::q6:
      scale_offset_ = cols;
      half_offset_ = cols + 2 * nb;
      zero_point_ = 32;
      break;
    case layout::q4:
      scale_offset_ = cols / 2;
      zero_point_ = 8;
      break;
    case layout::q5:
      hi_offset_ = cols / 2;
      scale_offset_ = cols / 2 + cols / 8;
      zero_point_ = 16;
      break;
    default: break;
  }
  if (t == dtype::q4_1 || t == dtype::q5_1) {  // unsigned quants plus a minimum per block
    zero_point_ = 0;
    min_offset_ = scale_offset_ + 2 * nb;
  }
  row_bytes_ = is_int8_layout(lay_) ? scale_offset_ + (min_offset_ || half_offset_ ? 4 : 2) * nb : dtype_row_bytes(t, cols);
}

std::int64_t cpu_weight::storage_bytes() const noexcept {
  if (is_column_layout(lay_))
    return (rows_ + column_panel_rows - 1) / column_panel_rows * column_panel_rows * cols_ * 2;
  return row_bytes_ * rows_;
}

weight_builder::encoding weight_builder::target(const matrix& m, dtype want, fast_encodings fast) noexcept {
  if (dtype_row_bytes(want, m.cols) < 0) want = m.type;  // columns do not fill whole blocks
  if (want == dtype::f16 && m.cols <= column_panel_max_cols && fast.f16_panels)
    return {want, layout::f16_columns, want};  // ggml's fp16 product
  if (fast.bf16 && want == dtype::f16) want = dtype::bf16;
  // K-quants run in the int8 layouts (see the header): Q6_K in its own, Q4_K / Q5_K as q4_1 / q5_1.
  if (fast.int8 && want == dtype::q6_k) return {want, layout::q6, want};
  if (const auto legacy = fast.int8 ? kquant_legacy_type(want) : std::nullopt) return {*legacy, layout_of(*legacy), want};
  if (want == dtype::bf16 && m.cols <= column_panel_max_cols) return {want, layout::bf16_columns, want};
  return {want, layout_of(want), want};
}

std::unique_ptr<cpu_weight> weight_builder::start(const matrix& m, encoding target, bool copy, weight_pool& pool) {
  std::unique_ptr<cpu_weight> w(new cpu_weight());
  w->init_layout(target.type, target.lay, m.rows, m.cols);
  const auto bytes = static_cast<std::size_t>(w->storage_bytes());
  const bool repacked = is_repacked(w->lay_);
  if (target.type == m.type && !repacked && !copy) {
    w->data_ = static_cast<const std::uint8_t*>(m.data);
    return w;
  }
  weight_pool::block b = pool.allocate(bytes);
  if (repacked) std::memset(b.data, 0, bytes);  // nibbles and bits are or-ed in; panels padded
  w->data_ = b.data;
  w->owned_ = std::move(b.keep);
  w->owned_bytes_ = bytes;
  return w;
}

void weight_builder::fill(cpu_weight& w, const matrix& m, dtype values, std::int64_t r0, std::int64_t r1) noexcept {
  if (!w.owned_bytes_) return;
  const std::int64_t src_row_bytes = dtype_row_bytes(m.type, m.cols);
  const auto* src = static_cast<const std::uint8_t*>(m.data);
  auto* dst = const_cast<std::uint8_t*>(w.data_);  // ours: from the pool
  if (m.type == w.type_ && !is_repacked(w.lay_)) {  // a copy into huge pages, bytes unchanged
    std::memcpy(dst + r0 * w.row_bytes_, src + r0 * src_row_bytes, static_cast<std::size_t>((r1 - r0) * w.row_bytes_));
    return;
  }
  // A row goes through up to three steps: encoded as the values' type (a conversion), a K-quant's
  // sub-blocks rewritten as the legacy blocks they are (no second rounding), and the repacking.
  std::vector<float> f(static_cast<std::size_t>(m.cols));
  std::vector<std::uint8_t> encoded, legacy;
  if (m.type != values) encoded.resize(static_cast<std::size_t>(dtype_row_bytes(values, m.cols)));
  if (values != w.type_) legacy.resize(static_cast<std::size_t>(dtype_row_bytes(w.type_, m.cols)));
  for (std::int64_t r = r0; r < r1; ++r) {
    const std::uint8_t* s = src + r * src_row_bytes;
    if (!is_repacked(w.lay_)) {  // plain or ggml target: decode, encode
      dequantize_row(m.type, s, f.data(), m.cols);
      quantize_row(w.type_, f.data(), dst + r * w.row_bytes_, m.cols);
      continue;
    }
    if (m.type != values) {
      dequantize_row(m.type, s, f.data(), m.cols);
      quantize_row(values, f.data(), encoded.data(), m.cols);
      s = encoded.data();
    }
    if (values != w.type_) {
      kquant_to_legacy_row(values, s, legacy.data(), m.cols);
      s = legacy.data();
    }
    w.repack_rows(s, 0, r, r + 1);
  }
}

void cpu_weight::repack_rows(const std::uint8_t* ggml, std::int64_t ggml_row_bytes, std::int64_t r0,
                             std::int64_t r1) noexcept {
  const std::int64_t nb = blocks();
  for (std::int64_t r = r0; r < r1; ++r) {
    const std::uint8_t* src = ggml + (r - r0) * ggml_row_bytes;
    if (is_column_layout(lay_)) {  // row r's values go down its slot of the panel's columns
      std::uint16_t v[column_panel_max_cols];
      std::memcpy(v, src, static_cast<std::size_t>(cols_) * 2);
      auto* slot = const_cast<std::uint16_t*>(panel(r / column_panel_rows)) + column_panel_slot(lay_, r % column_panel_rows);
      for (std::int64_t k = 0; k < cols_; ++k) slot[k * column_panel_rows] = v[k];
      continue;
    }
    std::uint8_t* dst = const_cast<std::uint8_t*>(data_) + r * row_bytes_;
    auto* sc = reinterpret_cast<std::uint16_t*>(dst + scale_offset_);
    if (lay_ == layout::q6) {  // one Q6_K super-block = 8 blocks
      auto* half = reinterpret_cast<std::int8_t*>(dst + half_offset_);
      std::uint8_t u[qk_k];
      for (std::int64_t sb = 0; sb < nb / 8; ++sb) {
        const auto& blk = reinterpret_cast<const block_q6_k*>(src)[sb];
        q6_k_quants(blk, u);
        for (std::int64_t j = 0; j < qk_k; ++j) dst[position(lay_, sb * qk_k + j, cols_).byte] = u[j];
        for (std::int64_t b = 0; b < 8; ++b) {
          sc[sb * 8 + b] = blk.d;
          half[sb * 8 + b] = blk.scales[2 * b];
          half[nb + sb * 8 + b] = blk.scales[2 * b + 1];
        }
      }
      continue;
    }
    for (std::int64_t b = 0; b < nb; ++b) {
      std::uint8_t u[32];
      if (lay_ == layout::q8) {
        const auto& blk = reinterpret_cast<const block_q8_0*>(src)[b];
        sc[b] = blk.d;
        for (int j = 0; j < 32; ++j) dst[position(lay_, b * 32 + j, cols_).byte] = static_cast<std::uint8_t>(blk.qs[j] + 128);
        continue;
      }
      // ggml's nibbles: element j in the low nibble of qs[j], element j + 16 in the high one;
      // q5: the fifth bit of element j is bit j of qh.
      auto nibbles = [&u](const std::uint8_t* qs) {
        for (int j = 0; j < 16; ++j) {
          u[j] = qs[j] & 0xF;
          u[j + 16] = qs[j] >> 4;
        }
      };
      auto fifth_bits = [&u](const std::uint8_t* qh4) {
        std::uint32_t qh;
        std::memcpy(&qh, qh4, 4);
        for (int j = 0; j < 32; ++j) u[j] = static_cast<std::uint8_t>(u[j] | (((qh >> j) & 1) << 4));
      };
      auto* mn = reinterpret_cast<std::uint16_t*>(dst + min_offset_);
      switch (type_) {
        case dtype::q4_0: {
          const auto& blk = reinterpret_cast<const block_q4_0*>(src)[b];
          sc[b] = blk.d;
          nibbles(blk.qs);
          break;
        }
        case dtype::q4_1: {
          const auto& blk = reinterpret_cast<const block_q4_1*>(src)[b];
          sc[b] = blk.d, mn[b] = blk.m;
          nibbles(blk.qs);
          break;
        }
        case dtype::q5_0: {
          const auto& blk = reinterpret_cast<const block_q5_0*>(src)[b];
          sc[b] = blk.d;
          nibbles(blk.qs);
          fifth_bits(blk.qh);
          break;
        }
        default: {  // q5_1
          const auto& blk = reinterpret_cast<const block_q5_1*>(src)[b];
          sc[b] = blk.d, mn[b] = blk.m;
          nibbles(blk.qs);
          fifth_bits(blk.qh);
          break;
        }
      }
      for (int j = 0; j < 32; ++j) {
        const quant_pos p = position(lay_, b * 32 + j, cols_);
        dst[p.byte] = static_cast<std::uint8_t>(dst[p.byte] | ((u[j] & 0xF) << p.shift));
        if (lay_ == layout::q5 && (u[j] & 0x10)) dst[hi_offset_ + p.bit / 8] |= static_cast<std::uint8_t>(1u << (p.bit % 8));
      }
    }
  }
}

void cpu_weight::decode_row(std::int64_t r, float* out) const noexcept {
  if (is_column_layout(lay_)) {
    const std::uint16_t* panel_r = panel(r / column_panel_rows) + column_panel_slot(lay_, r % column_panel_rows);
    for (std::int64_t k = 0; k < cols_; ++k) {
      const std::uint16_t v = panel_r[k * column_panel_rows];
      out[k] = lay_ == layout::f16_columns ? f16_to_f32(v) : bf16_to_f32(v);
    }
    return;
  }
  const std::uint8_t* p = row(r);
  if (!is_int8_layout(lay_)) {
    dequantize_row(type_, p, out, cols_);
    return;
  }
  // Chunk by chunk (see the layout in cpu_weight.hpp): chunk g of superblock sb holds, in lane l,
  // values 4g .. 4g+3 of block sb*16 + l. w = (u - zero point) * d [+ m], as the reference
  // computes it.
  const auto* sc = scales(r);
  const std::int64_t nb = blocks();
  for (std::int64_t sb = 0; sb * 16 < nb; ++sb) {
    const std::int64_t nbs = std::min<std::int64_t>(16, nb - sb * 16), chunk = nbs * 4;
    float d[16], m[16] = {};
    for (std::int64_t l = 0; l < nbs; ++l) d[l] = f16_to_f32(sc[sb * 16 + l]);
    float d_half[2][16];  // q6: the scale times each half's int8 scale (exact in fp32)
    if (lay_ == layout::q6)
      for (int h = 0; h < 2; ++h)
        for (std::int64_t l = 0; l < nbs; ++l) d_half[h][l] = d[l] * half_scales(r)[h * nb + sb * 16 + l];
    if (has_mins())
      for (std::int64_t l = 0; l < nbs; ++l) m[l] = f16_to_f32(mins(r)[sb * 16 + l]);
    for (int g = 0; g < 8; ++g) {
      std::uint8_t u[64];
      if (lay_ == layout::q8 || lay_ == layout::q6) {
        std::memcpy(u, p + sb * 512 + g * chunk, static_cast<std::size_t>(chunk));
      } else {
        const std::uint8_t* q = p + sb * 256 + (g / 2) * chunk;
        const int shift = (g % 2) * 4;
        for (std::int64_t i = 0; i < chunk; ++i) u[i] = (q[i] >> shift) & 0xF;
        if (lay_ == layout::q5)
          for (std::int64_t i = 0; i < chunk; ++i) {
            const std::int64_t bit = sb * 512 + g * chunk + i;
            u[i] = static_cast<std::uint8_t>(u[i] | (((p[hi_offset_ + bit / 8] >> (bit % 8)) & 1) << 4));
          }
      }
      for (std::int64_t l = 0; l < nbs; ++l)
        for (int q = 0; q < 4; ++q) {
          float& o = out[(sb * 16 + l) * 32 + g * 4 + q];
          if (lay_ == layout::q6) o = d_half[g / 4][l] * static_cast<float>(u[l * 4 + q] - zero_point_);
          else o = static_cast<float>(u[l * 4 + q] - zero_point_) * d[l] + m[l];
        }
    }
  }
}

}  // namespace rwkv::kernels::cpu
