// Typed LSP structures for what rwkv-lsp reads and writes, with nlohmann to_json/from_json (found
// by ADL, so `params.get<completion_params>()` and `json(item)` work).
//
// Field names are snake_case here and camelCase on the wire. from_json is strict about the
// fields we use and ignores the rest: a missing required field or a wrong type throws
// protocol_error, an rpc_error with code -32602 whose message names the field by its JSON path
// ("textDocument.position.line: expected a non-negative integer"). Optional fields may be absent
// or null. Positions are uinteger on the wire; values up to 2^32-1 are accepted.
//
// Threads: plain data, no state.
#pragma once

#include "lsp/json_rpc.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::lsp {

// A -32602 error for one field of the params; `path` is empty for the params object itself.
class protocol_error : public rpc_error {
 public:
  protocol_error(std::string path, std::string what);
  const std::string& path() const { return path_; }
  const std::string& what_failed() const { return what_; }
  // The same error, seen from the object that holds the field: within("position") turns
  // "line: ..." into "position.line: ...".
  protocol_error within(std::string_view parent) const;

 private:
  std::string path_;
  std::string what_;
};

// ---- Basic structures ----------------------------------------------------------------------

struct position {
  std::uint32_t line = 0;
  std::uint32_t character = 0;  // in the negotiated position encoding
  friend bool operator==(const position&, const position&) = default;
};

struct range {
  position start;
  position end;
  friend bool operator==(const range&, const range&) = default;
};

struct text_document_identifier {
  std::string uri;
};

struct versioned_text_document_identifier {
  std::string uri;
  std::int64_t version = 0;
};

struct text_document_item {
  std::string uri;
  std::string language_id;
  std::int64_t version = 0;
  std::string text;
};

// Incremental when `range` is set (replace it with `text`), full otherwise. rangeLength is
// deprecated by LSP and ignored: the range alone says what is replaced.
struct text_document_content_change_event {
  std::optional<lsp::range> range;
  std::string text;
};

struct text_edit {
  lsp::range range;
  std::string new_text;
};

// ---- Lifecycle -----------------------------------------------------------------------------

struct client_info {
  std::string name;
  std::optional<std::string> version;
};

struct initialize_params {
  std::optional<std::int64_t> process_id;
  std::optional<lsp::client_info> client_info;
  std::vector<std::string> position_encodings;  // capabilities.general.positionEncodings
  bool work_done_progress = false;              // capabilities.window.workDoneProgress
  nlohmann::json initialization_options;        // null when absent
  std::string trace = "off";                    // "off" | "messages" | "verbose"
};

struct server_info {
  std::string name;
  std::string version;
};

// Serialized as { capabilities: {...}, serverInfo: {...} }.
struct initialize_result {
  std::string position_encoding = "utf-16";
  std::vector<std::string> completion_trigger_characters;
  server_info info;
};

struct set_trace_params {
  std::string value;
};

struct did_change_configuration_params {
  nlohmann::json settings;  // any JSON; null when absent
};

struct cancel_params {
  nlohmann::json id;  // integer or string
};

// ---- Documents -----------------------------------------------------------------------------

struct did_open_text_document_params {
  text_document_item text_document;
};

struct did_change_text_document_params {
  versioned_text_document_identifier text_document;
  std::vector<text_document_content_change_event> content_changes;
};

struct did_close_text_document_params {
  text_document_identifier text_document;
};

struct did_save_text_document_params {
  text_document_identifier text_document;
  std::optional<std::string> text;
};

// ---- Inline completion (LSP 3.18) ----------------------------------------------------------

enum inline_completion_trigger_kind : int { inline_invoked = 1, inline_automatic = 2 };

struct inline_completion_context {
  int trigger_kind = inline_automatic;
};

struct inline_completion_params {
  text_document_identifier text_document;
  lsp::position position;
  inline_completion_context context;
};

struct inline_completion_item {
  std::string insert_text;
  std::optional<std::string> filter_text;
  std::optional<lsp::range> range;
};

struct inline_completion_list {
  std::vector<inline_completion_item> items;
};

// ---- Completion ----------------------------------------------------------------------------

enum completion_trigger_kind : int { completion_invoked = 1, completion_trigger_character = 2, completion_incomplete = 3 };
enum completion_item_kind : int { item_kind_text = 1, item_kind_snippet = 15 };
enum insert_text_format : int { plain_text_format = 1, snippet_format = 2 };

