// LSP base protocol framing: turns a byte stream into message bodies, and bodies into frames.
//
//   Content-Length: <N>\r\n
//   [Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n]
//   \r\n
//   <N bytes of UTF-8 JSON>
//
// message_reader does no I/O: transports feed it whatever a read returned (split or coalesced
// messages alike) and pull events. It never allocates more than max_message_bytes for a body, nor
// more than max_header_line_bytes for a header line, whatever the peer declares.
//
// Recovery: every framing error (a header line that is not `name: value`, a missing, duplicate
// and different, non-numeric, negative or overflowing Content-Length, a header line or block that
// is too long, garbage between messages, a body over the limit) yields one error event and puts
// the reader into resync: it discards bytes until the next `Content-Length: <digits>` line, which
// it may find anywhere, even glued to the end of a previous body. That is safe because a valid JSON
// body cannot contain that sequence: JSON has no bare words and its strings cannot hold a raw
// line break. Nothing is ever fatal at this layer; a transport closes only on EOF or I/O errors.
// A message is lost only with the bytes around it: the one whose header was bad, and the next
// one when stray bytes glued before its header form a valid-looking `name: value` line.
// Lenient on purpose: header names are case-insensitive, a bare `\n` ends a header line, blank
// lines between messages are skipped silently, identical duplicate Content-Length headers pass,
// unknown headers are ignored, and so is Content-Type (LSP only has utf-8; a body in another
// charset then fails as invalid JSON or UTF-8 with a -32700 answer).
//
// Threads: a message_reader is used by one thread at a time (the transport's reading thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rwkv::lsp {

struct framing_limits {
  std::size_t max_message_bytes = std::size_t{64} << 20;  // bodies above this are skipped unread
  std::size_t max_header_line_bytes = 8 * 1024;            // one header line, without its line break
  std::size_t max_header_bytes = 64 * 1024;                // all header lines of one message
};

struct framing_event {
  enum class kind { message, error } what = kind::message;
  std::string text;  // the body for `message`; a description for the log for `error`
};

class message_reader {
 public:
  explicit message_reader(framing_limits limits = {});

  // Appends bytes as they came from the peer; cheap, parsing happens in next().
  void feed(std::string_view bytes);
  // The next complete message or error, or nullopt when more input is needed.
  std::optional<framing_event> next();

  // True when part of a message is buffered, so that EOF now cuts a message short.
  bool mid_message() const;
  const framing_limits& limits() const { return limits_; }
  // Bytes allocated for buffering (for tests of the memory bounds).
  std::size_t memory_footprint() const { return buffer_.capacity() + body_.capacity(); }

 private:
  enum class state { headers, body, resync };

  std::optional<framing_event> next_header_line();
  std::optional<framing_event> fail(std::string description, std::size_t resync_from);
  bool resync();
  void reset_headers();
  void compact();
  std::size_t available() const { return buffer_.size() - pos_; }

  framing_limits limits_;
  state state_ = state::headers;
  std::string buffer_;  // unconsumed input starts at pos_
  std::size_t pos_ = 0;
  // Header block being read.
  std::optional<std::uint64_t> content_length_;
  std::size_t header_lines_ = 0;
  std::size_t header_bytes_ = 0;
  // Body being read.
  std::string body_;
  std::size_t body_remaining_ = 0;
};

// Content-Length header, blank line, body.
std::string frame_message(std::string_view body);

}  // namespace rwkv::lsp
