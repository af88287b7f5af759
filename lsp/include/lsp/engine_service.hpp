// The completion service backed by the RWKV engine: one model shared by all documents, a
// persistent incrementally-updated state per open document, and one worker (lsp::scheduler) that
// runs all inference.
//
// Threads: the completion_service methods are called from the protocol thread; they validate,
// flag stale work as cancelled and queue a job. Everything that touches models, sessions and
// contexts runs on the worker. status() reads a snapshot the worker refreshes after each job.
#pragma once

#include "lsp/completion_service.hpp"
#include "lsp/scheduler.hpp"
#include "lsp/service_settings.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rwkv::engine {
class model;
class tokenizer;
}  // namespace rwkv::engine

namespace rwkv::lsp {

struct loaded_model {
  std::shared_ptr<const engine::model> model;
  std::shared_ptr<const engine::tokenizer> tokenizer;
  std::string description;  // for status and messages
};

// Loads the model the settings name; throws engine::error with a message for the user.
using model_loader = std::function<loaded_model(const service_settings&)>;

// The default loader: settings.model is a path (BlinkDL .pth, ...); the tokenizer comes from
// settings.vocab or the model's vocabulary size.
loaded_model load_model_from_settings(const service_settings& s);

class engine_service final : public completion_service {
 public:
  struct options {
    service_settings defaults;
    model_loader loader = load_model_from_settings;
    scheduler::mode mode = scheduler::mode::threaded;
    std::int64_t progress_threshold_tokens = 4096;  // documents longer than this report $/progress
  };

  explicit engine_service(options o);
  ~engine_service() override;

  void open(const std::string& uri, const std::string& language_id, std::string text, std::int64_t version) override;
  void change(const std::string& uri, const std::vector<byte_edit>& edits, std::int64_t version) override;
  void close(const std::string& uri) override;
  void complete(completion_request request, completion_callback done) override;
  settings_result configure(const nlohmann::json& settings) override;
  nlohmann::json status() const override;
  void set_client_hooks(client_hooks hooks) override;
  void shutdown() override;

  // Manual scheduling (tests): runs queued work and background pre-feeding to completion.
  int run_pending(bool with_background = true) { return scheduler_.run_pending(with_background); }

  struct document;
  struct worker_state;

 private:
  void cancel_active(const std::string& uri);
  void on_worker_idle_done();

  options options_;
  std::unique_ptr<worker_state> w_;  // touched only on the worker

  mutable std::mutex mutex_;  // guards what the protocol thread reads or writes
  service_settings settings_;
  client_hooks hooks_;
  std::multimap<std::string, std::shared_ptr<std::atomic<bool>>> active_;  // uri -> cancel flags
  nlohmann::json status_;

  scheduler scheduler_;  // last: stopped (and joined) first on destruction
};

}  // namespace rwkv::lsp
