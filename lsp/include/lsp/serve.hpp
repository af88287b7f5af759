// The `serve` entry point: the command line, the choice of transport, and the loop that runs the
// server until exit.
//
//   rwkv-lsp serve [--stdio | --tcp HOST:PORT] [--model PATH] [--vocab PATH] [--threads N] [--KEY VALUE ...]
//
// --stdio (the default) serves on stdin/stdout. --tcp listens on HOST:PORT for one client;
// "--tcp PORT" and "--tcp :PORT" listen on 127.0.0.1, and "[::1]:PORT" takes IPv6 literals.
// --model, --vocab and --threads, and any other --some-key VALUE (or --some-key=VALUE), become
// default settings {"model", "vocab", "threads", "someKey"} that initializationOptions override.
// A value that parses as a JSON number, boolean or null is stored as such, anything else as a
// string; an option followed by another option or by nothing is `true`.
//
// Threads: run_server() and serve() block the calling thread, which becomes the protocol thread.
#pragma once

#include "lsp/completion_service.hpp"
#include "lsp/server_options.hpp"
#include "lsp/transport.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace rwkv::lsp {

struct serve_options {
  enum class transport_kind { stdio, tcp };
  transport_kind transport = transport_kind::stdio;
  std::string host = "127.0.0.1";  // --tcp only
  std::uint16_t port = 0;          // --tcp only; 0 picks a free port (printed on stderr)
  nlohmann::json settings = nlohmann::json::object();  // defaults for service.configure
  bool help = false;                                   // --help / -h
};

// `args` are the arguments after "serve". Throws std::invalid_argument with a message meant for
// the user (print it with serve_usage()).
serve_options parse_serve_args(const std::vector<std::string>& args);
std::string serve_usage();

// Runs the LSP server on `connection` until `exit` or the end of the connection, then stops the
// service, flushes what is queued and returns the process exit code (0 after shutdown, else 1).
int run_server(transport& connection, completion_service& service, const server_options& options);

// Makes the transport `options` ask for, and runs the server on it. `base` supplies everything
// but the default settings, which come from `options`. Returns the exit code; 1 (with a message
// on stderr) when the transport cannot be set up.
int serve(const serve_options& options, completion_service& service, server_options base = {});

}  // namespace rwkv::lsp
