// The recurrent state of a model after some tokens: a flat fp32 buffer the caller owns.
//
// As in rwkv.cpp, a checkpoint is a copy of a state. Per layer, the buffer holds
//   v4:      att_x_prev[C], aa[C], bb[C], pp[C], ffn_x_prev[C]
//   v5/v6:   att_x_prev[C], wkv[H][N key][N value], ffn_x_prev[C]
//   v7:      att_x_prev[C], wkv[H][N value][N key], ffn_x_prev[C]
// which is the order of BlinkDL's reference implementation.
//
// Serialized form (little-endian): magic "RWKVSTAT", u32 format version, u64 model fingerprint,
// u32 architecture, n_layer, n_embd, n_head, head_size, u64 float count, the floats, u64 FNV-1a
// checksum of the floats. Loading checks every field and throws errc::state_mismatch / bad_format.
//
// Not thread-safe: a state is used by one thread at a time.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <vector>

namespace rwkv::engine {

struct state_layout {
  std::uint32_t arch = 0;  // engine::architecture as an integer
  std::int64_t n_layer = 0, n_embd = 0, n_head = 0, head_size = 0;
  std::uint64_t fingerprint = 0;

  // Floats per layer and in total.
  std::int64_t layer_size() const noexcept;
  std::int64_t size() const noexcept { return layer_size() * n_layer; }
  std::int64_t wkv_size() const noexcept { return n_head * head_size * head_size; }
  bool is_v4() const noexcept { return arch == 0; }
  bool operator==(const state_layout&) const = default;
};

class state {
 public:
  state() = default;
  explicit state(const state_layout& layout) : layout_(layout), data_(static_cast<std::size_t>(layout.size())) {}

  const state_layout& layout() const noexcept { return layout_; }
  std::span<float> data() noexcept { return data_; }
  std::span<const float> data() const noexcept { return data_; }
  bool empty() const noexcept { return data_.empty(); }
  std::size_t bytes() const noexcept { return data_.size() * sizeof(float); }

  // Views of one layer's parts (see the layout above).
  std::span<float> layer(std::int64_t i) noexcept;
  std::span<const float> layer(std::int64_t i) const noexcept;
  std::span<const float> att_x_prev(std::int64_t i) const noexcept;
  std::span<const float> ffn_x_prev(std::int64_t i) const noexcept;
  // v5-v7: [H][N][N]; v4: aa, bb, pp (3*C floats).
  std::span<const float> time_state(std::int64_t i) const noexcept;

  // Largest absolute element difference; +inf when the layouts differ.
  float max_abs_diff(const state& other) const noexcept;
  bool operator==(const state& other) const noexcept { return layout_ == other.layout_ && data_ == other.data_; }

  void save(std::ostream& out) const;
  // Throws engine::error: bad_format (corrupt, truncated) or state_mismatch (other model/layout).
  static state load(std::istream& in, const state_layout& expected);

 private:
  state_layout layout_;
  std::vector<float> data_;
};

}  // namespace rwkv::engine
