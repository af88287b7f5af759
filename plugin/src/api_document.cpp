// rwkv_lsp.h: documents and completion. extern "C" wrappers over engine::session (incremental
// state), engine::generate_suggestions (editor rules) and lsp::document (positions).
#include "api_common.hpp"
#include "handles.hpp"

#include "engine/completion.hpp"
#include "lsp/engine_service.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

using namespace rwkv;
using namespace rwkv::plugin;

rwkv_lsp_document::rwkv_lsp_document(std::shared_ptr<plugin::model_box> b, std::string u, std::string lang,
                                     std::string body, lsp::position_encoding enc, engine::session_options o)
    : box(std::move(b)), encoding(enc), uri(std::move(u)), language(std::move(lang)), text(language, body, 0),
      session(box->model, box->tokenizer, o), ctx(box->model, 64) {
  session.reset(lsp::document_header(uri, language), std::move(body));
}

namespace {

struct validated_document_params {
  std::string uri, language;
  lsp::position_encoding encoding;
  engine::session_options options;
};

validated_document_params validate(const rwkv_lsp_document_params* params) {
  auto p = checked_params(params, "params");
  validated_document_params v;
  v.uri = p.uri ? p.uri : "";
  v.language = p.language ? p.language : "";
  switch (p.position_encoding) {
    case RWKV_LSP_POSITION_UTF8: v.encoding = lsp::position_encoding::utf8; break;
    case RWKV_LSP_POSITION_UTF16: v.encoding = lsp::position_encoding::utf16; break;
    case RWKV_LSP_POSITION_UTF32: v.encoding = lsp::position_encoding::utf32; break;
    default:
      fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->position_encoding must be RWKV_LSP_POSITION_UTF8, _UTF16 or _UTF32");
  }
  if (p.checkpoint_spacing < 1) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->checkpoint_spacing must be >= 1");
  v.options.checkpoint_spacing = p.checkpoint_spacing;
  return v;
}

std::string text_of(const char* text, std::size_t len) {
  if (!text && len) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "text is NULL but text_len is not 0");
  return text ? std::string(text, len) : std::string();
}

// The byte offset of a position that lies inside the text (no clamping: hosts get told).
std::size_t offset_of(const rwkv_lsp_document& d, rwkv_lsp_position p) {
  lsp::position lp{p.line, p.character};
  auto off = d.text.offset_of(lp, d.encoding);
  if (!off)
    fail(RWKV_LSP_ERR_OUT_OF_RANGE, "line " + std::to_string(p.line) + " is past the last line (the document has " +
                                        std::to_string(d.text.line_count()) + " lines)");
  auto back = d.text.position_of(*off, d.encoding);
  if (back.line != p.line || back.character != p.character)
    fail(RWKV_LSP_ERR_OUT_OF_RANGE, "character " + std::to_string(p.character) + " of line " + std::to_string(p.line) +
                                        " is past the end of the line or inside a character");
  return *off;
}

rwkv_lsp_position position_at(const rwkv_lsp_document& d, std::size_t offset) {
  auto p = d.text.position_of(offset, d.encoding);
  return {p.line, p.character};
}

// Registers the cancel flag of the work a call is about to do; unregisters it when it goes.
class active_work {
 public:
  explicit active_work(rwkv_lsp_document& d) : d_(d), flag_(std::make_shared<std::atomic<bool>>(false)) {
    std::lock_guard lock(d_.cancel_mutex);
    d_.active = flag_;
  }
  ~active_work() {
    std::lock_guard lock(d_.cancel_mutex);
    d_.active.reset();
  }
  active_work(const active_work&) = delete;
  active_work& operator=(const active_work&) = delete;
  const std::atomic<bool>* flag() const { return flag_.get(); }
  bool cancelled() const { return flag_->load(); }

 private:
  rwkv_lsp_document& d_;
  std::shared_ptr<std::atomic<bool>> flag_;
};

void touch(rwkv_lsp_document& d) {
  std::lock_guard lock(d.box->registry_mutex);
  d.last_used = ++d.box->clock;
}

void register_document(rwkv_lsp_document* d) {
  std::lock_guard lock(d->box->registry_mutex);
  d->box->documents.push_back(d);
  d->last_used = ++d->box->clock;
}

}  // namespace

