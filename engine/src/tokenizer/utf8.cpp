// UTF-8 validation and U+FFFD repair (maximal-subpart substitution), shared by utf8_decoder and the
// free helpers so that they agree byte for byte on what is valid, invalid and incomplete.
#include "engine/utf8.hpp"

namespace rwkv::engine {

namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

enum class sequence_kind { valid, invalid, incomplete };

struct sequence {
  sequence_kind kind;
  // valid: the whole sequence; invalid: the maximal subpart to replace by one U+FFFD (at least 1);
  // incomplete: the bytes available, all a prefix of a well-formed sequence.
  std::size_t length;
};

// Classifies the sequence that starts at p[0] (n >= 1) by the table of well-formed byte sequences
// (Unicode section 3.9, table 3-7). The second byte's range is narrowed after E0, ED, F0 and F4 to
// exclude overlong forms, surrogates and code points above U+10FFFF.
sequence next_sequence(const unsigned char* p, std::size_t n) noexcept {
  const unsigned char lead = p[0];
  if (lead < 0x80) return {sequence_kind::valid, 1};
  std::size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return {sequence_kind::invalid, 1};  // 80-BF (stray continuation), C0, C1, F5-FF
  }
  for (std::size_t k = 1; k < need; ++k) {
    if (k == n) return {sequence_kind::incomplete, k};
    if (p[k] < lo || p[k] > hi) return {sequence_kind::invalid, k};
    lo = 0x80;
    hi = 0xBF;
  }
  return {sequence_kind::valid, need};
}

// Appends `in` to `out` with invalid sequences replaced. Returns how many bytes at the end of `in`
// form an incomplete sequence; they are not appended.
std::size_t append_repaired(std::string& out, std::string_view in) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t run_start = 0;  // start of the run of valid bytes not yet appended
  std::size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const sequence s = next_sequence(p + i, n - i);
    if (s.kind == sequence_kind::valid) {
      i += s.length;
      continue;
    }
    out.append(in.data() + run_start, i - run_start);
    if (s.kind == sequence_kind::incomplete) return n - i;
    out.append(replacement_character);
    i += s.length;
    run_start = i;
  }
  out.append(in.data() + run_start, n - run_start);
  return 0;
}

}  // namespace

std::size_t utf8_valid_prefix(std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const sequence s = next_sequence(p + i, bytes.size() - i);
    if (s.kind != sequence_kind::valid) break;
    i += s.length;
  }
  return i;
}

std::size_t utf8_incomplete_suffix(std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  // The held-back sequence starts at the last byte that is not a continuation byte, at most 3 back.
  for (std::size_t k = 1; k <= 3 && k <= n; ++k) {
    const unsigned char b = p[n - k];
    if (b >= 0x80 && b <= 0xBF) continue;
    const sequence s = next_sequence(p + n - k, k);
    return s.kind == sequence_kind::incomplete && s.length == k ? k : 0;
  }
  return 0;
}

std::string utf8_repair(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  if (append_repaired(out, bytes) != 0) out.append(replacement_character);
  return out;
}

std::string utf8_decoder::push(std::string_view bytes) {
  std::string joined;
  std::string_view input = bytes;
  if (!pending_.empty()) {
    joined.reserve(pending_.size() + bytes.size());
    joined.append(pending_).append(bytes);
    input = joined;
  }
  std::string out;
  out.reserve(input.size());
  const std::size_t held = append_repaired(out, input);
  pending_.assign(input.substr(input.size() - held));
  return out;
}

std::string utf8_decoder::flush() {
  // pending_ is one prefix of a well-formed sequence, hence one maximal subpart: one U+FFFD.
  std::string out = pending_.empty() ? std::string() : std::string(replacement_character);
  pending_.clear();
  return out;
}

}  // namespace rwkv::engine
