// The boundary between the LSP layer and everything that computes completions.
//
// In clangd's terms this is the "Server" that knows nothing of LSP: the protocol layer
// (lsp_server) turns JSON-RPC messages into calls on this interface with positions already
// converted to byte offsets in the document's UTF-8 text, and turns results back into messages.
// The engine-backed implementation (engine_service) owns documents' RWKV states, checkpoints and
// the scheduler; tests use small fakes.
//
// Threads: every method may be called from the protocol thread and must return quickly (work is
// queued, never done inline). Completion callbacks and log callbacks run on worker threads; they
// must be thread-safe and must not call back into the service synchronously.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rwkv::lsp {

// A replacement of bytes [start, end) of the document as it was before this edit.
struct byte_edit {
  std::size_t start = 0;
  std::size_t end = 0;
  std::string text;
};

enum class trigger_kind { invoked, automatic };

struct completion_request {
  std::string uri;
  std::size_t offset = 0;     // cursor, a byte offset into the document text
  trigger_kind trigger = trigger_kind::automatic;
  int max_candidates = 1;     // invoked requests may ask for several
  // Set by the protocol layer on $/cancelRequest; the service also cancels on a newer edit.
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
};

struct completion_timings {
  std::int64_t tokens_refed = 0;     // tokens fed to bring the state to the cursor
  double prefill_ms = 0;
  std::int64_t generated_tokens = 0;
  double generate_ms = 0;
  double ms_per_token() const { return generated_tokens ? generate_ms / generated_tokens : 0; }
};

struct completion_candidate {
  std::string text;               // inserted at the cursor
  std::size_t replace_after = 0;  // bytes after the cursor the insertion replaces (closing brackets it re-types)
};

struct completion_result {
  enum class status { ok, cancelled, failed } outcome = status::ok;
  std::vector<completion_candidate> items;
  std::string error;  // for failed
  completion_timings timings;
};

using completion_callback = std::function<void(completion_result)>;

// Result of applying settings: `ok` false means nothing changed and `message` says why.
struct settings_result {
  bool ok = true;
  std::string message;
};

class completion_service {
 public:
  virtual ~completion_service() = default;

  virtual void open(const std::string& uri, const std::string& language_id, std::string text, std::int64_t version) = 0;
  // Edits apply in order, each to the text left by the previous one.
  virtual void change(const std::string& uri, const std::vector<byte_edit>& edits, std::int64_t version) = 0;
  virtual void close(const std::string& uri) = 0;
  virtual void save(const std::string& uri) { (void)uri; }

  // Queues a completion; `done` is called exactly once (also when cancelled or on error).
  virtual void complete(completion_request request, completion_callback done) = 0;

  // Settings from initializationOptions / workspace/didChangeConfiguration (a JSON object with the
  // keys documented in README: model, vocab, threads, maxTokens, maxLines, temperature, topP,
  // timeBudgetMs, checkpointSpacing, memoryBudgetMb, ...). Unknown keys are ignored.
  virtual settings_result configure(const nlohmann::json& settings) = 0;

  // The `rwkv/status` payload: model, backend, documents, last completion timings.
  virtual nlohmann::json status() const = 0;

  // Messages for the user (window/showMessage, type 1 error .. 4 log) and progress of background
  // work ($/progress): installed by the protocol layer before any other call. The protocol layer
  // installs empty hooks again after shutdown(), when it goes away.
  struct client_hooks {
    std::function<void(int type, const std::string& message)> show_message;
    std::function<void(int type, const std::string& message)> log_message;
    // token identifies one piece of work; kind "begin" | "report" | "end"; percentage 0..100 or -1.
    std::function<void(const std::string& token, const std::string& kind, const std::string& title, int percentage)>
        progress;
  };
  virtual void set_client_hooks(client_hooks hooks) = 0;

  // Stops background work and joins threads; no callbacks run after it returns. The protocol
  // layer calls it once, on the LSP `shutdown` request or when the connection ends, and then calls
  // nothing else but set_client_hooks({}). It sets the cancel flag of every request in flight
  // first; requests whose callback did not run by the time shutdown() returns are answered
  // -32800 by the protocol layer, so a late callback would be a bug, not a double answer.
  virtual void shutdown() = 0;
};

}  // namespace rwkv::lsp
