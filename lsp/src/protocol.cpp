#include "lsp/protocol.hpp"

#include <limits>

namespace rwkv::lsp {

using json = nlohmann::json;

protocol_error::protocol_error(std::string path, std::string what)
    : rpc_error(error_code::invalid_params, (path.empty() ? std::string("params") : path) + ": " + what),
      path_(std::move(path)),
      what_(std::move(what)) {}

protocol_error protocol_error::within(std::string_view parent) const {
  std::string joined(parent);
  if (!path_.empty()) {
    if (path_.front() != '[') joined += '.';
    joined += path_;
  }
  return protocol_error(joined, what_);
}

namespace {

// ---- Strict readers: nlohmann's get<> converts 1.5 to 1 and true to 1; LSP fields do not. ----

void expect_object(const json& j) {
  if (!j.is_object()) throw protocol_error("", "expected an object");
}

void read_value(const json& j, std::string& out) {
  if (!j.is_string()) throw protocol_error("", "expected a string");
  out = j.get<std::string>();
}

void read_value(const json& j, bool& out) {
  if (!j.is_boolean()) throw protocol_error("", "expected a boolean");
  out = j.get<bool>();
}

void read_value(const json& j, std::int64_t& out) {
  if (!j.is_number_integer()) throw protocol_error("", "expected an integer");
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
    throw protocol_error("", "integer out of range");
  out = j.get<std::int64_t>();
}

void read_value(const json& j, int& out) {
  std::int64_t v = 0;
  read_value(j, v);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    throw protocol_error("", "integer out of range");
  out = static_cast<int>(v);
}

void read_value(const json& j, std::uint32_t& out) {
  if (!j.is_number_integer() || (!j.is_number_unsigned() && j.get<std::int64_t>() < 0))
    throw protocol_error("", "expected a non-negative integer");
  if (j.get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max())
    throw protocol_error("", "integer out of range");
  out = static_cast<std::uint32_t>(j.get<std::uint64_t>());
}

void read_value(const json& j, json& out) { out = j; }

template <class T>
void read_value(const json& j, T& out) {
  from_json(j, out);  // a protocol struct
}

template <class T>
void read_value(const json& j, std::optional<T>& out) {
  if (j.is_null()) {
    out.reset();
    return;
  }
  T value{};
  read_value(j, value);
  out = std::move(value);
}

template <class T>
void read_value(const json& j, std::vector<T>& out) {
  if (!j.is_array()) throw protocol_error("", "expected an array");
  out.clear();
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    T value{};
    try {
      read_value(j[i], value);
    } catch (const protocol_error& e) {
      throw e.within("[" + std::to_string(i) + "]");
    }
    out.push_back(std::move(value));
  }
}

template <class T>
void required_field(const json& object, const char* key, T& out) {
  auto it = object.find(key);
  if (it == object.end()) throw protocol_error(key, "missing");
  try {
    read_value(*it, out);
  } catch (const protocol_error& e) {
    throw e.within(key);
  }
}

// Absent or null leaves `out` as it is (its default).
template <class T>
void optional_field(const json& object, const char* key, T& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return;
  try {
    read_value(*it, out);
  } catch (const protocol_error& e) {
    throw e.within(key);
  }
}

void read_id(const json& object, const char* key, json& out) {
  auto it = object.find(key);
  if (it == object.end()) throw protocol_error(key, "missing");
  if (!is_valid_id(*it)) throw protocol_error(key, "expected an integer or a string");
  out = *it;
}

template <class T>
void put_optional(json& j, const char* key, const std::optional<T>& value) {
  if (value) j[key] = *value;
}

}  // namespace

// ---- Basic structures ----------------------------------------------------------------------

void to_json(json& j, const position& v) { j = json{{"line", v.line}, {"character", v.character}}; }
void from_json(const json& j, position& v) {
  expect_object(j);
  required_field(j, "line", v.line);
  required_field(j, "character", v.character);
}

