// The transport: bytes on a pipe or socket <-> LSP message bodies.
//
// A transport owns the connection and the framing (lsp/framing.hpp); it knows nothing of JSON.
// Implementations: fd_transport (a pair of file descriptors, stdio), tcp_transport (Boost.Asio,
// one client), memory_transport (tests).
//
// Threads:
// - run() is called once, on the thread that will handle messages (the "protocol thread"); it
//   blocks, handing every message body to the handler on that thread, until the handler returns
//   false, stop() is called, the peer closes, or an I/O error happens.
// - send() and stop() may be called from any thread, also while run() is blocked and after it
//   returned. send() never blocks on the peer: it queues, and a writer (a thread or the Asio
//   loop) writes in order. Sends after the peer went away are dropped silently.
// - flush() is called by the thread that called run(), after run() returned.
#pragma once

#include "lsp/framing.hpp"

#include <string>
#include <string_view>

namespace rwkv::lsp {

// Why run() returned.
enum class transport_status {
  stopped,    // the handler returned false or stop() was called
  closed,     // the peer closed the connection between messages (EOF)
  truncated,  // the peer closed the connection in the middle of a message
  failed,     // an I/O error; the handler was told why through on_transport_error
};

std::string_view to_string(transport_status status);

class transport_handler {
 public:
  virtual ~transport_handler() = default;
  // One complete message body, not yet parsed nor checked for UTF-8. Return false to stop reading
  // (after `exit`): run() then returns `stopped` and queued sends are still written.
  virtual bool on_message(std::string body) = 0;
  // A framing problem the reader recovered from (bytes were skipped) or an I/O error; for the log.
  virtual void on_transport_error(std::string_view description) = 0;
};

class transport {
 public:
  virtual ~transport() = default;

  virtual transport_status run(transport_handler& handler) = 0;
  // Queues one message body; the transport adds the framing.
  virtual void send(std::string body) = 0;
  // Makes run() return `stopped` soon; idempotent.
  virtual void stop() = 0;
  // Blocks until everything queued so far is written or the peer is gone. Call it after run()
  // returned and the last other sender stopped, before the process exits.
  virtual void flush() = 0;
};

// Hands every event the reader can produce to the handler; false once the handler asked to stop.
// Shared by the transports so they frame and report errors identically.
bool deliver_messages(message_reader& reader, transport_handler& handler);

}  // namespace rwkv::lsp
