// Downloading one URL to one file, robustly: redirects, resume, verification, atomic publish.
//
//   <destination>.part  receives the bytes; it survives an interruption, and the next call asks the
//                       server for the rest ("Range: bytes=N-"). A 206 continues the file; a 200
//                       (the server ignored the range) starts it over; a 416 whose total equals
//                       the part's size means the part is already complete.
//   checksum            the SHA-256 is computed while writing (the kept part is re-read on resume)
//                       and compared with options.expected_sha256, else with the one the server
//                       announced (fetch/checksum.hpp). A mismatch deletes the part and fails.
//   publish             fsync, then rename(<destination>.part, <destination>) — readers never see
//                       a half-written file — and <destination>.sha256 in `sha256sum` format.
//
// The part file is locked (flock) while a download runs, so two processes cannot interleave
// writes to it; the second one fails with errc::busy.
//
// Blocking; call from any one thread. The callbacks run on the calling thread.
#pragma once

#include "fetch/error.hpp"
#include "fetch/http_connection.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace rwkv::fetch {

struct download_options {
  connection_options connection;
  bool force = false;        // download even when the destination exists (replaced at the end)
  int max_redirects = 10;
  int max_attempts = 3;      // connections per call when a transfer breaks off or times out
  std::chrono::milliseconds retry_delay{2'000};  // before the second attempt; doubles after each
  std::string expected_sha256;  // known hash (lowercase hex); wins over what the server announces
  // (bytes present, total bytes or 0 when unknown), at the start and after every chunk.
  std::function<void(std::uint64_t, std::uint64_t)> on_progress;
  // Notes for the user ("resuming at 1.2 GB", "the server ignored the range request").
  std::function<void(const std::string&)> on_message;
  const std::atomic<bool>* cancel = nullptr;  // checked between chunks; errc::cancelled
};

struct download_result {
  std::string path;           // the destination
  std::string final_url;      // after redirects
  int redirects = 0;
  std::uint64_t bytes = 0;    // size of the file
  std::string sha256;         // of the file ("" when already present without a .sha256 record)
  std::string checksum_source;  // what it was verified against: "pinned", "digest", "x-linked-etag", ...; "" = not verified
  bool resumed = false;       // continued a partial download (this run or an earlier one)
  std::uint64_t resumed_from = 0;
  bool already_present = false;  // nothing downloaded: the destination existed and force was off
};

// Throws fetch::error. On failure the part file is kept when it holds bytes that a later call can
// resume from (interruption, timeout, disk full, cancel) and removed otherwise (HTTP errors before
// any byte, checksum mismatch).
download_result download(const std::string& url, const std::string& destination, const download_options& options = {});

}  // namespace rwkv::fetch
