#include "lsp/framing.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace rwkv::lsp {
namespace {

constexpr std::string_view content_length_name = "content-length";

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters: what a header name may consist of. Anything else on a header line
// before the colon is garbage (a stray body, log output on the wrong stream, ...).
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

// A short, printable excerpt of peer bytes for log messages.
std::string excerpt(std::string_view s) {
  constexpr std::size_t max_chars = 40;
  std::string out;
  for (char c : s.substr(0, max_chars)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (s.size() > max_chars) out += "...";
  return out;
}

enum class length_parse { ok, invalid, overflow };

length_parse parse_length(std::string_view value, std::uint64_t& out) {
  if (value.empty()) return length_parse::invalid;
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return length_parse::invalid;  // also rejects '-' and '+'
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return length_parse::overflow;
    n = n * 10 + digit;
  }
  out = n;
  return length_parse::ok;
}

// How a candidate `Content-Length:` line at `p` looks while resyncing.
enum class candidate { match, mismatch, need_more };

candidate check_candidate(std::string_view buf, std::size_t p) {
  constexpr std::string_view needle = "content-length:";
  std::size_t i = 0;
  for (; i < needle.size(); ++i) {
    if (p + i >= buf.size()) return candidate::need_more;
    if (lower(buf[p + i]) != needle[i]) return candidate::mismatch;
  }
  // The value must be digits between optional blanks, then the line break: a false match inside
  // a JSON string fails here because a string cannot contain a raw line break.
  std::size_t q = p + i;
  std::size_t digits = 0;
  constexpr std::size_t max_tail = 64;
  enum { lead, num, trail, cr } phase = lead;
  for (; q < buf.size(); ++q) {
    if (q - p > needle.size() + max_tail) return candidate::mismatch;
    char c = buf[q];
    if (c == '\n') return digits ? candidate::match : candidate::mismatch;
    if (phase == cr) return candidate::mismatch;
    if (c == '\r') {
      if (!digits) return candidate::mismatch;
      phase = cr;
    } else if (c == ' ' || c == '\t') {
      if (phase == num) phase = trail;
    } else if (c >= '0' && c <= '9') {
      if (phase == trail) return candidate::mismatch;
      phase = num;
      ++digits;
    } else {
      return candidate::mismatch;
    }
  }
  return candidate::need_more;
}

}  // namespace

message_reader::message_reader(framing_limits limits) : limits_(limits) {}

void message_reader::feed(std::string_view bytes) {
  // A large body arriving in chunks goes straight to body_ instead of through buffer_.
  if (state_ == state::body && available() == 0 && !bytes.empty()) {
    std::size_t take = std::min(body_remaining_, bytes.size());
    body_.append(bytes.data(), take);
    body_remaining_ -= take;
    bytes.remove_prefix(take);
  }
  compact();
  buffer_.append(bytes.data(), bytes.size());
}

void message_reader::compact() {
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  } else if (pos_ > 4096 && pos_ * 2 > buffer_.size()) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
}

void message_reader::reset_headers() {
  content_length_.reset();
  header_lines_ = 0;
  header_bytes_ = 0;
}

std::optional<framing_event> message_reader::fail(std::string description, std::size_t resync_from) {
  pos_ = std::min(resync_from, buffer_.size());
  reset_headers();
  body_.clear();
  body_.shrink_to_fit();
  state_ = state::resync;
  return framing_event{framing_event::kind::error, std::move(description)};
}

bool message_reader::resync() {
  std::string_view buf(buffer_);
  std::size_t p = pos_;
  while (p < buf.size()) {
    // Candidates start with 'c' or 'C'; jump between them.
    std::size_t c1 = buf.find('c', p), c2 = buf.find('C', p);
    std::size_t c = std::min(c1, c2);
    if (c == std::string_view::npos) {
      p = buf.size();
      break;
    }
    switch (check_candidate(buf, c)) {
      case candidate::match:
        pos_ = c;
        state_ = state::headers;
        reset_headers();
        return true;
      case candidate::need_more:
        pos_ = c;  // keep the partial candidate, drop what is before it
        compact();
        return false;
      case candidate::mismatch:
        p = c + 1;
        break;
    }
  }
  pos_ = p;
  compact();
  return false;
}

