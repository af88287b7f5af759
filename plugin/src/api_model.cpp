// rwkv_lsp.h: models. extern "C" wrappers over engine::model and the tokenizer choice.
#include "api_common.hpp"
#include "handles.hpp"

#include "engine/embedded_model.hpp"
#include "engine/model_catalog.hpp"
#include "engine/tokenizer_select.hpp"
#include "kernels/dtype.hpp"

#include <algorithm>

namespace rwkv::plugin {

void model_box::enforce_budget(rwkv_lsp_document* self) {
  if (memory_budget == 0) return;
  std::lock_guard registry(registry_mutex);
  std::uint64_t total = 0;
  // Idle documents (lockable now) by age; `self` is in use by the caller and already locked.
  std::vector<std::unique_lock<std::mutex>> locks;
  std::vector<rwkv_lsp_document*> idle;
  for (auto* d : documents) {
    if (d == self) {
      total += d->session.checkpoint_bytes();
      continue;
    }
    std::unique_lock lock(d->busy, std::try_to_lock);
    if (!lock.owns_lock()) continue;  // busy on another thread: its memory is counted next time
    total += d->session.checkpoint_bytes();
    idle.push_back(d);
    locks.push_back(std::move(lock));
  }
  std::sort(idle.begin(), idle.end(), [](auto* a, auto* b) { return a->last_used < b->last_used; });
  if (self) idle.push_back(self);
  for (auto* d : idle) {
    while (total > memory_budget) {
      std::size_t freed = d->session.thin_checkpoints();
      if (freed == 0) break;
      total -= std::min<std::uint64_t>(total, freed);
    }
    if (total <= memory_budget) break;
  }
}

std::uint64_t model_box::checkpoint_bytes() {
  std::lock_guard registry(registry_mutex);
  std::uint64_t total = 0;
  for (auto* d : documents) {
    std::unique_lock lock(d->busy, std::try_to_lock);
    if (lock.owns_lock()) total += d->session.checkpoint_bytes();
  }
  return total;
}

}  // namespace rwkv::plugin

using namespace rwkv;
using namespace rwkv::plugin;

extern "C" {

RWKV_LSP_API rwkv_lsp_model_params rwkv_lsp_model_default_params(void) {
  rwkv_lsp_model_params p{};
  p.struct_size = sizeof p;
  p.threads = 0;
  p.memory_budget_bytes = std::uint64_t{1} << 30;
  return p;
}

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_model_load(const rwkv_lsp_model_params* params, rwkv_lsp_model** out_model) {
  return guarded([&] {
    auto p = checked_params(params, "params");
    auto& out = require(out_model, "out_model");
    if (p.threads < 0) fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->threads must be >= 0 (0: all cores)");
    engine::load_options o;
    o.backend.name = p.backend && *p.backend ? p.backend : "auto";
    o.backend.threads = p.threads;
    if (p.weight_type && *p.weight_type) {
      auto t = kernels::dtype_from_name(p.weight_type);
      if (!t)
        fail(RWKV_LSP_ERR_INVALID_ARGUMENT, std::string("params->weight_type \"") + p.weight_type +
                                                "\" is not a weight type (f32, f16, bf16, q8_0, q4_0, ...)");
      o.weight_type = *t;
    }
    const std::string precision = p.precision && *p.precision ? p.precision : "fast";
    if (precision != "fast" && precision != "exact")
      fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "params->precision must be \"fast\" or \"exact\"");
    o.backend.precision = precision == "exact" ? kernels::precision::exact : kernels::precision::fast;
    // A path, a pulled model's name, or the built-in model.
    std::string path;
    try {
      path = engine::resolve_model_reference(p.path ? p.path : "");
    } catch (const engine::error& e) {
      // A reference that names a file (not a catalog name) and is not there is an I/O error to a host.
      if (p.path && std::string_view(p.path).find('/') != std::string_view::npos) fail(RWKV_LSP_ERR_IO, e.what());
      throw;
    }
    const bool builtin = path == engine::embedded_model_name;
    if (p.progress) {
      auto cb = p.progress;
      void* user = p.progress_user_data;
      o.progress = [cb, user](float f) { cb(f, user); };
    }
    if (p.progress) p.progress(0.0f, p.progress_user_data);
    auto box = std::make_shared<model_box>();
    box->model = engine::model::load(path, o);
    box->tokenizer = engine::tokenizer_for_model(box->model->config().n_vocab, builtin ? "" : path, p.vocab ? p.vocab : "");
    box->description = builtin ? engine::embedded_model_description() : path;
    box->memory_budget = p.memory_budget_bytes;
    box->architecture = engine::architecture_name(box->model->config().arch);
    box->tokenizer_name = std::string(box->tokenizer->name());
    auto be = box->model->backend_info();
    box->backend = be.name;
    box->isa = be.isa;
    box->threads = be.threads;
    box->weight_type = std::string(kernels::dtype_name(box->model->compute_weights_dtype()));
    out = new rwkv_lsp_model{std::move(box)};
    return RWKV_LSP_OK;
  });
}

RWKV_LSP_API void rwkv_lsp_model_free(rwkv_lsp_model* model) { delete model; }

RWKV_LSP_API rwkv_lsp_status rwkv_lsp_model_get_info(const rwkv_lsp_model* model, rwkv_lsp_model_info* info) {
  return guarded([&] {
    auto& m = require(model, "model");
    auto& i = require(info, "info");
    if (i.struct_size != sizeof(rwkv_lsp_model_info))
      fail(RWKV_LSP_ERR_INVALID_ARGUMENT, "info->struct_size must be sizeof(rwkv_lsp_model_info)");
    const auto& b = *m.box;
    const auto& c = b.model->config();
    i.architecture = b.architecture.c_str();
    i.n_layer = c.n_layer;
    i.n_embd = c.n_embd;
    i.n_vocab = c.n_vocab;
    i.tokenizer = b.tokenizer_name.c_str();
    i.backend = b.backend.c_str();
    i.isa = b.isa.c_str();
    i.threads = b.threads;
    i.weight_type = b.weight_type.c_str();
    i.checkpoint_bytes = m.box->checkpoint_bytes();
    return RWKV_LSP_OK;
  });
}

}  // extern "C"
