// The central directory of a zip archive held in memory, and checked access to its stored entries.
//
// This is the container half of the PyTorch .pth reader: torch.save writes a zip whose entries are
// "stored" (not compressed) and 64-byte aligned, so a tensor can be used straight from the mapped
// file. Only what such files need is supported: single-disk archives, ZIP64 (checkpoints over
// 4 GiB), method 0. Every size, offset and count read from the bytes is checked against the real
// size of the buffer before use; the archive never allocates more than the directory's real size
// justifies. CRCs are not verified: that would read every weight at load time, which the
// memory-mapped design exists to avoid.
//
// A zip_archive borrows `bytes`; they must outlive it. It is immutable after construction and safe
// to read from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rwkv::engine::formats {

class zip_archive {
 public:
  struct entry {
    std::string_view name;  // points into the archive bytes
    std::uint16_t flags = 0;
    std::uint16_t method = 0;  // 0 = stored, 8 = deflate, ...
    std::uint64_t compressed_size = 0;
    std::uint64_t size = 0;
    std::uint64_t local_header_offset = 0;
  };

  // Reads the end-of-central-directory record (ZIP64 when present) and every central header.
  // Throws engine::error(bad_format) for anything malformed or pointing outside `bytes`, and
  // errc::unsupported for multi-disk archives. `source` names the file in messages.
  zip_archive(std::span<const std::uint8_t> bytes, std::string source);

  const std::vector<entry>& entries() const noexcept { return entries_; }
  // The entry named exactly `name`, or nullptr.
  const entry* find(std::string_view name) const noexcept;

  // The bytes of a stored entry, after checking its local header (signature, name, method) and
  // that the data lies inside the archive. Throws errc::unsupported for compressed or encrypted
  // entries and errc::bad_format for inconsistent ones.
  std::span<const std::uint8_t> stored_data(const entry& e) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void read_end_of_directory(std::uint64_t& count, std::uint64_t& dir_offset, std::uint64_t& dir_size) const;
  void read_central_directory(std::uint64_t count, std::uint64_t dir_offset, std::uint64_t dir_size);

  std::span<const std::uint8_t> bytes_;
  std::string source_;
  std::vector<entry> entries_;
  std::unordered_map<std::string_view, std::size_t> by_name_;
};

}  // namespace rwkv::engine::formats
