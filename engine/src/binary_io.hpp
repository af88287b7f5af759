// Little helpers for the engine's own binary files (saved states and sessions): fixed-size values
// in the machine's byte order, and the FNV-1a checksum that guards each payload.
#pragma once

#include "engine/error.hpp"

#include <cstddef>
#include <cstdint>
#include <istream>
#include <ostream>
#include <string>

namespace rwkv::engine::binary_io {

inline std::uint64_t fnv1a(const void* data, std::size_t n) {
  auto* p = static_cast<const std::uint8_t*>(data);
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

template <class T>
void put(std::ostream& out, T v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

// Reads one value; `what` names the file in the error ("saved state").
template <class T>
T get(std::istream& in, const char* what) {
  T v{};
  if (!in.read(reinterpret_cast<char*>(&v), sizeof v)) throw error(errc::bad_format, std::string(what) + " is truncated");
  return v;
}

}  // namespace rwkv::engine::binary_io