extern "C" {

RWKV_LSP_API rwkv_lsp_document_params rwkv_lsp_document_default_params(void) {
  rwkv_lsp_document_params p{};
  p.struct_size = sizeof p;
  p.position_encoding = RWKV_LSP_POSITION_UTF8;
  p.checkpoint_spacing = 256;
  return p;
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_open(rwkv_lsp_model* model, const rwkv_lsp_document_params* params,
                                                    const char* text, size_t text_len, rwkv_lsp_document** out_doc) {
  return guarded([&] {
    auto& m = require(model, "model");
    auto v = validate(params);
    auto& out = require(out_doc, "out_doc");
    auto d = std::make_unique<rwkv_lsp_document>(m.box, v.uri, v.language, text_of(text, text_len), v.encoding,
                                                 v.options);
    register_document(d.get());
    out = d.release();
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API void rwkv_lsp_document_free(rwkv_lsp_document* doc) {
  if (!doc) return;
  {
    std::lock_guard lock(doc->box->registry_mutex);
    std::erase(doc->box->documents, doc);
  }
  delete doc;
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_edit(rwkv_lsp_document* doc, const rwkv_lsp_range* range,
                                                    const char* text, size_t text_len) {
  return guarded([&] {
    auto& d = require(doc, "doc");
    lsp::text_document_content_change_event change;
    change.text = text_of(text, text_len);
    std::lock_guard busy(d.busy);
    if (range) {
      std::size_t start = offset_of(d, range->start), end = offset_of(d, range->end);
      if (end < start) fail(RWKV_LSP_ERR_OUT_OF_RANGE, "the range ends before it starts");
      change.range = lsp::range{{range->start.line, range->start.character}, {range->end.line, range->end.character}};
    }
    auto applied = d.text.apply(change, d.encoding);
    d.session.edit(applied.edit.start, applied.edit.end, applied.edit.text);
    touch(d);
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API const char* rwkv_lsp_document_text(const rwkv_lsp_document* doc, size_t* out_len) {
  const char* result = nullptr;
  guarded([&] {
    auto& d = require(doc, "doc");
    if (out_len) *out_len = d.text.text().size();
    result = d.text.text().c_str();
    return RWKV_LSP_OK;
  });
  return result;
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_prefeed(rwkv_lsp_document* doc, int64_t max_tokens,
                                                       int64_t* out_remaining) {
  return guarded([&] {
    auto& d = require(doc, "doc");
    if (max_tokens < 0) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "max_tokens must be >= 0");
    std::lock_guard busy(d.busy);
    active_work work(d);
    std::int64_t left = max_tokens;
    while (left > 0 && !work.cancelled()) {
      std::int64_t fed = d.session.prefeed(d.ctx, std::min<std::int64_t>(left, 256), work.flag());
      if (fed == 0) break;
      left -= fed;
    }
    touch(d);
    d.box->enforce_budget(&d);
    std::int64_t remaining = d.session.prefeed_remaining();
    if (out_remaining) *out_remaining = remaining;
    return work.cancelled() && remaining > 0 ? RWKV_LSP_CANCELLED : RWKV_LSP_OK;
  });
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_cancel(rwkv_lsp_document* doc) {
  return guarded([&] {
    auto& d = require(doc, "doc");
    std::lock_guard lock(d.cancel_mutex);
    if (d.active) d.active->store(true);
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_save(const rwkv_lsp_document* doc, const char* path) {
  return guarded([&] {
    auto& d = require(doc, "doc");
    if (!path || !*path) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "path is NULL or empty");
    const std::string tmp = std::string(path) + ".tmp" + std::to_string(::getpid());
    {
      std::lock_guard busy(d.busy);
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) fail(RWKV_LSP_ERR_IO, "cannot write " + tmp + ": check that the folder exists and is writable");
      d.session.save(out);
      out.close();
      if (!out) {
        std::remove(tmp.c_str());
        fail(RWKV_LSP_ERR_IO, "cannot write " + tmp + " (disk full?)");
      }
    }
    if (std::rename(tmp.c_str(), path) != 0) {
      std::remove(tmp.c_str());
      fail(RWKV_LSP_ERR_IO, std::string("cannot replace ") + path);
    }
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_restore(rwkv_lsp_model* model, const rwkv_lsp_document_params* params,
                                                       const char* path, const char* text, size_t text_len,
                                                       rwkv_lsp_document** out_doc) {
  return guarded([&] {
    auto& m = require(model, "model");
    auto v = validate(params);
    auto& out = require(out_doc, "out_doc");
    if (!path || !*path) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "path is NULL or empty");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(RWKV_LSP_ERR_IO, std::string("cannot open ") + path);
    auto d = std::make_unique<rwkv_lsp_document>(m.box, v.uri, v.language, std::string(), v.encoding, v.options);
    d->session.load(in);
    if (d->session.header() != lsp::document_header(v.uri, v.language))
      fail(RWKV_LSP_ERR_STATE_MISMATCH, std::string(path) + " was saved for another file or language (its header is \"" +
                                            d->session.header() + "\"); open the document afresh");
    d->session.set_options(v.options);
    std::string saved = d->session.text();
    d->text = lsp::document(v.language, saved, 0);
    if (text || text_len) {
      std::string wanted = text_of(text, text_len);
      if (wanted != saved) {
        // One edit covering what differs: the checkpoints before it stay valid.
        std::size_t prefix = 0, suffix = 0;
        while (prefix < saved.size() && prefix < wanted.size() && saved[prefix] == wanted[prefix]) ++prefix;
        while (suffix < saved.size() - prefix && suffix < wanted.size() - prefix &&
               saved[saved.size() - 1 - suffix] == wanted[wanted.size() - 1 - suffix])
          ++suffix;
        d->session.edit(prefix, saved.size() - suffix, std::string_view(wanted).substr(prefix, wanted.size() - prefix - suffix));
        d->text = lsp::document(v.language, wanted, 0);
      }
    }
    register_document(d.get());
    out = d.release();
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API rwkv_lsp_completion_params rwkv_lsp_completion_default_params(void) {
  rwkv_lsp_completion_params p{};
  p.struct_size = sizeof p;
  engine::completion_options o;
  p.max_tokens = o.max_tokens;
  p.max_lines = o.max_lines;
  p.time_budget_ms = o.time_budget_ms;
  p.candidates = o.candidates;
  p.temperature = o.temperature;
  p.top_p = o.top_p;
  p.seed = o.seed;
  return p;
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_complete(rwkv_lsp_document* doc, rwkv_lsp_position position,
                                                        const rwkv_lsp_completion_params* params,
                                                        rwkv_lsp_completion** out) {
  return guarded([&] {
    const auto start = std::chrono::steady_clock::now();
    auto& d = require(doc, "doc");
    auto p = checked_params(params, "params");
    auto& result_out = require(out, "out");
    if (p.max_tokens < 1) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->max_tokens must be >= 1");
    if (p.max_lines < 1) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->max_lines must be >= 1");
    if (!(p.time_budget_ms >= 0)) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->time_budget_ms must be >= 0 (0: no limit)");
    if (p.candidates < 1 || p.candidates > 16) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->candidates must be 1..16");
    if (!(p.temperature >= 0)) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->temperature must be >= 0");
    if (!(p.top_p > 0 && p.top_p <= 1)) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->top_p must be in (0, 1]");

    std::lock_guard busy(d.busy);
    const std::size_t offset = offset_of(d, position);
    active_work work(d);
    auto result = std::make_unique<rwkv_lsp_completion>();
    engine::session::cursor cur;
    engine::feed_stats fs;
    bool reached = d.session.state_at(d.ctx, offset, cur, work.flag(), &fs);
    result->stats.tokens_refed = fs.tokens_fed + fs.tail_tokens;
    result->stats.prefill_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (reached && !work.cancelled()) {
      engine::completion_options co;
      co.max_tokens = p.max_tokens;
      co.max_lines = p.max_lines;
      co.time_budget_ms = p.time_budget_ms > 0 ? p.time_budget_ms : 1e12;
      co.candidates = p.candidates;
      co.temperature = p.temperature;
      co.top_p = p.top_p;
      co.seed = p.seed;
      if (p.on_token) {
        auto cb = p.on_token;
        void* user = p.user_data;
        co.on_text = [cb, user](int candidate, std::string_view piece) {
          return cb(static_cast<std::uint32_t>(candidate), piece.data(), piece.size(), user) == 0;
        };
      }
      engine::generation_stats gs;
      auto where = engine::cursor_context::at(d.session.text(), offset);
      auto items = engine::generate_suggestions(d.ctx, *d.box->tokenizer, cur, where, co, start, work.flag(), &gs);
      result->stats.generated_tokens = gs.generated_tokens;
      result->stats.generate_ms = gs.generate_ms;
      for (auto& s : items)
        result->items.push_back({std::move(s.text), {position_at(d, offset), position_at(d, offset + s.replace_after)}});
    }
    touch(d);
    d.box->enforce_budget(&d);
    const bool cancelled = work.cancelled();
    result_out = result.release();
    return cancelled ? RWKV_LSP_CANCELLED : RWKV_LSP_OK;
  });
}

RWKV_LSP_API void rwkv_lsp_completion_free(rwkv_lsp_completion* completion) { delete completion; }

RWKV_LSP_API uint32_t rwkv_lsp_completion_count(const rwkv_lsp_completion* completion) {
  return completion ? static_cast<uint32_t>(completion->items.size()) : 0;
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_completion_get_item(const rwkv_lsp_completion* completion, uint32_t index,
                                                          rwkv_lsp_completion_item* out_item) {
  return guarded([&] {
    auto& c = require(completion, "completion");
    auto& out = require(out_item, "out_item");
    if (index >= c.items.size())
      fail(RWKV_LSP_ERR_OUT_OF_RANGE, "item " + std::to_string(index) + " of a completion with " +
                                          std::to_string(c.items.size()) + " items");
    const auto& item = c.items[index];
    out.text = item.text.c_str();
    out.text_len = item.text.size();
    out.range = item.range;
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_completion_get_stats(const rwkv_lsp_completion* completion,
                                                           rwkv_lsp_completion_stats* out_stats) {
  return guarded([&] {
    auto& c = require(completion, "completion");
    require(out_stats, "out_stats") = c.stats;
    return RWKV_LSP_OK;
  });
}

}  // extern "C"
