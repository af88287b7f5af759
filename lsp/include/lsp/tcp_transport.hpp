// A transport over TCP with Boost.Asio: listens on HOST:PORT and serves exactly one client.
//
// The constructor resolves, binds and listens, so that port 0 is already an actual port
// (port()) before run() starts; run() accepts one connection, closes the listening socket, and
// then reads that client until it disconnects, the handler says stop, or stop() is called. A
// second client is refused (nothing listens any more); editors start one server per workspace.
// When the client disconnects, run() returns and the server exits, as with stdio.
//
// Everything Asio runs on the thread inside run() (and inside flush() after run() returned), so
// the write queue needs no strand: send() posts to that loop. Binding to 127.0.0.1 is the default
// of the command line; binding elsewhere exposes the server to the network and is the caller's
// choice.
//
// Threads: as in transport.hpp.
#pragma once

#include "lsp/transport.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace rwkv::lsp {

class tcp_transport final : public transport {
 public:
  // Throws std::system_error (with the address in the message) when the address cannot be
  // resolved or bound.
  tcp_transport(const std::string& host, std::uint16_t port, framing_limits limits = {});
  ~tcp_transport() override;
  tcp_transport(const tcp_transport&) = delete;
  tcp_transport& operator=(const tcp_transport&) = delete;

  // The port actually bound (useful with port 0).
  std::uint16_t port() const;

  transport_status run(transport_handler& handler) override;
  void send(std::string body) override;
  void stop() override;
  void flush() override;

 private:
  struct impl;  // keeps Asio out of this header
  std::unique_ptr<impl> impl_;
};

}  // namespace rwkv::lsp
