#include "fetch/download.hpp"

#include "fetch/checksum.hpp"
#include "fetch/progress.hpp"
#include "fetch/sha256.hpp"
#include "fetch/url.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

namespace rwkv::fetch {

namespace fs = std::filesystem;

namespace {

std::string bytes_text(std::uint64_t n) { return progress_bar::format_bytes(static_cast<double>(n)); }

// <destination>.part, opened for reading and writing and locked for this process.
class part_file {
 public:
  explicit part_file(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw file_error(errno, "cannot create");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
      ::close(fd_);
      fd_ = -1;
      throw error(errc::busy, "another rwkv-lsp is downloading '" + path_ + "' right now; wait for it to finish");
    }
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      regular_ = true;
      size_ = static_cast<std::uint64_t>(st.st_size);
    }
  }
  ~part_file() { close(); }
  part_file(const part_file&) = delete;
  part_file& operator=(const part_file&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::uint64_t size() const noexcept { return size_; }

  void truncate() {
    if (regular_ && ::ftruncate(fd_, 0) != 0) throw file_error(errno, "cannot truncate");
    size_ = 0;
  }

  void append(const char* data, std::size_t n) {
    while (n > 0) {
      ssize_t w = regular_ ? ::pwrite(fd_, data, n, static_cast<off_t>(size_)) : ::write(fd_, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw file_error(errno, "cannot write");
      }
      data += w;
      n -= static_cast<std::size_t>(w);
      size_ += static_cast<std::uint64_t>(w);
    }
  }

  // Feeds the bytes already on disk to the hasher (resuming must hash the whole file).
  void hash_into(sha256& h) const {
    std::vector<char> buf(1 << 20);
    std::uint64_t pos = 0;
    while (pos < size_) {
      ssize_t r = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(pos));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw file_error(r < 0 ? errno : EIO, "cannot read back");
      h.update(buf.data(), static_cast<std::size_t>(r));
      pos += static_cast<std::uint64_t>(r);
    }
  }

  void sync() {
    if (regular_ && ::fsync(fd_) != 0) throw file_error(errno, "cannot flush");
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  error file_error(int err, const char* what) const {
    if (err == ENOSPC || err == EDQUOT)
      return error(errc::disk, "no space left on the device for '" + path_ + "' after " + bytes_text(size_) +
                                   ": free some space (or pass --cache DIR on another disk) and run the same command "
                                   "again; the download resumes where it stopped");
    if (err == EFBIG)
      return error(errc::disk, "'" + path_ + "' grew larger than the file system allows (" + bytes_text(size_) +
                                   "); pass --cache DIR on another file system");
    return error(errc::io, std::string(what) + " '" + path_ + "': " + std::strerror(err));
  }

  std::string path_;
  int fd_ = -1;
  bool regular_ = false;
  std::uint64_t size_ = 0;
};

struct content_range {
  std::optional<std::uint64_t> first;  // absent for "bytes */N"
  std::optional<std::uint64_t> total;  // absent for ".../*"
};

bool parse_u64(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// "bytes 100-199/200", "bytes 100-199/*", "bytes */200"
std::optional<content_range> parse_content_range(std::string_view v) {
  if (v.rfind("bytes ", 0) != 0) return std::nullopt;
  v.remove_prefix(6);
  std::size_t slash = v.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view range = v.substr(0, slash), total = v.substr(slash + 1);
  content_range r;
  if (total != "*") {
    std::uint64_t t = 0;
    if (!parse_u64(total, t)) return std::nullopt;
    r.total = t;
  }
  if (range != "*") {
    std::size_t dash = range.find('-');
    std::uint64_t first = 0, last = 0;
    if (dash == std::string_view::npos || !parse_u64(range.substr(0, dash), first) ||
        !parse_u64(range.substr(dash + 1), last) || last < first)
      return std::nullopt;
    r.first = first;
  }
  return r;
}

void check_free_space(const std::string& path, std::uint64_t needed) {
  struct statvfs s {};
  std::string dir = fs::path(path).parent_path().string();
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &s) != 0) return;
  std::uint64_t available = static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
  if (available < needed)
    throw error(errc::disk, "not enough free space for '" + path + "': " + bytes_text(needed) + " more needed, " +
                                bytes_text(available) + " available; free some space or pass --cache DIR on another disk");
}

