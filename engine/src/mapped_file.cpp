#include "engine/mapped_file.hpp"

#include "engine/error.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rwkv::engine {

namespace {

std::string os_reason() { return std::strerror(errno); }

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

mapped_file::mapped_file(const std::string& path) : path_(path) {
  fd_guard guard{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (guard.fd < 0) throw error(errc::io, "cannot open '" + path + "': " + os_reason());
  struct stat st {};
  if (::fstat(guard.fd, &st) != 0) throw error(errc::io, "cannot stat '" + path + "': " + os_reason());
  if (S_ISDIR(st.st_mode)) throw error(errc::io, "'" + path + "' is a directory, not a model file");
  if (!S_ISREG(st.st_mode)) throw error(errc::io, "'" + path + "' is not a regular file");
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ == 0) return;
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, guard.fd, 0);
  if (p == MAP_FAILED) throw error(errc::io, "cannot map '" + path + "' into memory: " + os_reason());
  data_ = static_cast<const std::uint8_t*>(p);
  owns_mapping_ = true;
}

mapped_file::mapped_file(const void* data, std::size_t size, std::string name)
    : data_(static_cast<const std::uint8_t*>(data)), size_(size), path_(std::move(name)) {}

void mapped_file::release(const void* p, std::size_t n) const noexcept {
  if (!owns_mapping_ || !data_) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(p), end = begin + n;
  const auto lo = reinterpret_cast<std::uintptr_t>(data_), hi = lo + size_;
  if (begin < lo || end > hi) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

mapped_file::~mapped_file() {
  if (owns_mapping_ && data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

}  // namespace rwkv::engine
