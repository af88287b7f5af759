#include "fetch/error.hpp"

namespace rwkv::fetch {

const char* errc_name(errc code) noexcept {
  switch (code) {
    case errc::bad_url: return "bad_url";
    case errc::dns: return "dns";
    case errc::connect: return "connect";
    case errc::refused: return "refused";
    case errc::timeout: return "timeout";
    case errc::tls: return "tls";
    case errc::proxy: return "proxy";
    case errc::http_status: return "http_status";
    case errc::too_many_redirects: return "too_many_redirects";
    case errc::protocol: return "protocol";
    case errc::interrupted: return "interrupted";
    case errc::checksum: return "checksum";
    case errc::disk: return "disk";
    case errc::io: return "io";
    case errc::busy: return "busy";
    case errc::cancelled: return "cancelled";
  }
  return "?";
}

bool error::retryable() const noexcept {
  switch (code_) {
    case errc::interrupted:
    case errc::timeout: return true;
    case errc::http_status: return http_status_ == 429 || (http_status_ >= 500 && http_status_ <= 599);
    default: return false;
  }
}

}  // namespace rwkv::fetch