struct completion_context {
  int trigger_kind = completion_invoked;
  std::optional<std::string> trigger_character;
};

struct completion_params {
  text_document_identifier text_document;
  lsp::position position;
  std::optional<completion_context> context;
};

struct completion_item {
  std::string label;
  int kind = item_kind_text;
  std::optional<std::string> detail;
  std::optional<std::string> documentation;  // plain text
  std::string filter_text;
  std::optional<std::string> sort_text;
  bool preselect = false;
  lsp::text_edit text_edit;
  int insert_text_format = plain_text_format;
};

struct completion_list {
  bool is_incomplete = true;
  std::vector<completion_item> items;
};

// ---- Window and progress -------------------------------------------------------------------

enum message_type : int { message_error = 1, message_warning = 2, message_info = 3, message_log = 4 };

struct show_message_params {
  int type = message_info;
  std::string message;
};

struct log_message_params {
  int type = message_log;
  std::string message;
};

struct work_done_progress_create_params {
  nlohmann::json token;  // integer or string
};

struct work_done_progress_begin {
  std::string title;
  std::optional<std::string> message;
  std::optional<int> percentage;
  bool cancellable = false;
};

struct work_done_progress_report {
  std::optional<std::string> message;
  std::optional<int> percentage;
};

struct work_done_progress_end {
  std::optional<std::string> message;
};

struct progress_params {
  nlohmann::json token;
  nlohmann::json value;  // a serialized work_done_progress_begin / _report / _end
};

// ---- Serialization -------------------------------------------------------------------------

#define RWKV_LSP_JSON_BOTH_WAYS(type)                     \
  void to_json(nlohmann::json& j, const type& value);     \
  void from_json(const nlohmann::json& j, type& value)

RWKV_LSP_JSON_BOTH_WAYS(position);
RWKV_LSP_JSON_BOTH_WAYS(range);
RWKV_LSP_JSON_BOTH_WAYS(text_document_identifier);
RWKV_LSP_JSON_BOTH_WAYS(versioned_text_document_identifier);
RWKV_LSP_JSON_BOTH_WAYS(text_document_item);
RWKV_LSP_JSON_BOTH_WAYS(text_document_content_change_event);
RWKV_LSP_JSON_BOTH_WAYS(text_edit);
RWKV_LSP_JSON_BOTH_WAYS(client_info);
RWKV_LSP_JSON_BOTH_WAYS(set_trace_params);
RWKV_LSP_JSON_BOTH_WAYS(did_change_configuration_params);
RWKV_LSP_JSON_BOTH_WAYS(cancel_params);
RWKV_LSP_JSON_BOTH_WAYS(did_open_text_document_params);
RWKV_LSP_JSON_BOTH_WAYS(did_change_text_document_params);
RWKV_LSP_JSON_BOTH_WAYS(did_close_text_document_params);
RWKV_LSP_JSON_BOTH_WAYS(did_save_text_document_params);
RWKV_LSP_JSON_BOTH_WAYS(inline_completion_context);
RWKV_LSP_JSON_BOTH_WAYS(inline_completion_params);
RWKV_LSP_JSON_BOTH_WAYS(inline_completion_item);
RWKV_LSP_JSON_BOTH_WAYS(inline_completion_list);
RWKV_LSP_JSON_BOTH_WAYS(completion_context);
RWKV_LSP_JSON_BOTH_WAYS(completion_params);
RWKV_LSP_JSON_BOTH_WAYS(completion_item);
RWKV_LSP_JSON_BOTH_WAYS(completion_list);
RWKV_LSP_JSON_BOTH_WAYS(show_message_params);
RWKV_LSP_JSON_BOTH_WAYS(log_message_params);
RWKV_LSP_JSON_BOTH_WAYS(work_done_progress_create_params);
RWKV_LSP_JSON_BOTH_WAYS(work_done_progress_begin);
RWKV_LSP_JSON_BOTH_WAYS(work_done_progress_report);
RWKV_LSP_JSON_BOTH_WAYS(work_done_progress_end);
RWKV_LSP_JSON_BOTH_WAYS(progress_params);

#undef RWKV_LSP_JSON_BOTH_WAYS

// Client -> server only.
void from_json(const nlohmann::json& j, initialize_params& value);
// Server -> client only.
void to_json(nlohmann::json& j, const initialize_result& value);

}  // namespace rwkv::lsp
