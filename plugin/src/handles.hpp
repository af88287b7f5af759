// The objects behind the opaque handles of rwkv_lsp.h. Internal to the library.
#pragma once

#include "rwkv_lsp.h"

#include "engine/context.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "engine/tokenizer.hpp"
#include "lsp/document.hpp"
#include "lsp/positions.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rwkv::plugin {

// What a model handle and every document opened on it share: the weights, the tokenizer, and the
// registry the memory budget walks. Lives until the last handle or document lets go of it.
struct model_box {
  std::shared_ptr<const engine::model> model;
  std::shared_ptr<const engine::tokenizer> tokenizer;
  std::string description;  // the path, for the server's status
  std::uint64_t memory_budget = 0;
  // Strings rwkv_lsp_model_get_info hands out.
  std::string architecture, tokenizer_name, backend, isa, weight_type;
  int threads = 0;

  std::mutex registry_mutex;
  std::vector<rwkv_lsp_document*> documents;  // open documents, for the budget
  std::uint64_t clock = 0;                    // use order, under registry_mutex

  // Frees checkpoint memory of the least recently used idle documents until the total fits the
  // budget. `self` (already locked by the caller) may be thinned too, last.
  void enforce_budget(rwkv_lsp_document* self);
  std::uint64_t checkpoint_bytes();
};

}  // namespace rwkv::plugin

struct rwkv_lsp_model {
  std::shared_ptr<rwkv::plugin::model_box> box;
};

struct rwkv_lsp_document {
  std::shared_ptr<rwkv::plugin::model_box> box;
  rwkv::lsp::position_encoding encoding = rwkv::lsp::position_encoding::utf8;
  std::string uri, language;
  rwkv::lsp::document text;  // the text and its line index, for positions
  rwkv::engine::session session;
  rwkv::engine::context ctx;
  std::uint64_t last_used = 0;  // model_box::clock at the last use, under registry_mutex

  // Held by every call that uses the session; the budget thins only documents it can lock.
  mutable std::mutex busy;
  // The cancel flag of the work in progress (null when idle), for rwkv_lsp_document_cancel.
  std::mutex cancel_mutex;
  std::shared_ptr<std::atomic<bool>> active;

  rwkv_lsp_document(std::shared_ptr<rwkv::plugin::model_box> b, std::string u, std::string lang, std::string body,
                    rwkv::lsp::position_encoding enc, rwkv::engine::session_options o);
};

struct rwkv_lsp_completion {
  struct item {
    std::string text;
    rwkv_lsp_range range;
  };
  std::vector<item> items;
  rwkv_lsp_completion_stats stats{};
};