std::string read_recorded_sha256(const std::string& destination) {
  std::ifstream in(destination + ".sha256");
  std::string hex;
  if (!(in >> hex) || hex.size() != 64) return "";
  return hex;
}

void write_recorded_sha256(const std::string& destination, const std::string& hex) {
  std::ofstream out(destination + ".sha256", std::ios::trunc);
  out << hex << "  " << fs::path(destination).filename().string() << '\n';
}

void sync_directory(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string status_advice(int status) {
  switch (status) {
    case 401:
    case 403: return " (the server refuses access: the file may be private or gated)";
    case 404: return " (no such file at this address)";
    case 410: return " (the file was removed from the server)";
    case 429: return " (too many requests: wait a while and try again)";
    default: return status >= 500 ? " (a server-side problem: try again later)" : "";
  }
}

// One download in progress: the state shared by attempts and redirects.
struct transfer {
  const download_options& options;
  part_file& part;
  sha256& hasher;
  download_result& result;
  checksum_collector checksums;
  std::uint64_t total = 0;  // 0 = unknown

  void note(const std::string& message) const {
    if (options.on_message) options.on_message(message);
  }

  void start_over() {
    part.truncate();
    hasher.reset();
  }

  // One connection per hop until the body is on disk. Throws fetch::error.
  void attempt(const url& start) {
    url current = start;
    int redirects = 0;
    bool restarted = false;
    checksums.clear();
    for (;;) {
      http_connection conn(current, options.connection);
      std::vector<header_field> extra;
      const std::uint64_t offset = part.size();
      if (offset > 0) extra.push_back({"Range", "bytes=" + std::to_string(offset) + "-"});
      response_head head = conn.get(extra);
      checksums.add(head);

      if (is_redirect(head.status)) {
        std::string location = head.get("Location");
        if (location.empty())
          throw error(errc::protocol, current.to_string() + " answered " + std::to_string(head.status) + " without a Location");
        if (++redirects > options.max_redirects)
          throw error(errc::too_many_redirects, "more than " + std::to_string(options.max_redirects) +
                                                    " redirects starting at " + start.to_string() + " (a redirect loop?)");
        url next = resolve_location(current, location);
        if (current.tls() && !next.tls())
          throw error(errc::protocol, "refusing to follow a redirect from " + current.to_string() + " to plain HTTP (" +
                                          next.to_string() + ")");
        current = std::move(next);
        continue;
      }
      result.final_url = current.to_string();
      result.redirects = redirects;

      if (head.status == 416) {
        auto range = parse_content_range(head.get("Content-Range"));
        if (offset > 0 && range && range->total && *range->total == offset) {
          total = offset;  // the part already holds the whole file
          return;
        }
        if (offset > 0 && !restarted) {
          note("the server cannot continue at " + bytes_text(offset) + " (the file may have changed); starting over");
          start_over();
          restarted = true;
          redirects = 0;
          checksums.clear();
          current = start;
          continue;
        }
      }
      if (head.status == 200) {
        if (offset > 0) {
          note("the server ignored the request to continue at " + bytes_text(offset) + "; downloading from the start");
          start_over();
        }
        total = head.content_length.value_or(0);
      } else if (head.status == 206) {
        auto range = parse_content_range(head.get("Content-Range"));
        if (!range || !range->first || *range->first != offset)
          throw error(errc::protocol, current.to_string() + " sent a partial answer that does not start at byte " +
                                          std::to_string(offset) + " (Content-Range: " + head.get("Content-Range") + ")");
        total = range->total.value_or(0);
        if (!result.resumed) {
          result.resumed = true;
          result.resumed_from = offset;
        }
      } else {
        throw error(errc::http_status, current.to_string() + " answered HTTP " + std::to_string(head.status) +
                                           (head.reason.empty() ? "" : " " + head.reason) + status_advice(head.status),
                    head.status);
      }

      if (total > part.size()) check_free_space(part.path(), total - part.size());
      receive(conn);
      return;
    }
  }

  void receive(http_connection& conn) {
    if (options.on_progress) options.on_progress(part.size(), total);
    std::vector<char> buf(1 << 16);
    for (;;) {
      if (options.cancel && options.cancel->load())
        throw error(errc::cancelled, "download cancelled after " + bytes_text(part.size()));
      std::size_t n = 0;
      try {
        n = conn.read_body(buf.data(), buf.size());
      } catch (const error& e) {
        if (e.code() != errc::interrupted && e.code() != errc::timeout) throw;
        throw error(e.code(), std::string(e.what()) + " after " + bytes_text(part.size()) +
                                  (total ? " of " + bytes_text(total) : std::string()));
      }
      if (n == 0) break;
      part.append(buf.data(), n);
      hasher.update(buf.data(), n);
      if (options.on_progress) options.on_progress(part.size(), total);
    }
    if (total && part.size() != total)
      throw error(part.size() < total ? errc::interrupted : errc::protocol,
                  "received " + std::to_string(part.size()) + " bytes where the server announced " + std::to_string(total));
  }
};

}  // namespace

