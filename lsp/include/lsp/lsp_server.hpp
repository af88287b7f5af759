// The LSP server: JSON-RPC messages in, calls on completion_service out, answers back.
//
// It owns the protocol state (lifecycle, negotiated position encoding, open documents and their
// line indexes, requests in flight, trace level, progress tokens) and nothing of the model. In
// clangd's terms this is ClangdLSPServer; completion_service is ClangdServer.
//
// Lifecycle:
//   - before `initialize`: requests get -32002, notifications are dropped (except `exit`);
//   - `initialize` (only once; again -> -32600): negotiates the position encoding (utf-8 when the
//     client offers it, else utf-16, which every client supports), applies the settings (the
//     command-line defaults with initializationOptions merged over them) with service.configure
//     *before* answering, and shows a window/showMessage error when they are rejected (then the
//     command-line settings alone are tried);
//   - `shutdown`: cancels every request in flight, stops the service (pending requests are answered
//     -32800), answers null; afterwards requests get -32600 and notifications are dropped;
//   - `exit`: run() stops reading; the exit code is 0 after `shutdown` and 1 without. A client
//     that closes the connection counts the same way (0 if it sent shutdown, else 1).
// Requests: textDocument/inlineCompletion, textDocument/completion, rwkv/status, initialize,
// shutdown; `$/`-prefixed and unknown requests get -32601. Parameters of the wrong shape get
// -32602 naming the field; a position whose line is past the end of the document, or a document
// that is not open, also -32602.
// Notifications: initialized, exit, $/cancelRequest, $/setTrace, workspace/didChangeConfiguration,
// textDocument/didOpen, didChange, didClose, didSave; others (and other `$/` ones) are ignored.
// Configuration: workspace/didChangeConfiguration's settings are read from settings["rwkv-lsp"]
// and settings.rwkv (merged, "rwkv" winning) when either is an object, else from the top level
// (clients that send only this server's section). Rejected settings -> window/showMessage error;
// the service keeps the last good ones.
// Cancellation: $/cancelRequest sets the request's cancel flag; the request is then answered when
// the service calls back: -32800 if it reports `cancelled`, its result if it had finished. A
// request is answered exactly once, never dropped, also when the server stops.
// Logging: window/logMessage carries errors and warnings always, info with trace "messages" or
// "verbose", and debug lines (one per incoming message, among others) with "verbose". Messages
// of server_options::stderr_log_level or more severe also go to stderr.
//
// Threads: on_message() and finish() run on the protocol thread (the transport's run()).
// Completion callbacks and the service's client hooks run on the service's worker threads: they
// only touch the pending-request table (under a mutex), the rpc_channel and the progress
// reporter, all thread-safe. The service must outlive the server; the destructor stops the
// service first so that no callback outlives the server.
#pragma once

#include "lsp/completion_service.hpp"
#include "lsp/document.hpp"
#include "lsp/json_rpc.hpp"
#include "lsp/positions.hpp"
#include "lsp/progress_reporter.hpp"
#include "lsp/rpc_channel.hpp"
#include "lsp/server_options.hpp"
#include "lsp/transport.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rwkv::lsp {

class lsp_server final : public transport_handler {
 public:
  // Installs the client hooks on `service` at once.
  lsp_server(transport& out, completion_service& service, server_options options = {});
  ~lsp_server() override;
  lsp_server(const lsp_server&) = delete;
  lsp_server& operator=(const lsp_server&) = delete;

  bool on_message(std::string body) override;
  void on_transport_error(std::string_view description) override;

  // Once the transport's run() returned: logs why, stops the service and answers whatever is
  // still pending with -32800. Idempotent.
  void finish(transport_status status);

  int exit_code() const { return shutdown_received_ ? 0 : 1; }
  bool exit_received() const { return exit_received_; }
  bool shutdown_received() const { return shutdown_received_; }
  position_encoding encoding() const { return encoding_; }
  std::size_t pending_requests() const;
  std::size_t open_documents() const { return documents_.size(); }
  const document* find_document(const std::string& uri) const;

 private:
  enum class lifecycle { uninitialized, running, shutting_down, exited };
  enum trace_level : int { trace_off = 0, trace_messages = 1, trace_verbose = 2 };
  using result_formatter = std::function<nlohmann::json(const completion_result&)>;
  using request_method = void (lsp_server::*)(const nlohmann::json& id, const nlohmann::json& params);
  using notification_method = void (lsp_server::*)(const nlohmann::json& params);

  struct pending_request {
    nlohmann::json id;
    std::shared_ptr<std::atomic<bool>> cancel;
  };

  void handle_request(const incoming_message& message);
  bool handle_notification(const incoming_message& message);

  // Requests.
  void on_initialize(const nlohmann::json& id, const nlohmann::json& params);
  void on_shutdown(const nlohmann::json& id, const nlohmann::json& params);
  void on_inline_completion(const nlohmann::json& id, const nlohmann::json& params);
  void on_completion(const nlohmann::json& id, const nlohmann::json& params);
  void on_status(const nlohmann::json& id, const nlohmann::json& params);
  // Notifications.
  void on_initialized(const nlohmann::json& params);
  void on_cancel_request(const nlohmann::json& params);
  void on_set_trace(const nlohmann::json& params);
  void on_did_change_configuration(const nlohmann::json& params);
  void on_did_open(const nlohmann::json& params);
  void on_did_change(const nlohmann::json& params);
  void on_did_close(const nlohmann::json& params);
  void on_did_save(const nlohmann::json& params);

  const document& require_document(const std::string& uri) const;
  std::size_t require_offset(const document& doc, const position& pos) const;
  void start_completion(const nlohmann::json& id, completion_request request, result_formatter format);
  void finish_completion(const std::string& key, const result_formatter& format, completion_result result);
  void apply_initial_settings(const nlohmann::json& initialization_options);
  void stop_service(const std::string& reason);

  // Any thread.
  void log(int type, const std::string& message);
  void show_message(int type, const std::string& message);

  rpc_channel channel_;
  completion_service& service_;
  server_options options_;
  progress_reporter progress_;

  // Protocol thread only.
  lifecycle state_ = lifecycle::uninitialized;
  bool shutdown_received_ = false;
  bool exit_received_ = false;
  bool finished_ = false;
  bool service_stopped_ = false;
  position_encoding encoding_ = position_encoding::utf16;
  std::unordered_map<std::string, document> documents_;

  // Any thread.
  std::atomic<int> trace_{trace_off};
  std::atomic<bool> client_ready_{false};  // initialize arrived: the client listens to window/*
  mutable std::mutex pending_mutex_;
  std::unordered_map<std::string, pending_request> pending_;  // by id_key
};

}  // namespace rwkv::lsp
