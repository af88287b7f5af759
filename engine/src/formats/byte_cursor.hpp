// Internal to the readers: a bounds-checked little-endian cursor over a file's bytes.
//
// Every read checks the remaining length first and throws engine::error(bad_format) naming the file,
// the byte offset and what was being read, so a truncated or hostile file can never make a reader
// step outside its buffer. Counts read from the file go through `check_count` before anything is
// reserved for them.
#pragma once

#include "engine/error.hpp"

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace rwkv::engine::formats {

class byte_cursor {
 public:
  byte_cursor(std::span<const std::uint8_t> bytes, std::string source, std::size_t start = 0)
      : bytes_(bytes), source_(std::move(source)), pos_(start) {}

  std::size_t pos() const noexcept { return pos_; }
  std::size_t size() const noexcept { return bytes_.size(); }
  std::size_t remaining() const noexcept { return pos_ <= bytes_.size() ? bytes_.size() - pos_ : 0; }
  bool at_end() const noexcept { return pos_ >= bytes_.size(); }
  const std::string& source() const noexcept { return source_; }

  template <class T>
  T read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);  // the formats are little-endian, as is the host
    pos_ += sizeof v;
    return v;
  }

  std::span<const std::uint8_t> read_bytes(std::uint64_t n, const char* what) {
    need(n, what);
    auto out = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }

  std::string_view read_text(std::uint64_t n, const char* what) {
    auto b = read_bytes(n, what);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

  void skip(std::uint64_t n, const char* what) { read_bytes(n, what); }

  // A count read from the file for items of at least `min_item_bytes` each: larger than the rest
  // of the file could hold means a corrupt or hostile header, refused before any allocation.
  void check_count(std::uint64_t count, std::uint64_t min_item_bytes, const char* what) const {
    if (min_item_bytes > 0 && count > remaining() / min_item_bytes)
      fail("claims " + std::to_string(count) + " " + what + ", more than the remaining " +
           std::to_string(remaining()) + " bytes can hold");
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw error(errc::bad_format, "'" + source_ + "' is corrupt or truncated at byte " + std::to_string(pos_) + ": " +
                                      what);
  }

 private:
  void need(std::uint64_t n, const char* what) const {
    if (n > remaining())
      fail(std::string("needs ") + std::to_string(n) + " bytes for " + what + " but only " +
           std::to_string(remaining()) + " remain");
  }

  std::span<const std::uint8_t> bytes_;
  std::string source_;
  std::size_t pos_ = 0;
};

}  // namespace rwkv::engine::formats
