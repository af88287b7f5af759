// rwkv_lsp.h: the language server on a pair of file descriptors. extern "C" wrappers over
// lsp::fd_transport, lsp::engine_service and lsp::run_server, as `rwkv-lsp serve` uses them.
#include "api_common.hpp"
#include "handles.hpp"

#include "lsp/engine_service.hpp"
#include "lsp/fd_transport.hpp"
#include "lsp/serve.hpp"
#include "lsp/service_settings.hpp"

#include <nlohmann/json.hpp>

#include <atomic>

using namespace rwkv;
using namespace rwkv::plugin;

struct rwkv_lsp_server {
  std::unique_ptr<lsp::fd_transport> transport;
  std::unique_ptr<lsp::engine_service> service;
  lsp::server_options options;
  std::atomic<bool> started{false};
};

extern "C" {

RWKV_LSP_API rwkv_lsp_server_params rwkv_lsp_server_default_params(void) {
  rwkv_lsp_server_params p{};
  p.struct_size = sizeof p;
  p.stderr_log_level = 0;
  return p;
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_server_create(const rwkv_lsp_server_params* params, int32_t in_fd,
                                                    int32_t out_fd, rwkv_lsp_server** out_server) {
  return guarded([&] {
    auto p = checked_params(params, "params");
    auto& out = require(out_server, "out_server");
    if (in_fd < 0 || out_fd < 0) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "in_fd and out_fd must be open descriptors");
    if (p.stderr_log_level < 0 || p.stderr_log_level > 4)
      fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->stderr_log_level must be 0..4");
    nlohmann::json settings = nlohmann::json::object();
    if (p.settings_json && *p.settings_json) {
      try {
        settings = nlohmann::json::parse(p.settings_json);
      } catch (const nlohmann::json::exception& e) {
        fail(RWKV_LSP_ERR_INVALID_ARGUMENT, std::string("params->settings_json is not JSON: ") + e.what());
      }
      if (!settings.is_object()) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->settings_json must be a JSON object");
      lsp::service_settings checked;
      if (auto r = lsp::service_settings{}.merged(settings, checked); !r.ok)
        fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->settings_json: " + r.message);
    }
    auto server = std::make_unique<rwkv_lsp_server>();
    lsp::engine_service::options so;
    if (p.model) {
      // The host's model serves while the settings name no model file of their own.
      std::shared_ptr<model_box> box = p.model->box;
      so.loader = [box](const lsp::service_settings& s) {
        if (!s.model.empty()) return lsp::load_model_from_settings(s);
        return lsp::loaded_model{box->model, box->tokenizer, box->description};
      };
    }
    server->service = std::make_unique<lsp::engine_service>(std::move(so));
    server->options.default_settings = std::move(settings);
    server->options.stderr_log_level = p.stderr_log_level;
    server->transport = std::make_unique<lsp::fd_transport>(in_fd, out_fd, lsp::fd_transport::ownership::borrow);
    out = server.release();
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_server_run(rwkv_lsp_server* server, int32_t* out_exit_code) {
  return guarded([&] {
    auto& s = require(server, "server");
    if (s.started.exchange(true)) fail(RWKV_LSP_ERR_BUSY, "this server already ran; create another one");
    int code = lsp::run_server(*s.transport, *s.service, s.options);
    if (out_exit_code) *out_exit_code = code;
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_server_stop(rwkv_lsp_server* server) {
  return guarded([&] {
    require(server, "server").transport->stop();
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API void rwkv_lsp_server_free(rwkv_lsp_server* server) {
  if (!server) return;
  try {
    server->service->shutdown();
    server->transport.reset();  // flushes what is queued, joins the writer
    delete server;
  } catch (...) {
    // Destructors of the members do not throw; nothing can be reported from a free function.
  }
}

}  // extern "C"