void to_json(json& j, const range& v) { j = json{{"start", v.start}, {"end", v.end}}; }
void from_json(const json& j, range& v) {
  expect_object(j);
  required_field(j, "start", v.start);
  required_field(j, "end", v.end);
}

void to_json(json& j, const text_document_identifier& v) { j = json{{"uri", v.uri}}; }
void from_json(const json& j, text_document_identifier& v) {
  expect_object(j);
  required_field(j, "uri", v.uri);
}

void to_json(json& j, const versioned_text_document_identifier& v) { j = json{{"uri", v.uri}, {"version", v.version}}; }
void from_json(const json& j, versioned_text_document_identifier& v) {
  expect_object(j);
  required_field(j, "uri", v.uri);
  required_field(j, "version", v.version);
}

void to_json(json& j, const text_document_item& v) {
  j = json{{"uri", v.uri}, {"languageId", v.language_id}, {"version", v.version}, {"text", v.text}};
}
void from_json(const json& j, text_document_item& v) {
  expect_object(j);
  required_field(j, "uri", v.uri);
  required_field(j, "languageId", v.language_id);
  required_field(j, "version", v.version);
  required_field(j, "text", v.text);
}

void to_json(json& j, const text_document_content_change_event& v) {
  j = json{{"text", v.text}};
  put_optional(j, "range", v.range);
}
void from_json(const json& j, text_document_content_change_event& v) {
  expect_object(j);
  optional_field(j, "range", v.range);
  required_field(j, "text", v.text);
}

void to_json(json& j, const text_edit& v) { j = json{{"range", v.range}, {"newText", v.new_text}}; }
void from_json(const json& j, text_edit& v) {
  expect_object(j);
  required_field(j, "range", v.range);
  required_field(j, "newText", v.new_text);
}

// ---- Lifecycle -----------------------------------------------------------------------------

void to_json(json& j, const client_info& v) {
  j = json{{"name", v.name}};
  put_optional(j, "version", v.version);
}
void from_json(const json& j, client_info& v) {
  expect_object(j);
  required_field(j, "name", v.name);
  optional_field(j, "version", v.version);
}

void from_json(const json& j, initialize_params& v) {
  expect_object(j);
  optional_field(j, "processId", v.process_id);
  optional_field(j, "clientInfo", v.client_info);
  optional_field(j, "initializationOptions", v.initialization_options);
  optional_field(j, "trace", v.trace);
  // Capabilities are a large tree; only the leaves we act on are checked, each with its full path.
  auto capabilities = j.find("capabilities");
  if (capabilities == j.end() || capabilities->is_null()) return;
  if (!capabilities->is_object()) throw protocol_error("capabilities", "expected an object");
  auto section = [&](const char* name) -> const json* {
    auto it = capabilities->find(name);
    if (it == capabilities->end() || it->is_null()) return nullptr;
    if (!it->is_object()) throw protocol_error(std::string("capabilities.") + name, "expected an object");
    return &*it;
  };
  if (const json* general = section("general")) {
    try {
      optional_field(*general, "positionEncodings", v.position_encodings);
    } catch (const protocol_error& e) {
      throw e.within("capabilities.general");
    }
  }
  if (const json* window = section("window")) {
    try {
      optional_field(*window, "workDoneProgress", v.work_done_progress);
    } catch (const protocol_error& e) {
      throw e.within("capabilities.window");
    }
  }
}

void to_json(json& j, const initialize_result& v) {
  j = json{
      {"capabilities",
       {
           {"positionEncoding", v.position_encoding},
           {"textDocumentSync", {{"openClose", true}, {"change", 2}, {"save", {{"includeText", false}}}}},
           {"inlineCompletionProvider", true},
           {"completionProvider", {{"triggerCharacters", v.completion_trigger_characters}, {"resolveProvider", false}}},
           {"experimental", {{"rwkvStatusRequest", "rwkv/status"}}},
       }},
      {"serverInfo", {{"name", v.info.name}, {"version", v.info.version}}},
  };
}

