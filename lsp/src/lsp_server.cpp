#include "lsp/lsp_server.hpp"

#include "lsp/completion_format.hpp"
#include "lsp/protocol.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#ifndef RWKV_LSP_VERSION
#define RWKV_LSP_VERSION "0.0.0"
#endif

namespace rwkv::lsp {

using json = nlohmann::json;

const char* server_version() { return RWKV_LSP_VERSION; }

namespace {

template <class T>
T parse(const json& params) {
  return params.get<T>();  // from_json throws protocol_error (-32602) naming the field
}

position_encoding choose_encoding(const std::vector<std::string>& offered) {
  // utf-8 is what documents are stored in, so it needs no conversion at all; utf-16 is the one
  // every client must support.
  if (std::find(offered.begin(), offered.end(), "utf-8") != offered.end()) return position_encoding::utf8;
  return position_encoding::utf16;
}

std::optional<int> parse_trace(const std::string& value) {
  if (value == "off") return 0;
  if (value == "messages") return 1;
  if (value == "verbose") return 2;
  return std::nullopt;
}

// This server's part of workspace/didChangeConfiguration's settings (see lsp_server.hpp).
std::optional<json> extract_settings(const json& settings) {
  if (!settings.is_object()) return std::nullopt;
  json merged = json::object();
  bool namespaced = false;
  for (const char* key : {"rwkv-lsp", "rwkv"}) {
    auto it = settings.find(key);
    if (it != settings.end() && it->is_object()) {
      merged.update(*it, /*merge_objects=*/true);
      namespaced = true;
    }
  }
  return namespaced ? merged : settings;
}

const char* type_name(int type) {
  switch (type) {
    case message_error:
      return "error";
    case message_warning:
      return "warning";
    case message_info:
      return "info";
    default:
      return "log";
  }
}

}  // namespace

lsp_server::lsp_server(transport& out, completion_service& service, server_options options)
    : channel_(out), service_(service), options_(std::move(options)), progress_(channel_) {
  completion_service::client_hooks hooks;
  hooks.show_message = [this](int type, const std::string& message) { show_message(type, message); };
  hooks.log_message = [this](int type, const std::string& message) { log(type, message); };
  hooks.progress = [this](const std::string& token, const std::string& kind, const std::string& title, int percentage) {
    progress_.report(token, kind, title, percentage);
  };
  service_.set_client_hooks(std::move(hooks));
}

lsp_server::~lsp_server() {
  stop_service("the server is stopping");
  // The hooks point at this object; the service outlives it.
  service_.set_client_hooks({});
}

std::size_t lsp_server::pending_requests() const {
  std::lock_guard lock(pending_mutex_);
  return pending_.size();
}

const document* lsp_server::find_document(const std::string& uri) const {
  auto it = documents_.find(uri);
  return it == documents_.end() ? nullptr : &it->second;
}

// ---- Dispatch ------------------------------------------------------------------------------

bool lsp_server::on_message(std::string body) {
  incoming_message message = parse_message(body);
  switch (message.what) {
    case incoming_message::kind::invalid:
      log(message_warning, std::string("invalid message: ") + message.problem->what());
      if (message.answer) channel_.reply_error(message.id, message.problem->code(), message.problem->what());
      return true;
    case incoming_message::kind::response:
      if (trace_ >= trace_verbose) log(message_log, "response " + message.id.dump());
      if (!channel_.dispatch_response(message))
        log(message_info, "response to unknown request " + message.id.dump() + "; ignored");
      return true;
    case incoming_message::kind::notification:
      return handle_notification(message);
    case incoming_message::kind::request:
      handle_request(message);
      return true;
  }
  return true;
}

void lsp_server::on_transport_error(std::string_view description) {
  log(message_warning, "transport: " + std::string(description));
}

void lsp_server::handle_request(const incoming_message& message) {
  static const std::unordered_map<std::string, request_method> methods = {
      {"initialize", &lsp_server::on_initialize},
      {"shutdown", &lsp_server::on_shutdown},
      {"textDocument/inlineCompletion", &lsp_server::on_inline_completion},
      {"textDocument/completion", &lsp_server::on_completion},
      {"rwkv/status", &lsp_server::on_status},
  };
  if (trace_ >= trace_verbose) log(message_log, "request " + message.method + " " + message.id.dump());
  try {
    if (state_ == lifecycle::uninitialized && message.method != "initialize")
      throw rpc_error(error_code::server_not_initialized, "the server is not initialized yet: send initialize first");
    if (state_ != lifecycle::uninitialized && state_ != lifecycle::running)
      throw rpc_error(error_code::invalid_request, "the server is shutting down; only exit is accepted now");
    auto it = methods.find(message.method);
    if (it == methods.end()) throw rpc_error(error_code::method_not_found, "method not found: " + message.method);
    (this->*(it->second))(message.id, message.params);
  } catch (const rpc_error& e) {
    if (e.code() == error_code::invalid_params) log(message_warning, message.method + ": " + e.what());
    channel_.reply_error(message.id, e.code(), e.what());
  } catch (const std::exception& e) {
    log(message_error, message.method + " failed: " + e.what());
    channel_.reply_error(message.id, error_code::internal_error, e.what());
  }
}

bool lsp_server::handle_notification(const incoming_message& message) {
  static const std::unordered_map<std::string, notification_method> methods = {
      {"initialized", &lsp_server::on_initialized},
      {"$/cancelRequest", &lsp_server::on_cancel_request},
      {"$/setTrace", &lsp_server::on_set_trace},
      {"workspace/didChangeConfiguration", &lsp_server::on_did_change_configuration},
      {"textDocument/didOpen", &lsp_server::on_did_open},
      {"textDocument/didChange", &lsp_server::on_did_change},
      {"textDocument/didClose", &lsp_server::on_did_close},
      {"textDocument/didSave", &lsp_server::on_did_save},
  };
  if (trace_ >= trace_verbose) log(message_log, "notification " + message.method);
  if (message.method == "exit") {
    exit_received_ = true;
    state_ = lifecycle::exited;
    return false;
  }
  if (state_ != lifecycle::running) {
    log(message_log, message.method + " dropped: " +
                         (state_ == lifecycle::uninitialized ? "not initialized yet" : "shutting down"));
    return true;
  }
  auto it = methods.find(message.method);
  if (it == methods.end()) {
    log(message_log, "notification " + message.method + " ignored");
    return true;
  }
  try {
    (this->*(it->second))(message.params);
  } catch (const std::exception& e) {
    // Notifications cannot be answered: the log is all the client gets.
    log(message_warning, message.method + ": " + e.what());
  }
  return true;
}

// ---- Lifecycle -----------------------------------------------------------------------------

void lsp_server::on_initialize(const json& id, const json& params) {
  if (state_ != lifecycle::uninitialized) throw rpc_error(error_code::invalid_request, "initialize may only be sent once");
  auto p = parse<initialize_params>(params);
  encoding_ = choose_encoding(p.position_encodings);
  trace_ = parse_trace(p.trace).value_or(trace_off);
  progress_.enable(p.work_done_progress);
  client_ready_ = true;
  if (p.client_info)
    log(message_info, "client: " + p.client_info->name + (p.client_info->version ? " " + *p.client_info->version : ""));
  apply_initial_settings(p.initialization_options);

  initialize_result result;
  result.position_encoding = std::string(to_string(encoding_));
  result.completion_trigger_characters = options_.completion_trigger_characters;
  result.info = server_info{options_.name, options_.version};
  channel_.reply(id, result);
  state_ = lifecycle::running;
  progress_.client_ready();
}

void lsp_server::apply_initial_settings(const json& initialization_options) {
  const json& defaults = options_.default_settings;
  json settings = defaults.is_object() ? defaults : json::object();
  bool overridden = false;
  if (initialization_options.is_object()) {
    settings.update(initialization_options, /*merge_objects=*/true);
    overridden = !initialization_options.empty();
  } else if (!initialization_options.is_null()) {
    show_message(message_warning, "rwkv-lsp: initializationOptions must be an object; ignored");
  }
  settings_result applied = service_.configure(settings);
  if (applied.ok) return;
  show_message(message_error, "rwkv-lsp: invalid settings: " + applied.message);
  if (overridden && defaults.is_object() && !defaults.empty()) {
    settings_result fallback = service_.configure(defaults);
    if (!fallback.ok) show_message(message_error, "rwkv-lsp: invalid command-line settings: " + fallback.message);
  }
}

void lsp_server::on_initialized(const json&) { log(message_log, "client initialized"); }

void lsp_server::on_shutdown(const json& id, const json&) {
  state_ = lifecycle::shutting_down;
  shutdown_received_ = true;
  stop_service("the server is shutting down");
  channel_.reply(id, nullptr);
}

void lsp_server::finish(transport_status status) {
  if (finished_) return;
  finished_ = true;
  switch (status) {
    case transport_status::stopped:
      if (!exit_received_) log(message_info, "stopped");
      break;
    case transport_status::closed:
    case transport_status::truncated:
      log(shutdown_received_ ? message_info : message_warning,
          std::string("connection ") + std::string(to_string(status)) + (shutdown_received_ ? "" : " without shutdown"));
      break;
    case transport_status::failed:
      log(message_error, "the connection failed");
      break;
  }
  stop_service("the server is stopping");
}

void lsp_server::stop_service(const std::string& reason) {
  if (service_stopped_) return;
  service_stopped_ = true;
  {
    std::lock_guard lock(pending_mutex_);
    for (auto& [key, request] : pending_) request.cancel->store(true);
  }
  service_.shutdown();
  // The service should have called back for everything; answer what it left so that no
  // request is ever dropped.
  std::vector<json> left;
  {
    std::lock_guard lock(pending_mutex_);
    for (auto& [key, request] : pending_) left.push_back(request.id);
    pending_.clear();
  }
  for (const auto& id : left) channel_.reply_error(id, error_code::request_cancelled, reason);
}

void lsp_server::on_set_trace(const json& params) {
  auto p = parse<set_trace_params>(params);
  auto level = parse_trace(p.value);
  if (!level) throw protocol_error("value", "expected \"off\", \"messages\" or \"verbose\"");
  trace_ = *level;
}

void lsp_server::on_did_change_configuration(const json& params) {
  auto p = parse<did_change_configuration_params>(params);
  auto settings = extract_settings(p.settings);
  if (!settings) {
    log(message_info, "workspace/didChangeConfiguration without settings for rwkv-lsp; nothing changed");
    return;
  }
  settings_result applied = service_.configure(*settings);
  if (!applied.ok)
    show_message(message_error, "rwkv-lsp: invalid settings: " + applied.message + " (keeping the previous settings)");
}

void lsp_server::on_cancel_request(const json& params) {
  auto p = parse<cancel_params>(params);
  std::lock_guard lock(pending_mutex_);
  auto it = pending_.find(id_key(p.id));
  if (it != pending_.end()) it->second.cancel->store(true);
  // Otherwise it was answered already: nothing to do.
}

// ---- Documents -----------------------------------------------------------------------------

void lsp_server::on_did_open(const json& params) {
  auto p = parse<did_open_text_document_params>(params);
  const auto& item = p.text_document;
  auto [it, inserted] = documents_.try_emplace(item.uri, item.language_id, item.text, item.version);
  if (!inserted) {
    log(message_warning, "didOpen for " + item.uri + ", which is open already; replacing it");
    service_.close(item.uri);
    it->second = document(item.language_id, item.text, item.version);
  }
  service_.open(item.uri, item.language_id, std::move(p.text_document.text), item.version);
}

void lsp_server::on_did_change(const json& params) {
  auto p = parse<did_change_text_document_params>(params);  // all changes parsed before any applies
  const std::string& uri = p.text_document.uri;
  auto it = documents_.find(uri);
  if (it == documents_.end()) {
    log(message_warning, "didChange for " + uri + ", which is not open; ignored");
    return;
  }
  document& doc = it->second;
  if (p.text_document.version <= doc.version())
    log(message_info, "didChange for " + uri + ": version " + std::to_string(p.text_document.version) +
                          " does not follow " + std::to_string(doc.version()));
  std::vector<byte_edit> edits;
  edits.reserve(p.content_changes.size());
  bool clamped = false;
  for (const auto& change : p.content_changes) {
    auto applied = doc.apply(change, encoding_);
    clamped = clamped || applied.clamped;
    edits.push_back(std::move(applied.edit));
  }
  if (clamped)
    log(message_warning, "didChange for " + uri +
                             ": a range lies outside the document or is reversed; clamped to the document");
  doc.set_version(p.text_document.version);
  if (!edits.empty()) service_.change(uri, edits, p.text_document.version);
}

void lsp_server::on_did_close(const json& params) {
  auto p = parse<did_close_text_document_params>(params);
  if (documents_.erase(p.text_document.uri) == 0) {
    log(message_warning, "didClose for " + p.text_document.uri + ", which is not open; ignored");
    return;
  }
  service_.close(p.text_document.uri);
}

void lsp_server::on_did_save(const json& params) {
  auto p = parse<did_save_text_document_params>(params);
  if (documents_.count(p.text_document.uri)) service_.save(p.text_document.uri);
}

// ---- Completion ----------------------------------------------------------------------------

const document& lsp_server::require_document(const std::string& uri) const {
  auto it = documents_.find(uri);
  if (it == documents_.end()) throw protocol_error("textDocument.uri", "document is not open: " + uri);
  return it->second;
}

std::size_t lsp_server::require_offset(const document& doc, const position& pos) const {
  auto offset = doc.offset_of(pos, encoding_);
  if (!offset)
    throw protocol_error("position.line", "line " + std::to_string(pos.line) + " is past the end of the document (" +
                                              std::to_string(doc.line_count()) + " lines)");
  return *offset;
}

void lsp_server::on_inline_completion(const json& id, const json& params) {
  auto p = parse<inline_completion_params>(params);
  const document& doc = require_document(p.text_document.uri);
  std::size_t offset = require_offset(doc, p.position);
  bool invoked = p.context.trigger_kind == inline_invoked;
  completion_request request;
  request.uri = p.text_document.uri;
  request.offset = offset;
  request.trigger = invoked ? trigger_kind::invoked : trigger_kind::automatic;
  request.max_candidates = invoked ? std::max(1, options_.invoked_candidates) : 1;
  start_completion(id, std::move(request), [at = snapshot_cursor(doc, offset, encoding_)](const completion_result& r) {
    return json(make_inline_completion_list(r, at));
  });
}

void lsp_server::on_completion(const json& id, const json& params) {
  auto p = parse<completion_params>(params);
  const document& doc = require_document(p.text_document.uri);
  std::size_t offset = require_offset(doc, p.position);
  completion_request request;
  request.uri = p.text_document.uri;
  request.offset = offset;
  // No context means the client did not say why: treat it as an explicit request.
  bool invoked = !p.context || p.context->trigger_kind == completion_invoked;
  request.trigger = invoked ? trigger_kind::invoked : trigger_kind::automatic;
  request.max_candidates = 1;
  start_completion(id, std::move(request), [at = snapshot_cursor(doc, offset, encoding_)](const completion_result& r) {
    return json(make_completion_list(r, at));
  });
}

void lsp_server::start_completion(const json& id, completion_request request, result_formatter format) {
  std::string key = id_key(id);
  {
    std::lock_guard lock(pending_mutex_);
    if (pending_.count(key))
      throw rpc_error(error_code::invalid_request, "request id " + id.dump() + " is already in use by a pending request");
    pending_.emplace(key, pending_request{id, request.cancel});
  }
  try {
    // The callback may run on a worker thread, or inline before complete() returns.
    service_.complete(std::move(request), [this, key, format = std::move(format)](completion_result result) {
      finish_completion(key, format, std::move(result));
    });
  } catch (...) {
    std::lock_guard lock(pending_mutex_);
    pending_.erase(key);
    throw;
  }
}

void lsp_server::finish_completion(const std::string& key, const result_formatter& format, completion_result result) {
  json id;
  {
    std::lock_guard lock(pending_mutex_);
    auto it = pending_.find(key);
    if (it == pending_.end()) return;  // answered already (the server stopped)
    id = std::move(it->second.id);
    pending_.erase(it);
  }
  switch (result.outcome) {
    case completion_result::status::ok:
      try {
        channel_.reply(id, format(result));
      } catch (const std::exception& e) {
        channel_.reply_error(id, error_code::internal_error, e.what());
      }
      break;
    case completion_result::status::cancelled:
      channel_.reply_error(id, error_code::request_cancelled, "request cancelled");
      break;
    case completion_result::status::failed:
      log(message_warning, "completion failed: " + result.error);
      channel_.reply_error(id, error_code::request_failed, result.error.empty() ? "completion failed" : result.error);
      break;
  }
}

void lsp_server::on_status(const json& id, const json&) {
  json status = service_.status();
  if (status.is_null()) status = json::object();
  if (status.is_object()) {
    status["lsp"] = {{"openDocuments", documents_.size()},
                     {"pendingRequests", pending_requests()},
                     {"positionEncoding", to_string(encoding_)},
                     {"trace", trace_.load()}};
  }
  channel_.reply(id, std::move(status));
}

// ---- Messages for the user -----------------------------------------------------------------

void lsp_server::log(int type, const std::string& message) {
  if (type <= options_.stderr_log_level) {
    // One fprintf per line: stderr is unbuffered and a single call is not interleaved mid-line.
    std::fprintf(stderr, "%s: %s: %s\n", options_.name.c_str(), type_name(type), message.c_str());
  }
  bool wanted = type <= message_warning || (type == message_info && trace_ >= trace_messages) || trace_ >= trace_verbose;
  if (wanted && client_ready_) channel_.notify("window/logMessage", log_message_params{type, message});
}

void lsp_server::show_message(int type, const std::string& message) {
  if (type <= options_.stderr_log_level)
    std::fprintf(stderr, "%s: %s: %s\n", options_.name.c_str(), type_name(type), message.c_str());
  if (client_ready_) channel_.notify("window/showMessage", show_message_params{type, message});
}

}  // namespace rwkv::lsp