std::optional<framing_event> message_reader::next() {
  for (;;) {
    switch (state_) {
      case state::resync:
        if (!resync()) return std::nullopt;
        break;
      case state::body: {
        std::size_t take = std::min(body_remaining_, available());
        body_.append(buffer_, pos_, take);
        pos_ += take;
        body_remaining_ -= take;
        compact();
        if (body_remaining_ > 0) return std::nullopt;
        state_ = state::headers;
        reset_headers();
        framing_event event{framing_event::kind::message, std::move(body_)};
        body_ = std::string();
        return event;
      }
      case state::headers:
        if (auto event = next_header_line()) return event;
        if (state_ == state::headers) return std::nullopt;
        break;
    }
  }
}

// Consumes one header line if complete. Returns an error event, or nullopt either having
// changed state (end of headers) or with state_ still `headers` when more input is needed.
std::optional<framing_event> message_reader::next_header_line() {
  for (;;) {
    std::string_view buf(buffer_);
    std::size_t nl = buf.find('\n', pos_);
    if (nl == std::string_view::npos) {
      if (available() > limits_.max_header_line_bytes)
        return fail("header line longer than " + std::to_string(limits_.max_header_line_bytes) +
                        " bytes (\"" + excerpt(buf.substr(pos_)) + "\"); skipping to the next message",
                    pos_ + 1);
      return std::nullopt;
    }
    std::size_t line_start = pos_;
    std::string_view line = buf.substr(pos_, nl - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > limits_.max_header_line_bytes)
      return fail("header line longer than " + std::to_string(limits_.max_header_line_bytes) +
                      " bytes; skipping to the next message",
                  line_start + 1);

    if (line.empty()) {
      pos_ = nl + 1;
      if (header_lines_ == 0) continue;  // blank lines between messages
      if (!content_length_) return fail("message without a Content-Length header; skipping it", pos_);
      if (*content_length_ > limits_.max_message_bytes)
        return fail("message of " + std::to_string(*content_length_) + " bytes exceeds the limit of " +
                        std::to_string(limits_.max_message_bytes) + " bytes; skipping it",
                    pos_);
      body_.clear();
      body_remaining_ = static_cast<std::size_t>(*content_length_);
      // Grow with the data that actually arrives: a peer may declare much more than it sends.
      body_.reserve(std::min<std::size_t>(body_remaining_, std::size_t{1} << 20));
      state_ = state::body;
      return std::nullopt;
    }

    std::size_t colon = line.find(':');
    std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() ||
        !std::all_of(name.begin(), name.end(), is_token_char))
      return fail("malformed header line \"" + excerpt(line) + "\"; skipping to the next message", line_start + 1);
    if (name.size() > content_length_name.size() &&
        iequals(name.substr(name.size() - content_length_name.size()), content_length_name))
      return fail("garbage before a header (\"" + excerpt(line) + "\"); skipping to the next message",
                  line_start + 1);
    header_bytes_ += line.size();
    ++header_lines_;
    if (header_bytes_ > limits_.max_header_bytes)
      return fail("header block larger than " + std::to_string(limits_.max_header_bytes) +
                      " bytes; skipping to the next message",
                  line_start + 1);
    std::string_view value = trim(line.substr(colon + 1));
    pos_ = nl + 1;

    if (iequals(name, content_length_name)) {
      std::uint64_t n = 0;
      switch (parse_length(value, n)) {
        case length_parse::invalid:
          return fail("invalid Content-Length \"" + excerpt(value) + "\"; skipping to the next message", line_start + 1);
        case length_parse::overflow:
          return fail("Content-Length \"" + excerpt(value) + "\" is out of range; skipping to the next message",
                      line_start + 1);
        case length_parse::ok:
          break;
      }
      if (content_length_ && *content_length_ != n)
        return fail("conflicting Content-Length headers (" + std::to_string(*content_length_) + " and " +
                        std::to_string(n) + "); skipping to the next message",
                    line_start + 1);
      content_length_ = n;
    }
    // Content-Type and unknown headers are ignored: LSP only defines utf-8 for the body, and a
    // body in another charset fails JSON parsing with a clear error later.
  }
}

bool message_reader::mid_message() const {
  switch (state_) {
    case state::body:
      return true;
    case state::resync:
      return false;
    case state::headers:
      if (header_lines_ > 0) return true;
      for (std::size_t i = pos_; i < buffer_.size(); ++i)
        if (buffer_[i] != '\r' && buffer_[i] != '\n') return true;
      return false;
  }
  return false;
}

std::string frame_message(std::string_view body) {
  std::string out = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out.append(body.data(), body.size());
  return out;
}

}  // namespace rwkv::lsp