void to_json(json& j, const set_trace_params& v) { j = json{{"value", v.value}}; }
void from_json(const json& j, set_trace_params& v) {
  expect_object(j);
  required_field(j, "value", v.value);
}

void to_json(json& j, const did_change_configuration_params& v) { j = json{{"settings", v.settings}}; }
void from_json(const json& j, did_change_configuration_params& v) {
  expect_object(j);
  optional_field(j, "settings", v.settings);
}

void to_json(json& j, const cancel_params& v) { j = json{{"id", v.id}}; }
void from_json(const json& j, cancel_params& v) {
  expect_object(j);
  read_id(j, "id", v.id);
}

// ---- Documents -----------------------------------------------------------------------------

void to_json(json& j, const did_open_text_document_params& v) { j = json{{"textDocument", v.text_document}}; }
void from_json(const json& j, did_open_text_document_params& v) {
  expect_object(j);
  required_field(j, "textDocument", v.text_document);
}

void to_json(json& j, const did_change_text_document_params& v) {
  j = json{{"textDocument", v.text_document}, {"contentChanges", v.content_changes}};
}
void from_json(const json& j, did_change_text_document_params& v) {
  expect_object(j);
  required_field(j, "textDocument", v.text_document);
  required_field(j, "contentChanges", v.content_changes);
}

void to_json(json& j, const did_close_text_document_params& v) { j = json{{"textDocument", v.text_document}}; }
void from_json(const json& j, did_close_text_document_params& v) {
  expect_object(j);
  required_field(j, "textDocument", v.text_document);
}

void to_json(json& j, const did_save_text_document_params& v) {
  j = json{{"textDocument", v.text_document}};
  put_optional(j, "text", v.text);
}
void from_json(const json& j, did_save_text_document_params& v) {
  expect_object(j);
  required_field(j, "textDocument", v.text_document);
  optional_field(j, "text", v.text);
}

// ---- Inline completion ---------------------------------------------------------------------

void to_json(json& j, const inline_completion_context& v) { j = json{{"triggerKind", v.trigger_kind}}; }
void from_json(const json& j, inline_completion_context& v) {
  expect_object(j);
  required_field(j, "triggerKind", v.trigger_kind);
  if (v.trigger_kind != inline_invoked && v.trigger_kind != inline_automatic)
    throw protocol_error("triggerKind", "expected 1 (Invoked) or 2 (Automatic)");
  // selectedCompletionInfo is accepted and ignored: the model completes from the text alone.
}

void to_json(json& j, const inline_completion_params& v) {
  j = json{{"textDocument", v.text_document}, {"position", v.position}, {"context", v.context}};
}
void from_json(const json& j, inline_completion_params& v) {
  expect_object(j);
  required_field(j, "textDocument", v.text_document);
  required_field(j, "position", v.position);
  required_field(j, "context", v.context);
}

void to_json(json& j, const inline_completion_item& v) {
  j = json{{"insertText", v.insert_text}};
  put_optional(j, "filterText", v.filter_text);
  put_optional(j, "range", v.range);
}
void from_json(const json& j, inline_completion_item& v) {
  expect_object(j);
  required_field(j, "insertText", v.insert_text);
  optional_field(j, "filterText", v.filter_text);
  optional_field(j, "range", v.range);
}

void to_json(json& j, const inline_completion_list& v) { j = json{{"items", v.items}}; }
void from_json(const json& j, inline_completion_list& v) {
  expect_object(j);
  required_field(j, "items", v.items);
}

// ---- Completion ----------------------------------------------------------------------------

void to_json(json& j, const completion_context& v) {
  j = json{{"triggerKind", v.trigger_kind}};
  put_optional(j, "triggerCharacter", v.trigger_character);
}
void from_json(const json& j, completion_context& v) {
  expect_object(j);
  required_field(j, "triggerKind", v.trigger_kind);
  if (v.trigger_kind < completion_invoked || v.trigger_kind > completion_incomplete)
    throw protocol_error("triggerKind", "expected 1, 2 or 3");
  optional_field(j, "triggerCharacter", v.trigger_character);
}

