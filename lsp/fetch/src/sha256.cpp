#include "fetch/sha256.hpp"

#include <openssl/evp.h>

#include <new>

namespace rwkv::fetch {

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw std::bad_alloc();
  reset();
}

sha256::~sha256() { EVP_MD_CTX_free(ctx_); }

void sha256::reset() { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }

void sha256::update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_, data, size); }

std::string sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, md, &n);
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  reset();
  return out;
}

std::string sha256_hex(std::string_view data) {
  sha256 h;
  h.update(data.data(), data.size());
  return h.hex_digest();
}

}  // namespace rwkv::fetch
