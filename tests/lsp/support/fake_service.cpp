#include "lsp/support/fake_service.hpp"

#include <algorithm>
#include <utility>

namespace rwkv::test {

using json = nlohmann::json;
using lsp::completion_result;

fake_service::fake_service(mode m, std::string canned) : mode_(m), canned_(std::move(canned)) {
  worker_ = std::thread([this] { worker_loop(); });
}

fake_service::~fake_service() { shutdown(); }

void fake_service::set_mode(mode m) {
  std::lock_guard lock(mutex_);
  mode_ = m;
}

void fake_service::set_canned(std::string canned, std::size_t replace_after) {
  std::lock_guard lock(mutex_);
  canned_ = std::move(canned);
  replace_after_ = replace_after;
}

void fake_service::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  delay_ = delay;
}

void fake_service::open(const std::string& uri, const std::string&, std::string text, std::int64_t) {
  std::lock_guard lock(mutex_);
  calls_.push_back("open " + uri);
  texts_[uri] = std::move(text);
}

void fake_service::change(const std::string& uri, const std::vector<lsp::byte_edit>& edits, std::int64_t) {
  std::lock_guard lock(mutex_);
  calls_.push_back("change " + uri + " " + std::to_string(edits.size()));
  auto it = texts_.find(uri);
  if (it == texts_.end()) {
    edits_valid_ = false;
    return;
  }
  for (const auto& edit : edits) {
    if (edit.start > edit.end || edit.end > it->second.size()) {
      edits_valid_ = false;
      return;
    }
    it->second.replace(edit.start, edit.end - edit.start, edit.text);
  }
}

void fake_service::close(const std::string& uri) {
  std::lock_guard lock(mutex_);
  calls_.push_back("close " + uri);
  texts_.erase(uri);
}

void fake_service::save(const std::string& uri) {
  std::lock_guard lock(mutex_);
  calls_.push_back("save " + uri);
}

std::string fake_service::suggestion_locked(const std::string& uri, std::size_t offset) const {
  auto it = texts_.find(uri);
  std::string_view before;
  if (it != texts_.end()) before = std::string_view(it->second).substr(0, std::min(offset, it->second.size()));
  for (std::size_t k = std::min(canned_.size(), before.size()); k > 0; --k)
    if (before.substr(before.size() - k) == std::string_view(canned_).substr(0, k)) return canned_.substr(k);
  return canned_;
}

std::string fake_service::suggestion(const std::string& uri, std::size_t offset) const {
  std::lock_guard lock(mutex_);
  return suggestion_locked(uri, offset);
}

completion_result fake_service::make_result(const lsp::completion_request& request) const {
  completion_result result;
  std::string text = suggestion_locked(request.uri, request.offset);
  for (int i = 0; i < std::max(1, request.max_candidates); ++i)
    result.items.push_back({i == 0 ? text : text + "#" + std::to_string(i), replace_after_});
  result.timings.generated_tokens = static_cast<std::int64_t>(text.size());
  return result;
}

void fake_service::complete(lsp::completion_request request, lsp::completion_callback done) {
  std::unique_lock lock(mutex_);
  calls_.push_back("complete " + request.uri + " " + std::to_string(request.offset));
  requests_.push_back(request);
  if (stopping_) {
    lock.unlock();
    done(completion_result{completion_result::status::cancelled, {}, {}, {}});
    return;
  }
  switch (mode_) {
    case mode::immediate: {
      completion_result result = make_result(request);
      lock.unlock();
      done(std::move(result));
      return;
    }
    case mode::fail:
      lock.unlock();
      done(completion_result{completion_result::status::failed, {}, "the fake service was told to fail", {}});
      return;
    case mode::held:
      held_.push_back(job{std::move(request), std::move(done), {}});
      return;
    case mode::threaded: {
      auto due = delay_.count() > 0 ? std::chrono::steady_clock::now() + delay_ : std::chrono::steady_clock::time_point::max();
      queue_.push_back(job{std::move(request), std::move(done), due});
      work_.notify_all();
      return;
    }
  }
}

void fake_service::worker_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_ && queue_.empty()) return;
    // Answer whatever is cancelled or due; poll the cancel flags every millisecond, as an engine
    // checks them between tokens.
    auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<job, completion_result>> ready;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (stopping_ || it->request.cancel->load()) {
        ready.emplace_back(std::move(*it), completion_result{completion_result::status::cancelled, {}, {}, {}});
        it = queue_.erase(it);
      } else if (it->due <= now) {
        completion_result result = make_result(it->request);
        ready.emplace_back(std::move(*it), std::move(result));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    if (!ready.empty()) {
      lock.unlock();
      for (auto& [j, result] : ready) j.done(std::move(result));
      lock.lock();
      continue;
    }
    if (queue_.empty()) {
      work_.wait(lock);
    } else {
      work_.wait_for(lock, std::chrono::milliseconds(1));
    }
  }
}

