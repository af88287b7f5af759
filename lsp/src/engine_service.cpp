#include "lsp/engine_service.hpp"

#include "engine/completion.hpp"
#include "engine/context.hpp"
#include "engine/embedded_model.hpp"
#include "engine/error.hpp"
#include "engine/model.hpp"
#include "engine/model_catalog.hpp"
#include "engine/session.hpp"
#include "engine/tokenizer_select.hpp"
#include "kernels/dtype.hpp"

#include <algorithm>
#include <chrono>

namespace rwkv::lsp {

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string document_header(const std::string& uri, const std::string& language) {
  std::string path = uri;
  if (path.rfind("file://", 0) == 0) path = percent_decode(path.substr(7));
  std::size_t cut = path.size();
  for (int parts = 0; parts < 3 && cut != std::string::npos && cut > 0; ++parts) cut = path.rfind('/', cut - 1);
  if (cut != std::string::npos && cut < path.size()) path = path.substr(cut + 1);
  static const std::map<std::string, std::pair<const char*, const char*>> comments = {
      {"python", {"#", ""}},  {"shellscript", {"#", ""}}, {"sh", {"#", ""}},      {"bash", {"#", ""}},
      {"ruby", {"#", ""}},    {"perl", {"#", ""}},        {"r", {"#", ""}},       {"yaml", {"#", ""}},
      {"toml", {"#", ""}},    {"makefile", {"#", ""}},    {"cmake", {"#", ""}},   {"dockerfile", {"#", ""}},
      {"elixir", {"#", ""}},  {"julia", {"#", ""}},       {"nim", {"#", ""}},     {"powershell", {"#", ""}},
      {"lua", {"--", ""}},    {"sql", {"--", ""}},        {"haskell", {"--", ""}}, {"ada", {"--", ""}},
      {"lisp", {";;", ""}},   {"clojure", {";;", ""}},    {"scheme", {";;", ""}}, {"html", {"<!--", " -->"}},
      {"xml", {"<!--", " -->"}}, {"markdown", {"<!--", " -->"}},
  };
  auto it = comments.find(language);
  auto [open, close] = it == comments.end() ? std::pair<const char*, const char*>{"//", ""} : it->second;
  return std::string(open) + " " + path + close + "\n";
}

loaded_model load_model_from_settings(const service_settings& s) {
  engine::load_options o;
  o.backend.name = s.backend;
  o.backend.threads = s.threads;
  o.backend.precision = s.precision == "exact" ? kernels::precision::exact : kernels::precision::fast;
  if (s.weights != "stored") o.weight_type = kernels::dtype_from_name(s.weights);  // validated in merged()
  loaded_model lm;
  // A path, a pulled model's name ("g1-0.4b") or the built-in model ("" / "builtin").
  const std::string path = engine::resolve_model_reference(s.model);
  lm.model = engine::model::load(path, o);
  lm.tokenizer = engine::tokenizer_for_model(lm.model->tensors(), lm.model->config().n_vocab, s.vocab);
  lm.description = path == engine::embedded_model_name ? engine::embedded_model_description()
                   : path == s.model                   ? path
                                                       : s.model + " (" + path + ")";
  return lm;
}

struct engine_service::document {
  std::string language;
  std::string header;
  std::string text;  // only while there is no session (no model yet)
  std::unique_ptr<engine::session> session;
  std::int64_t version = 0;
  std::uint64_t last_used = 0;
  std::string progress_token;  // non-empty while a $/progress report is open
  std::int64_t progress_total = 0;
};

struct engine_service::worker_state {
  service_settings applied;
  loaded_model lm;
  std::unique_ptr<engine::context> ctx;
  bool load_attempted = false;
  std::string load_error;
  std::map<std::string, document> docs;
  std::uint64_t clock = 0;
  std::uint64_t progress_counter = 0;
  completion_timings last;
  bool have_last = false;

  engine::session_options session_options() const {
    engine::session_options o;
    o.checkpoint_spacing = applied.checkpoint_spacing;
    return o;
  }

