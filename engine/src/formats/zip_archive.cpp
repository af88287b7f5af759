// Zip directory parsing for the .pth reader. Layouts follow PKWARE's APPNOTE.TXT (sections 4.3.7
// local header, 4.3.12 central header, 4.3.14-16 ZIP64 end records, 4.5.3 ZIP64 extra field).
#include "formats/zip_archive.hpp"

#include "engine/error.hpp"

#include <algorithm>
#include <cstring>

namespace rwkv::engine::formats {

namespace {

constexpr std::uint32_t local_header_sig = 0x04034b50;
constexpr std::uint32_t central_header_sig = 0x02014b50;
constexpr std::uint32_t end_sig = 0x06054b50;
constexpr std::uint32_t zip64_end_sig = 0x06064b50;
constexpr std::uint32_t zip64_locator_sig = 0x07064b50;

constexpr std::size_t local_header_size = 30;
constexpr std::size_t central_header_size = 46;
constexpr std::size_t end_size = 22;
constexpr std::size_t zip64_end_size = 56;
constexpr std::size_t zip64_locator_size = 20;
constexpr std::uint16_t zip64_extra_id = 0x0001;

constexpr std::uint32_t u32_escape = 0xffffffffu;  // "the real value is in the ZIP64 extra field"
constexpr std::uint16_t u16_escape = 0xffff;

// Callers check bounds first; these only assemble little-endian integers without alignment UB.
std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t u64(const std::uint8_t* p) { return u32(p) | (static_cast<std::uint64_t>(u32(p + 4)) << 32); }

// True when [offset, offset + length) lies inside [0, limit), without overflow.
bool fits(std::uint64_t offset, std::uint64_t length, std::uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

std::string quoted(std::string_view name) {
  std::string out = "'";
  for (char c : name.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out + (name.size() > 200 ? "...'" : "'");
}

}  // namespace

zip_archive::zip_archive(std::span<const std::uint8_t> bytes, std::string source)
    : bytes_(bytes), source_(std::move(source)) {
  std::uint64_t count = 0, dir_offset = 0, dir_size = 0;
  read_end_of_directory(count, dir_offset, dir_size);
  read_central_directory(count, dir_offset, dir_size);
}

void zip_archive::fail(const std::string& what) const { throw error(errc::bad_format, source_ + ": " + what); }

void zip_archive::read_end_of_directory(std::uint64_t& count, std::uint64_t& dir_offset,
                                        std::uint64_t& dir_size) const {
  const std::uint64_t size = bytes_.size();
  const std::uint8_t* data = bytes_.data();
  if (size < end_size) fail("too short to be a zip archive (truncated download?)");

  // The record sits at the very end, followed only by its comment (at most 65535 bytes). Requiring
  // the comment to end exactly at the end of the file rejects signatures that happen to appear
  // inside a comment or in data.
  std::uint64_t end_pos = size;
  const std::uint64_t lowest = size - end_size > 0xffff ? size - end_size - 0xffff : 0;
  for (std::uint64_t pos = size - end_size;; --pos) {
    if (u32(data + pos) == end_sig && pos + end_size + u16(data + pos + 20) == size) {
      end_pos = pos;
      break;
    }
    if (pos == lowest) break;
  }
  if (end_pos == size)
    fail("has no zip end-of-central-directory record; the file is truncated or not a zip archive");

  const std::uint8_t* end = data + end_pos;
  std::uint16_t disk = u16(end + 4), dir_disk = u16(end + 6);
  std::uint64_t disk_entries = u16(end + 8);
  count = u16(end + 10);
  dir_size = u32(end + 12);
  dir_offset = u32(end + 16);
  std::uint64_t directory_end_limit = end_pos;

  const bool has_locator =
      end_pos >= zip64_locator_size && u32(data + end_pos - zip64_locator_size) == zip64_locator_sig;
  if (has_locator) {
    const std::uint8_t* loc = data + end_pos - zip64_locator_size;
    std::uint64_t record = u64(loc + 8);
    if (u32(loc + 4) != 0 || u32(loc + 16) > 1)
      throw error(errc::unsupported, source_ + ": is a multi-disk (split) zip archive; join the parts first");
    if (!fits(record, zip64_end_size, end_pos - zip64_locator_size))
      fail("its ZIP64 locator points outside the file (offset " + std::to_string(record) + ")");
    const std::uint8_t* z = data + record;
    if (u32(z) != zip64_end_sig) fail("its ZIP64 locator does not point at a ZIP64 end record");
    disk = u32(z + 16) == 0 && u32(z + 20) == 0 ? 0 : 1;
    dir_disk = 0;
    disk_entries = u64(z + 24);
    count = u64(z + 32);
    dir_size = u64(z + 40);
    dir_offset = u64(z + 48);
    directory_end_limit = record;
  } else if (dir_size == u32_escape || dir_offset == u32_escape) {
    fail("its end record defers to a ZIP64 record that is missing (truncated?)");
  }
  if (disk != 0 || dir_disk != 0 || disk_entries != count)
    throw error(errc::unsupported, source_ + ": is a multi-disk (split) zip archive; join the parts first");
  if (!fits(dir_offset, dir_size, directory_end_limit))
    fail("its central directory (offset " + std::to_string(dir_offset) + ", " + std::to_string(dir_size) +
         " bytes) lies outside the file of " + std::to_string(size) + " bytes (truncated?)");
  // Each central header takes at least 46 bytes, so the count is checked before anything is
  // allocated for it: a forged count cannot make us reserve memory the file does not back.
  if (count > dir_size / central_header_size)
    fail("claims " + std::to_string(count) + " entries but its central directory of " + std::to_string(dir_size) +
         " bytes can hold at most " + std::to_string(dir_size / central_header_size));
}

void zip_archive::read_central_directory(std::uint64_t count, std::uint64_t dir_offset, std::uint64_t dir_size) {
  const std::uint8_t* data = bytes_.data();
  const std::uint64_t dir_end = dir_offset + dir_size;
  entries_.reserve(count);
  by_name_.reserve(count);
  std::uint64_t pos = dir_offset;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::string where = "central directory entry " + std::to_string(i);
    if (!fits(pos, central_header_size, dir_end)) fail(where + " runs past the end of the directory");
    const std::uint8_t* h = data + pos;
    if (u32(h) != central_header_sig) fail(where + " has a bad signature (corrupt directory)");
    const std::uint64_t name_len = u16(h + 28), extra_len = u16(h + 30), comment_len = u16(h + 32);
    if (!fits(pos + central_header_size, name_len + extra_len + comment_len, dir_end))
      fail(where + " runs past the end of the directory");

    entry e;
    e.flags = u16(h + 8);
    e.method = u16(h + 10);
    e.compressed_size = u32(h + 20);
    e.size = u32(h + 24);
    e.local_header_offset = u32(h + 42);
    std::uint32_t start_disk = u16(h + 34);
    e.name = std::string_view(reinterpret_cast<const char*>(h + central_header_size), name_len);

    // ZIP64 extra: 8-byte values for exactly those fields whose 32-bit slot holds the escape,
    // in the fixed order size, compressed size, offset, then a 4-byte disk number.
    const std::uint8_t* extra = h + central_header_size + name_len;
    bool need64 = e.size == u32_escape || e.compressed_size == u32_escape || e.local_header_offset == u32_escape ||
                  start_disk == u16_escape;
    for (std::uint64_t x = 0; need64 && x + 4 <= extra_len;) {
      const std::uint16_t id = u16(extra + x), len = u16(extra + x + 2);
      if (x + 4 + len > extra_len) fail(where + " (" + quoted(e.name) + ") has a malformed extra field");
      if (id == zip64_extra_id) {
        const std::uint8_t* f = extra + x + 4;
        std::uint64_t left = len;
        auto take64 = [&](std::uint64_t& field) {
          if (left < 8) fail(where + " (" + quoted(e.name) + ") has a short ZIP64 extra field");
          field = u64(f);
          f += 8;
          left -= 8;
        };
        if (e.size == u32_escape) take64(e.size);
        if (e.compressed_size == u32_escape) take64(e.compressed_size);
        if (e.local_header_offset == u32_escape) take64(e.local_header_offset);
        if (start_disk == u16_escape) {
          if (left < 4) fail(where + " (" + quoted(e.name) + ") has a short ZIP64 extra field");
          start_disk = u32(f);
        }
        need64 = false;
      }
      x += 4 + len;
    }
    if (need64) fail(where + " (" + quoted(e.name) + ") needs a ZIP64 extra field but has none");
    if (start_disk != 0)
      throw error(errc::unsupported, source_ + ": is a multi-disk (split) zip archive; join the parts first");
    if (!fits(e.local_header_offset, local_header_size, dir_offset))
      fail("entry " + quoted(e.name) + " points at offset " + std::to_string(e.local_header_offset) +
           ", outside the data area of the archive (truncated or corrupt)");
    if (e.compressed_size > dir_offset)
      fail("entry " + quoted(e.name) + " claims " + std::to_string(e.compressed_size) +
           " bytes, more than the archive holds (truncated or corrupt)");
    if (!by_name_.emplace(e.name, entries_.size()).second)
      fail("has two entries named " + quoted(e.name) + "; refusing an ambiguous archive");
    entries_.push_back(e);
    pos += central_header_size + name_len + extra_len + comment_len;
  }
}

const zip_archive::entry* zip_archive::find(std::string_view name) const noexcept {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

std::span<const std::uint8_t> zip_archive::stored_data(const entry& e) const {
  const std::string what = "entry " + quoted(e.name);
  if (e.flags & 0x1)
    throw error(errc::unsupported, source_ + ": " + what + " is encrypted; rwkv-lsp reads only plain checkpoints");
  if (e.method != 0)
    throw error(errc::unsupported,
                source_ + ": " + what + " is compressed (zip method " + std::to_string(e.method) +
                    "); rwkv-lsp maps weights straight from the file and needs entries stored uncompressed, "
                    "as torch.save writes them. Re-save the checkpoint with torch.save, or unzip and re-zip "
                    "it with `zip -0`");
  if (e.compressed_size != e.size)
    fail(what + " is stored uncompressed but its two sizes differ (" + std::to_string(e.compressed_size) + " vs " +
         std::to_string(e.size) + ")");

  const std::uint64_t size = bytes_.size();
  const std::uint8_t* h = bytes_.data() + e.local_header_offset;  // in range: checked in the directory
  if (u32(h) != local_header_sig) fail(what + " has no local header where the directory says (corrupt archive)");
  const std::uint64_t name_len = u16(h + 26), extra_len = u16(h + 28);
  const std::uint64_t data_offset = e.local_header_offset + local_header_size + name_len + extra_len;
  if (data_offset > size || name_len != e.name.size() ||
      std::memcmp(h + local_header_size, e.name.data(), e.name.size()) != 0)
    fail(what + " has a local header for another name (corrupt archive)");
  if (u16(h + 8) != e.method) fail(what + " has a local header that disagrees about its compression");
  if (!fits(data_offset, e.size, size))
    fail(what + " holds " + std::to_string(e.size) + " bytes at offset " + std::to_string(data_offset) +
         ", past the end of the " + std::to_string(size) + "-byte file (truncated?)");
  return bytes_.subspan(data_offset, e.size);
}

}  // namespace rwkv::engine::formats