lsp::settings_result fake_service::configure(const json& settings) {
  std::string progress_token;
  client_hooks hooks;
  {
    std::lock_guard lock(mutex_);
    configure_calls_.push_back(settings);
    if (!settings.is_object()) return {false, "settings must be an object"};
    if (auto it = settings.find("threads"); it != settings.end()) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 256)
        return {false, "threads must be an integer from 1 to 256, not " + it->dump()};
    }
    if (auto it = settings.find("model"); it != settings.end() && !it->is_string())
      return {false, "model must be a path (a string), not " + it->dump()};
    settings_.update(settings, true);
    progress_token = settings.value("fakeProgress", "");
    hooks = hooks_;
  }
  // Like a model load that starts reporting progress at once, before initialize is answered.
  if (!progress_token.empty() && hooks.progress) hooks.progress(progress_token, "begin", "Loading the model", 0);
  return {};
}

json fake_service::status() const {
  std::lock_guard lock(mutex_);
  json docs = json::object();
  for (const auto& [uri, text] : texts_) docs[uri] = {{"bytes", text.size()}};
  return json{{"model", settings_.value("model", "fake")}, {"backend", "fake"}, {"documents", docs},
              {"completions", requests_.size()}};
}

void fake_service::set_client_hooks(client_hooks hooks) {
  std::lock_guard lock(mutex_);
  hooks_ = std::move(hooks);
  hooks_installed_ = true;
}

void fake_service::shutdown() {
  std::vector<job> held;
  {
    std::lock_guard lock(mutex_);
    ++shutdown_calls_;
    stopping_ = true;
    held.swap(held_);
  }
  work_.notify_all();
  for (auto& j : held) j.done(completion_result{completion_result::status::cancelled, {}, {}, {}});
  if (worker_.joinable()) worker_.join();
}

std::size_t fake_service::release_held() {
  std::vector<std::pair<job, completion_result>> ready;
  {
    std::lock_guard lock(mutex_);
    for (auto& j : held_) {
      completion_result result = make_result(j.request);
      ready.emplace_back(std::move(j), std::move(result));
    }
    held_.clear();
  }
  for (auto& [j, result] : ready) j.done(std::move(result));
  return ready.size();
}

std::size_t fake_service::answer_cancelled() {
  std::vector<job> cancelled;
  {
    std::lock_guard lock(mutex_);
    auto keep = std::stable_partition(held_.begin(), held_.end(), [](const job& j) { return !j.request.cancel->load(); });
    std::move(keep, held_.end(), std::back_inserter(cancelled));
    held_.erase(keep, held_.end());
  }
  for (auto& j : cancelled) j.done(completion_result{completion_result::status::cancelled, {}, {}, {}});
  return cancelled.size();
}

std::size_t fake_service::held_count() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

void fake_service::emit_progress(const std::string& token, const std::string& kind, const std::string& title,
                                 int percentage) {
  client_hooks hooks;
  {
    std::lock_guard lock(mutex_);
    hooks = hooks_;
  }
  if (hooks.progress) hooks.progress(token, kind, title, percentage);
}

void fake_service::emit_show_message(int type, const std::string& message) {
  client_hooks hooks;
  {
    std::lock_guard lock(mutex_);
    hooks = hooks_;
  }
  if (hooks.show_message) hooks.show_message(type, message);
}

void fake_service::emit_log_message(int type, const std::string& message) {
  client_hooks hooks;
  {
    std::lock_guard lock(mutex_);
    hooks = hooks_;
  }
  if (hooks.log_message) hooks.log_message(type, message);
}

std::vector<std::string> fake_service::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

std::optional<std::string> fake_service::text(const std::string& uri) const {
  std::lock_guard lock(mutex_);
  auto it = texts_.find(uri);
  if (it == texts_.end()) return std::nullopt;
  return it->second;
}

std::vector<lsp::completion_request> fake_service::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<json> fake_service::configure_calls() const {
  std::lock_guard lock(mutex_);
  return configure_calls_;
}

json fake_service::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

bool fake_service::edits_valid() const {
  std::lock_guard lock(mutex_);
  return edits_valid_;
}

bool fake_service::hooks_installed() const {
  std::lock_guard lock(mutex_);
  return hooks_installed_;
}

int fake_service::shutdown_calls() const {
  std::lock_guard lock(mutex_);
  return shutdown_calls_;
}

}  // namespace rwkv::test
