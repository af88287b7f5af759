// Incremental SHA-256 (OpenSSL's EVP), hashed while the bytes stream to disk.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace rwkv::fetch {

class sha256 {
 public:
  sha256();
  ~sha256();
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;

  void update(const void* data, std::size_t size);
  // Lowercase hex of everything given since construction or reset(); the hasher then starts over.
  std::string hex_digest();
  void reset();

 private:
  evp_md_ctx_st* ctx_;
};

std::string sha256_hex(std::string_view data);

}  // namespace rwkv::fetch
