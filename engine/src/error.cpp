#include "engine/error.hpp"

namespace rwkv::engine {

const char* errc_name(errc code) noexcept {
  switch (code) {
    case errc::io: return "io";
    case errc::bad_format: return "bad_format";
    case errc::unsupported: return "unsupported";
    case errc::bad_model: return "bad_model";
    case errc::bad_argument: return "bad_argument";
    case errc::state_mismatch: return "state_mismatch";
    case errc::cancelled: return "cancelled";
    case errc::out_of_memory: return "out_of_memory";
  }
  return "unknown";
}

}  // namespace rwkv::engine
