#include "engine/state.hpp"

#include "binary_io.hpp"
#include "engine/error.hpp"

#include <cmath>
#include <cstring>
#include <istream>
#include <limits>
#include <ostream>

namespace rwkv::engine {

std::int64_t state_layout::layer_size() const noexcept {
  return is_v4() ? 5 * n_embd : 2 * n_embd + wkv_size();
}

std::span<float> state::layer(std::int64_t i) noexcept {
  auto n = static_cast<std::size_t>(layout_.layer_size());
  return std::span<float>(data_).subspan(static_cast<std::size_t>(i) * n, n);
}

std::span<const float> state::layer(std::int64_t i) const noexcept {
  auto n = static_cast<std::size_t>(layout_.layer_size());
  return std::span<const float>(data_).subspan(static_cast<std::size_t>(i) * n, n);
}

std::span<const float> state::att_x_prev(std::int64_t i) const noexcept {
  return layer(i).first(static_cast<std::size_t>(layout_.n_embd));
}

std::span<const float> state::ffn_x_prev(std::int64_t i) const noexcept {
  return layer(i).last(static_cast<std::size_t>(layout_.n_embd));
}

std::span<const float> state::time_state(std::int64_t i) const noexcept {
  auto l = layer(i);
  auto C = static_cast<std::size_t>(layout_.n_embd);
  return l.subspan(C, l.size() - 2 * C);
}

float state::max_abs_diff(const state& other) const noexcept {
  if (!(layout_ == other.layout_) || data_.size() != other.data_.size()) return std::numeric_limits<float>::infinity();
  float m = 0;
  for (std::size_t i = 0; i < data_.size(); ++i) {
    float d = std::fabs(data_[i] - other.data_[i]);
    if (std::isnan(d)) return std::numeric_limits<float>::infinity();
    if (d > m) m = d;
  }
  return m;
}

namespace {

constexpr char magic[8] = {'R', 'W', 'K', 'V', 'S', 'T', 'A', 'T'};
constexpr std::uint32_t format_version = 1;

using binary_io::fnv1a;
using binary_io::put;

template <class T>
T get(std::istream& in) {
  return binary_io::get<T>(in, "saved state");
}

}  // namespace

void state::save(std::ostream& out) const {
  out.write(magic, sizeof magic);
  put<std::uint32_t>(out, format_version);
  put<std::uint64_t>(out, layout_.fingerprint);
  put<std::uint32_t>(out, layout_.arch);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(layout_.n_layer));
  put<std::uint32_t>(out, static_cast<std::uint32_t>(layout_.n_embd));
  put<std::uint32_t>(out, static_cast<std::uint32_t>(layout_.n_head));
  put<std::uint32_t>(out, static_cast<std::uint32_t>(layout_.head_size));
  put<std::uint64_t>(out, data_.size());
  out.write(reinterpret_cast<const char*>(data_.data()), static_cast<std::streamsize>(bytes()));
  put<std::uint64_t>(out, fnv1a(data_.data(), bytes()));
  if (!out) throw error(errc::io, "could not write the state");
}

state state::load(std::istream& in, const state_layout& expected) {
  char m[sizeof magic];
  if (!in.read(m, sizeof m) || std::memcmp(m, magic, sizeof magic) != 0)
    throw error(errc::bad_format, "not a saved rwkv-lsp state (bad magic)");
  auto version = get<std::uint32_t>(in);
  if (version != format_version)
    throw error(errc::bad_format, "saved state has format version " + std::to_string(version) + ", this build reads " +
                                      std::to_string(format_version));
  state_layout l;
  l.fingerprint = get<std::uint64_t>(in);
  l.arch = get<std::uint32_t>(in);
  l.n_layer = get<std::uint32_t>(in);
  l.n_embd = get<std::uint32_t>(in);
  l.n_head = get<std::uint32_t>(in);
  l.head_size = get<std::uint32_t>(in);
  auto count = get<std::uint64_t>(in);
  if (!(l == expected))
    throw error(errc::state_mismatch, "saved state belongs to another model (fingerprint or shape differs)");
  if (count != static_cast<std::uint64_t>(expected.size()))
    throw error(errc::bad_format, "saved state holds " + std::to_string(count) + " values, expected " +
                                      std::to_string(expected.size()));
  state s(expected);
  if (!in.read(reinterpret_cast<char*>(s.data_.data()), static_cast<std::streamsize>(s.bytes())))
    throw error(errc::bad_format, "saved state is truncated");
  if (get<std::uint64_t>(in) != fnv1a(s.data_.data(), s.bytes()))
    throw error(errc::bad_format, "saved state is corrupt (checksum mismatch)");
  return s;
}

}  // namespace rwkv::engine
