// The SHA-256 a server announces for the file it sends, gathered over the redirect chain.
//
// Sources, strongest first:
//   * Digest: sha-256=<base64> (RFC 3230) / Repr-Digest: sha-256=:<base64>: (RFC 9530), and
//     X-Checksum-Sha256: <hex> (Artifactory, Nexus);
//   * X-Linked-Etag: "<sha256 hex>" — Hugging Face sends it on the answer to /resolve/ (the redirect
//     to its CDN) for files stored with Git LFS; it is the LFS object id, the file's SHA-256;
//   * ETag: "<64 hex>" only on a Hugging Face answer (one that carries X-Repo-Commit), where it is
//     the same LFS id. Other servers' ETags are opaque (GitHub's raw server, S3, nginx), so they are
//     never taken for a hash; a 40-hex ETag from Hugging Face is a git blob id and is ignored too.
#pragma once

#include "fetch/http_connection.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rwkv::fetch {

// "sha-256=<base64>" among comma-separated digests (either RFC form) -> lowercase hex.
std::optional<std::string> sha256_from_digest_field(std::string_view value);
// "<64 hex>" with optional quotes -> lowercase hex; weak ("W/") or other lengths give nullopt.
std::optional<std::string> sha256_from_etag_field(std::string_view value);

struct announced_checksum {
  std::string sha256;  // lowercase hex, "" when no answer announced one
  std::string source;  // "digest", "x-checksum-sha256", "x-linked-etag", "etag"
};

class checksum_collector {
 public:
  // Looks at one answer of the chain (redirects included).
  void add(const response_head& head);
  // The strongest source seen; ties keep the first answer's value.
  const announced_checksum& best() const noexcept { return best_; }
  void clear() { best_ = {}; rank_ = 0; }

 private:
  announced_checksum best_;
  int rank_ = 0;
};

}  // namespace rwkv::fetch