download_result download(const std::string& url_text, const std::string& destination, const download_options& options) {
  const url start = parse_url(url_text);
  download_result result;
  result.path = destination;
  result.final_url = start.to_string();

  std::error_code ec;
  if (!options.force && fs::is_regular_file(destination, ec)) {
    result.already_present = true;
    result.bytes = fs::file_size(destination, ec);
    result.sha256 = read_recorded_sha256(destination);
    return result;
  }
  if (auto dir = fs::path(destination).parent_path(); !dir.empty()) {
    fs::create_directories(dir, ec);
    if (ec) throw error(errc::io, "cannot create the folder '" + dir.string() + "': " + ec.message());
  }

  part_file part(destination + ".part");
  sha256 hasher;
  transfer t{options, part, hasher, result, {}, 0};
  try {
    if (options.force) part.truncate();
    if (part.size() > 0) {
      t.note("continuing an earlier download of " + fs::path(destination).filename().string() + ": checking the " +
             bytes_text(part.size()) + " already in " + part.path());
      part.hash_into(hasher);
    }
    auto delay = options.retry_delay;
    for (int attempt = 1;; ++attempt) {
      try {
        t.attempt(start);
        break;
      } catch (const error& e) {
        if (!e.retryable() || attempt >= std::max(1, options.max_attempts)) throw;
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(delay.count()) / 1000.0);
        t.note(std::string(e.what()) + "; trying again in " + seconds + " s (attempt " + std::to_string(attempt + 1) +
               " of " + std::to_string(options.max_attempts) + ")");
        std::this_thread::sleep_for(delay);
        delay *= 2;
      }
    }

    part.sync();
    result.bytes = part.size();
    result.sha256 = hasher.hex_digest();
    announced_checksum expected = t.checksums.best();
    if (!options.expected_sha256.empty()) expected = {options.expected_sha256, "pinned"};
    if (!expected.sha256.empty()) {
      if (expected.sha256 != result.sha256) {
        part.close();
        fs::remove(part.path(), ec);
        throw error(errc::checksum,
                    "the download of " + start.to_string() + " is corrupt: its SHA-256 is " + result.sha256 + " but " +
                        (expected.source == "pinned" ? std::string("rwkv-lsp expects ")
                                                     : "the server announced (" + expected.source + ") ") +
                        expected.sha256 + "; the file was deleted — run the command again" +
                        (expected.source == "pinned" ? " (if this repeats, the file changed upstream)" : ""));
      }
      result.checksum_source = expected.source;
    } else {
      t.note("the server announced no checksum, so the download is not verified (SHA-256 " + result.sha256 + ")");
    }
    fs::rename(part.path(), destination, ec);
    if (ec) throw error(errc::io, "cannot rename '" + part.path() + "' to '" + destination + "': " + ec.message());
    part.close();
    write_recorded_sha256(destination, result.sha256);
    sync_directory(destination);
    return result;
  } catch (const error& e) {
    const std::uint64_t kept = part.size();
    bool keep = kept > 0 && e.code() != errc::checksum && e.code() != errc::busy;
    std::string path = part.path();
    part.close();
    if (!keep) {
      if (e.code() != errc::busy) fs::remove(path, ec);
      throw;
    }
    if (e.code() == errc::interrupted || e.code() == errc::timeout || e.code() == errc::cancelled ||
        e.code() == errc::http_status)
      throw error(e.code(), std::string(e.what()) + "; the " + bytes_text(kept) +
                                " received are kept in " + path + " and running the same command again continues from there",
                  e.http_status());
    throw;
  }
}

}  // namespace rwkv::fetch
