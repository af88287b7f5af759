// A read-only memory mapping of a whole file (RAII), the backing store of memory-mapped weights.
//
// Thread-safe for concurrent reads once constructed. Empty files map to an empty span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace rwkv::engine {

class mapped_file {
 public:
  // Throws engine::error(errc::io) with the OS reason when the file cannot be opened or mapped.
  explicit mapped_file(const std::string& path);
  // Wraps bytes already in memory (embedded models, tests); the bytes must outlive the object.
  mapped_file(const void* data, std::size_t size, std::string name);
  ~mapped_file();
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }
  // Drops the resident pages wholly inside [p, p + n) from this mapping (madvise DONTNEED; the
  // mapping is private and read-only, so a later read faults them back in from the file). No-op
  // for ranges outside the mapping and for wrapped memory.
  void release(const void* p, std::size_t n) const noexcept;

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool owns_mapping_ = false;
  std::string path_;
};

}  // namespace rwkv::engine