void to_json(json& j, const completion_params& v) {
  j = json{{"textDocument", v.text_document}, {"position", v.position}};
  put_optional(j, "context", v.context);
}
void from_json(const json& j, completion_params& v) {
  expect_object(j);
  required_field(j, "textDocument", v.text_document);
  required_field(j, "position", v.position);
  optional_field(j, "context", v.context);
}

void to_json(json& j, const completion_item& v) {
  j = json{{"label", v.label},
           {"kind", v.kind},
           {"filterText", v.filter_text},
           {"textEdit", v.text_edit},
           {"insertTextFormat", v.insert_text_format}};
  put_optional(j, "detail", v.detail);
  put_optional(j, "documentation", v.documentation);
  put_optional(j, "sortText", v.sort_text);
  if (v.preselect) j["preselect"] = true;
}
void from_json(const json& j, completion_item& v) {
  expect_object(j);
  required_field(j, "label", v.label);
  optional_field(j, "kind", v.kind);
  optional_field(j, "detail", v.detail);
  optional_field(j, "documentation", v.documentation);
  optional_field(j, "filterText", v.filter_text);
  optional_field(j, "sortText", v.sort_text);
  optional_field(j, "preselect", v.preselect);
  required_field(j, "textEdit", v.text_edit);
  optional_field(j, "insertTextFormat", v.insert_text_format);
}

void to_json(json& j, const completion_list& v) { j = json{{"isIncomplete", v.is_incomplete}, {"items", v.items}}; }
void from_json(const json& j, completion_list& v) {
  expect_object(j);
  required_field(j, "isIncomplete", v.is_incomplete);
  required_field(j, "items", v.items);
}

// ---- Window and progress -------------------------------------------------------------------

void to_json(json& j, const show_message_params& v) { j = json{{"type", v.type}, {"message", v.message}}; }
void from_json(const json& j, show_message_params& v) {
  expect_object(j);
  required_field(j, "type", v.type);
  required_field(j, "message", v.message);
}

void to_json(json& j, const log_message_params& v) { j = json{{"type", v.type}, {"message", v.message}}; }
void from_json(const json& j, log_message_params& v) {
  expect_object(j);
  required_field(j, "type", v.type);
  required_field(j, "message", v.message);
}

void to_json(json& j, const work_done_progress_create_params& v) { j = json{{"token", v.token}}; }
void from_json(const json& j, work_done_progress_create_params& v) {
  expect_object(j);
  read_id(j, "token", v.token);
}

void to_json(json& j, const work_done_progress_begin& v) {
  j = json{{"kind", "begin"}, {"title", v.title}, {"cancellable", v.cancellable}};
  put_optional(j, "message", v.message);
  put_optional(j, "percentage", v.percentage);
}
void from_json(const json& j, work_done_progress_begin& v) {
  expect_object(j);
  required_field(j, "title", v.title);
  optional_field(j, "message", v.message);
  optional_field(j, "percentage", v.percentage);
  optional_field(j, "cancellable", v.cancellable);
}

void to_json(json& j, const work_done_progress_report& v) {
  j = json{{"kind", "report"}};
  put_optional(j, "message", v.message);
  put_optional(j, "percentage", v.percentage);
}
void from_json(const json& j, work_done_progress_report& v) {
  expect_object(j);
  optional_field(j, "message", v.message);
  optional_field(j, "percentage", v.percentage);
}

void to_json(json& j, const work_done_progress_end& v) {
  j = json{{"kind", "end"}};
  put_optional(j, "message", v.message);
}
void from_json(const json& j, work_done_progress_end& v) {
  expect_object(j);
  optional_field(j, "message", v.message);
}

void to_json(json& j, const progress_params& v) { j = json{{"token", v.token}, {"value", v.value}}; }
void from_json(const json& j, progress_params& v) {
  expect_object(j);
  read_id(j, "token", v.token);
  required_field(j, "value", v.value);
}

}  // namespace rwkv::lsp