  void attach_session(document& d) {
    std::string text = d.session ? d.session->text() : std::move(d.text);
    d.text.clear();
    d.session = std::make_unique<engine::session>(lm.model, lm.tokenizer, session_options());
    d.session->reset(d.header, std::move(text));
  }
};

engine_service::engine_service(options o)
    : options_(std::move(o)), w_(std::make_unique<worker_state>()), settings_(options_.defaults),
      scheduler_(options_.mode) {
  w_->applied = settings_;
  status_ = {{"model", nullptr}, {"documents", nlohmann::json::array()}};
  scheduler_.set_background([this](const std::atomic<bool>& preempt) {
    auto& w = *w_;
    if (!w.lm.model) return false;
    document* pick = nullptr;
    for (auto& [uri, d] : w.docs)
      if (d.session && d.session->prefeed_remaining() > 0 && (!pick || d.last_used > pick->last_used)) pick = &d;
    if (!pick) return false;
    std::int64_t remaining = pick->session->prefeed_remaining();
    client_hooks hooks;
    {
      std::lock_guard lock(mutex_);
      hooks = hooks_;
    }
    if (pick->progress_token.empty() && remaining >= options_.progress_threshold_tokens && hooks.progress) {
      pick->progress_token = "rwkv-lsp/prefeed/" + std::to_string(++w.progress_counter);
      pick->progress_total = remaining;
      hooks.progress(pick->progress_token, "begin", "rwkv-lsp: reading " + pick->header.substr(3), 0);
    }
    pick->session->prefeed(*w.ctx, 256, &preempt);
    if (!pick->progress_token.empty() && hooks.progress) {
      std::int64_t left = pick->session->prefeed_remaining();
      if (left == 0) {
        hooks.progress(pick->progress_token, "end", "", 100);
        pick->progress_token.clear();
      } else {
        int pct = static_cast<int>(100 * (pick->progress_total - std::min(left, pick->progress_total)) /
                                   std::max<std::int64_t>(1, pick->progress_total));
        hooks.progress(pick->progress_token, "report", "", pct);
      }
    }
    on_worker_idle_done();
    return true;
  });
}

engine_service::~engine_service() { shutdown(); }

void engine_service::set_client_hooks(client_hooks hooks) {
  std::lock_guard lock(mutex_);
  hooks_ = std::move(hooks);
}

void engine_service::shutdown() {
  {
    std::lock_guard lock(mutex_);
    for (auto& [uri, flag] : active_) flag->store(true);
  }
  scheduler_.stop();
}

void engine_service::cancel_active(const std::string& uri) {
  auto [b, e] = active_.equal_range(uri);
  for (auto it = b; it != e; ++it) it->second->store(true);
}

settings_result engine_service::configure(const nlohmann::json& settings) {
  service_settings next;
  {
    std::lock_guard lock(mutex_);
    auto r = settings_.merged(settings, next);
    if (!r.ok) return r;
    settings_ = next;
  }
  scheduler_.post([this, next] {
    auto& w = *w_;
    bool reload = next.model_differs(w.applied) && w.load_attempted;
    service_settings previous = w.applied;
    w.applied = next;
    if (reload) {
      try {
        w.lm = options_.loader(next);
        w.ctx = std::make_unique<engine::context>(w.lm.model, 64);
        w.load_error.clear();
        for (auto& [uri, d] : w.docs) w.attach_session(d);
      } catch (const std::exception& e) {
        // Keep running on the model we had: revert the model settings only.
        w.applied.take_model_settings(previous);
        client_hooks hooks;
        {
          std::lock_guard lock(mutex_);
          hooks = hooks_;
          settings_ = w.applied;
        }
        if (hooks.show_message)
          hooks.show_message(1, std::string("rwkv-lsp: could not load the model: ") + e.what() +
                                    (w.lm.model ? "; still using " + w.lm.description : ""));
      }
    } else {
      for (auto& [uri, d] : w.docs)
        if (d.session) d.session->set_options(w.session_options());
    }
    on_worker_idle_done();
  });
  scheduler_.wake();
  return {};
}

void engine_service::open(const std::string& uri, const std::string& language_id, std::string text,
                          std::int64_t version) {
  {
    std::lock_guard lock(mutex_);
    cancel_active(uri);
  }
  scheduler_.post([this, uri, language_id, text = std::move(text), version]() mutable {
    auto& w = *w_;
    document& d = w.docs[uri];
    d.language = language_id;
    d.header = document_header(uri, language_id);
    d.version = version;
    d.last_used = ++w.clock;
    d.session.reset();
    d.text = std::move(text);
    if (!w.load_attempted) {
      w.load_attempted = true;
      try {
        w.lm = options_.loader(w.applied);
        w.ctx = std::make_unique<engine::context>(w.lm.model, 64);
      } catch (const std::exception& e) {
        w.load_error = e.what();
        client_hooks hooks;
        {
          std::lock_guard lock(mutex_);
          hooks = hooks_;
        }
        if (hooks.show_message) hooks.show_message(1, w.load_error);
      }
    }
    if (w.lm.model) w.attach_session(d);
    on_worker_idle_done();
  });
  scheduler_.wake();
}

void engine_service::change(const std::string& uri, const std::vector<byte_edit>& edits, std::int64_t version) {
  {
    std::lock_guard lock(mutex_);
    cancel_active(uri);  // a newer edit makes pending suggestions stale
  }
  scheduler_.post([this, uri, edits, version] {
    auto& w = *w_;
    auto it = w.docs.find(uri);
    if (it == w.docs.end()) return;
    document& d = it->second;
    d.version = version;
    d.last_used = ++w.clock;
    for (const auto& e : edits) {
      if (d.session) {
        d.session->edit(e.start, e.end, e.text);
      } else {
        std::size_t s = std::min(e.start, d.text.size()), t = std::clamp(e.end, s, d.text.size());
        d.text.replace(s, t - s, e.text);
      }
    }
  });
  scheduler_.wake();
}

void engine_service::close(const std::string& uri) {
  {
    std::lock_guard lock(mutex_);
    cancel_active(uri);
  }
  scheduler_.post([this, uri] {
    auto& w = *w_;
    auto it = w.docs.find(uri);
    if (it == w.docs.end()) return;
    client_hooks hooks;
    {
      std::lock_guard lock(mutex_);
      hooks = hooks_;
    }
    if (!it->second.progress_token.empty() && hooks.progress) hooks.progress(it->second.progress_token, "end", "", 100);
    w.docs.erase(it);  // frees the document's states
    on_worker_idle_done();
  });
}

void engine_service::complete(completion_request request, completion_callback done) {
  const auto start = clock_type::now();
  {
    std::lock_guard lock(mutex_);
    cancel_active(request.uri);  // a newer request for the same document supersedes older ones
    active_.emplace(request.uri, request.cancel);
  }
  scheduler_.post([this, request = std::move(request), done = std::move(done), start] {
    auto& w = *w_;
    completion_result r;
    const std::atomic<bool>* cancel = request.cancel.get();
    auto finish = [&] {
      {
        std::lock_guard lock(mutex_);
        auto [b, e] = active_.equal_range(request.uri);
        for (auto it = b; it != e; ++it)
          if (it->second == request.cancel) {
            active_.erase(it);
            break;
          }
      }
      on_worker_idle_done();
      done(std::move(r));
    };
    if (cancel->load() || scheduler_.stopping()) {
      r.outcome = completion_result::status::cancelled;
      return finish();
    }
    try {
      auto it = w.docs.find(request.uri);
      if (it == w.docs.end()) {
        r.outcome = completion_result::status::failed;
        r.error = "document not open: " + request.uri;
        return finish();
      }
      document& d = it->second;
      d.last_used = ++w.clock;
      if (!d.session) {
        r.outcome = completion_result::status::failed;
        r.error = w.load_error.empty() ? "no model loaded" : w.load_error;
        return finish();
      }
      engine::session::cursor cur;
      engine::feed_stats fs;
      const std::size_t offset = std::min(request.offset, d.session->text().size());
      if (!d.session->state_at(*w.ctx, offset, cur, cancel, &fs)) {
        r.outcome = completion_result::status::cancelled;
        return finish();
      }
      r.timings.tokens_refed = fs.tokens_fed + fs.tail_tokens;
      r.timings.prefill_ms = ms_since(start);
      engine::completion_options co;
      co.max_tokens = w.applied.max_tokens;
      co.max_lines = w.applied.max_lines;
      co.time_budget_ms = w.applied.time_budget_ms;
      co.temperature = static_cast<float>(w.applied.temperature);
      co.top_p = static_cast<float>(w.applied.top_p);
      co.candidates = request.trigger == trigger_kind::invoked
                          ? std::clamp(request.max_candidates, 1, w.applied.candidates)
                          : 1;
      engine::generation_stats gs;
      auto where = engine::cursor_context::at(d.session->text(), offset);
      auto items = engine::generate_suggestions(*w.ctx, *w.lm.tokenizer, cur, where, co, start, cancel, &gs);
      if (cancel->load()) {
        r.outcome = completion_result::status::cancelled;
        return finish();
      }
      for (auto& s : items) r.items.push_back({std::move(s.text), s.replace_after});
      r.timings.generated_tokens = gs.generated_tokens;
      r.timings.generate_ms = gs.generate_ms;
      w.last = r.timings;
      w.have_last = true;
    } catch (const std::exception& e) {
      r.outcome = completion_result::status::failed;
      r.error = e.what();
    }
    finish();
  });
}

// Keeps checkpoint memory within budget (least recently used documents give first) and refreshes
// the status snapshot. Runs on the worker after every job.
void engine_service::on_worker_idle_done() {
  auto& w = *w_;
  const auto budget = static_cast<std::size_t>(w.applied.memory_budget_mb * 1024 * 1024);
  std::size_t total = 0;
  for (auto& [uri, d] : w.docs)
    if (d.session) total += d.session->checkpoint_bytes();
  while (total > budget) {
    document* lru = nullptr;
    for (auto& [uri, d] : w.docs)
      if (d.session && d.session->checkpoint_count() > 0 && (!lru || d.last_used < lru->last_used)) lru = &d;
    if (!lru) break;
    std::size_t freed = lru->session->thin_checkpoints();
    if (freed == 0) break;
    total -= std::min(total, freed);
  }

  nlohmann::json docs = nlohmann::json::array();
  for (const auto& [uri, d] : w.docs) {
    nlohmann::json j = {{"uri", uri}, {"version", d.version}, {"language", d.language}};
    if (d.session) {
      j["tokens"] = d.session->token_count();
      j["checkpoints"] = d.session->checkpoint_count();
      j["checkpointBytes"] = d.session->checkpoint_bytes();
      j["prefeedRemaining"] = d.session->prefeed_remaining();
    }
    docs.push_back(std::move(j));
  }
  nlohmann::json s = {{"documents", std::move(docs)},
                      {"settings", w.applied.to_json()},
                      {"memory", {{"checkpointBytes", total}, {"budgetBytes", budget}}}};
  if (w.lm.model) {
    const auto& c = w.lm.model->config();
    auto be = w.lm.model->backend_info();
    s["model"] = {{"source", w.lm.description},
                  {"version", engine::architecture_name(c.arch)},
                  {"n_layer", c.n_layer},
                  {"n_embd", c.n_embd},
                  {"n_vocab", c.n_vocab},
                  {"weights", kernels::dtype_name(w.lm.model->compute_weights_dtype())},
                  {"tokenizer", std::string(w.lm.tokenizer->name())}};
    s["backend"] = {{"name", be.name}, {"isa", be.isa}, {"threads", be.threads}};
  } else {
    s["model"] = nullptr;
    if (!w.load_error.empty()) s["modelError"] = w.load_error;
  }
  if (w.have_last)
    s["lastCompletion"] = {{"tokensRefed", w.last.tokens_refed},
                           {"prefillMs", w.last.prefill_ms},
                           {"generatedTokens", w.last.generated_tokens},
                           {"generateMs", w.last.generate_ms},
                           {"msPerToken", w.last.ms_per_token()}};
  std::lock_guard lock(mutex_);
  status_ = std::move(s);
}

nlohmann::json engine_service::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

}  // namespace rwkv::lsp
