#include "lsp/progress_reporter.hpp"

#include "lsp/protocol.hpp"

namespace rwkv::lsp {

using json = nlohmann::json;

void progress_reporter::enable(bool client_supports_progress) {
  std::lock_guard lock(mutex_);
  enabled_ = client_supports_progress;
}

void progress_reporter::client_ready() {
  std::lock_guard lock(mutex_);
  client_ready_ = true;
  for (auto& [token, state] : tokens_)
    if (state.at == phase::waiting_for_init) create(token);
}

void progress_reporter::report(const std::string& token, const std::string& kind, const std::string& title,
                               int percentage) {
  std::optional<int> pct;
  if (percentage >= 0) pct = std::min(percentage, 100);
  std::optional<std::string> message;
  if (!title.empty()) message = title;

  json value;
  if (kind == "begin") {
    value = work_done_progress_begin{title, std::nullopt, pct, false};
  } else if (kind == "report") {
    value = work_done_progress_report{message, pct};
  } else if (kind == "end") {
    value = work_done_progress_end{message};
  } else {
    return;
  }

  std::lock_guard lock(mutex_);
  if (!enabled_) return;
  auto it = tokens_.find(token);
  if (kind == "begin") {
    if (it != tokens_.end()) return;  // already running: a second begin is not valid LSP
    it = tokens_.emplace(token, token_state{}).first;
    it->second.held.push_back(std::move(value));
    if (client_ready_) create(token);
    return;
  }
  if (it == tokens_.end()) return;  // never began, or its create failed
  if (it->second.at != phase::ready) {
    it->second.held.push_back(std::move(value));
    return;
  }
  send(token, std::move(value));
  if (kind == "end") tokens_.erase(it);
}

void progress_reporter::create(const std::string& token) {
  tokens_[token].at = phase::creating;
  // The response arrives on the protocol thread, after this lock is released.
  channel_.request("window/workDoneProgress/create", work_done_progress_create_params{token},
                   [this, token](const json&, const std::optional<json>& error) { on_created(token, !error); });
}

void progress_reporter::send(const std::string& token, json value) {
  // Sent under the lock so that events of one token keep their order across threads.
  channel_.notify("$/progress", progress_params{token, std::move(value)});
}

void progress_reporter::on_created(const std::string& token, bool ok) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return;
  if (!ok) {
    tokens_.erase(it);
    return;
  }
  it->second.at = phase::ready;
  bool ended = false;
  for (auto& value : it->second.held) {
    ended = value.value("kind", "") == "end";
    send(token, std::move(value));
  }
  it->second.held.clear();
  if (ended) tokens_.erase(it);
}

std::size_t progress_reporter::active_tokens() const {
  std::lock_guard lock(mutex_);
  return tokens_.size();
}

}  // namespace rwkv::lsp
