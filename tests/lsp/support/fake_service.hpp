// A deterministic completion_service for the protocol tests and rwkv-lsp-fake-server.
//
// It keeps each document's text by applying the byte edits it receives (so tests can check the
// protocol layer's translation of didChange against the client's text), records every call, and
// completes with "the rest of a canned string": if the text before the cursor ends with the
// first k characters of the canned string, the suggestion is the remaining ones (the whole string
// when nothing matches). Candidate i > 0 gets "#i" appended.
//
// Modes decide when `done` runs:
//   immediate  inside complete(), on the calling thread;
//   held       when the test says so (release_held / answer_cancelled), on the test's thread;
//   threaded   on a worker thread, after `delay` or as soon as the request's cancel flag is set
//              (delay zero: "hold until cancelled"), whichever comes first;
//   fail       inside complete(), with outcome failed.
// shutdown() answers everything still held or queued with `cancelled`, then joins the worker.
//
// Settings: "threads" must be an integer 1..256 and "model" a string, else configure() fails
// and nothing changes; accepted settings are merged into settings(). A "fakeProgress": TOKEN
// setting makes configure() report progress "begin" for TOKEN before it returns.
#pragma once

#include "lsp/completion_service.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace rwkv::test {

class fake_service final : public lsp::completion_service {
 public:
  enum class mode { immediate, held, threaded, fail };

  explicit fake_service(mode m = mode::immediate, std::string canned = "hello world");
  ~fake_service() override;

  void set_mode(mode m);
  void set_canned(std::string canned, std::size_t replace_after = 0);
  void set_delay(std::chrono::milliseconds delay);  // threaded mode; zero: until cancelled

  // completion_service
  void open(const std::string& uri, const std::string& language_id, std::string text, std::int64_t version) override;
  void change(const std::string& uri, const std::vector<lsp::byte_edit>& edits, std::int64_t version) override;
  void close(const std::string& uri) override;
  void save(const std::string& uri) override;
  void complete(lsp::completion_request request, lsp::completion_callback done) override;
  lsp::settings_result configure(const nlohmann::json& settings) override;
  nlohmann::json status() const override;
  void set_client_hooks(client_hooks hooks) override;
  void shutdown() override;

  // Test controls (any thread).
  std::size_t release_held();      // answers every held request (ok); returns how many
  std::size_t answer_cancelled();  // answers held requests whose cancel flag is set (cancelled)
  std::size_t held_count() const;
  void emit_progress(const std::string& token, const std::string& kind, const std::string& title, int percentage);
  void emit_show_message(int type, const std::string& message);
  void emit_log_message(int type, const std::string& message);

  // What happened.
  std::vector<std::string> calls() const;  // "open URI", "change URI 2", "close URI", "save URI", "complete URI 12", ...
  std::optional<std::string> text(const std::string& uri) const;
  std::vector<lsp::completion_request> requests() const;
  std::vector<nlohmann::json> configure_calls() const;
  nlohmann::json settings() const;
  bool edits_valid() const;  // every edit fitted the text it applied to
  bool hooks_installed() const;
  int shutdown_calls() const;
  // The suggestion for `uri` at byte `offset`, as complete() would compute it now.
  std::string suggestion(const std::string& uri, std::size_t offset) const;

 private:
  struct job {
    lsp::completion_request request;
    lsp::completion_callback done;
    std::chrono::steady_clock::time_point due;
  };
  lsp::completion_result make_result(const lsp::completion_request& request) const;  // mutex_ held
  std::string suggestion_locked(const std::string& uri, std::size_t offset) const;
  void worker_loop();

  mutable std::mutex mutex_;
  std::condition_variable work_;
  mode mode_;
  std::string canned_;
  std::size_t replace_after_ = 0;
  std::chrono::milliseconds delay_{0};
  std::map<std::string, std::string> texts_;
  std::vector<std::string> calls_;
  std::vector<lsp::completion_request> requests_;
  std::vector<nlohmann::json> configure_calls_;
  nlohmann::json settings_ = nlohmann::json::object();
  client_hooks hooks_;
  bool hooks_installed_ = false;
  bool edits_valid_ = true;
  bool stopping_ = false;
  int shutdown_calls_ = 0;
  std::vector<job> held_;
  std::deque<job> queue_;
  std::thread worker_;
};

}  // namespace rwkv::test
