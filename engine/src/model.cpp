// Model loading: recognise the architecture from tensor names and shapes, derive the
// hyper-parameters, and hand the tensors to the architecture's weight builder.
#include "engine/model.hpp"

#include "engine/embedded_model.hpp"
#include "engine/error.hpp"
#include "forward/common.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace rwkv::engine {

const char* architecture_name(architecture a) noexcept {
  switch (a) {
    case architecture::v4: return "4";
    case architecture::v5_0: return "5.0";
    case architecture::v5_1: return "5.1";
    case architecture::v5_2: return "5.2";
    case architecture::v6: return "6";
    case architecture::v7: return "7";
  }
  return "?";
}

namespace {

const tensor& need(const tensor_store& s, const std::string& name, const std::string& why) {
  const tensor* t = s.find(name);
  if (!t) throw error(errc::bad_model, "'" + s.source + "' " + why + " but lacks tensor " + name + "; re-export it");
  return *t;
}

std::int64_t dim(const tensor& t, std::size_t i) { return i < t.shape.size() ? t.shape[i] : 0; }

int checked_int(std::int64_t v, const std::string& what, const std::string& source) {
  if (v <= 0 || v > (1 << 24))
    throw error(errc::bad_model, "'" + source + "': implausible " + what + " " + std::to_string(v));
  return static_cast<int>(v);
}

}  // namespace

model_config config_from_tensors(const tensor_store& s) {
  const tensor* emb = s.find("emb.weight");
  if (!emb || emb->shape.size() != 2)
    throw error(errc::bad_model, "'" + s.source + "' has no 2-D emb.weight tensor, so it is not an RWKV model "
                                 "(expected BlinkDL key names such as emb.weight, blocks.0.att.*, head.weight)");
  model_config c;
  c.n_vocab = checked_int(emb->shape[0], "vocabulary size", s.source);
  c.n_embd = checked_int(emb->shape[1], "embedding size", s.source);

  int n_layer = 0;
  for (const auto& [name, t] : s.tensors()) {
    if (name.rfind("blocks.", 0) != 0) continue;
    std::size_t dot = name.find('.', 7);
    if (dot == std::string::npos) continue;
    std::string idx = name.substr(7, dot - 7);
    if (idx.empty() || idx.size() > 6 || !std::all_of(idx.begin(), idx.end(), ::isdigit))
      throw error(errc::bad_model, "'" + s.source + "' has a malformed tensor name " + name);
    n_layer = std::max(n_layer, std::stoi(idx) + 1);
  }
  if (n_layer == 0) throw error(errc::bad_model, "'" + s.source + "' has no blocks.N.* tensors");
  c.n_layer = n_layer;

  const std::string a0 = "blocks.0.att.";
  if (s.contains(a0 + "x_r") || s.contains(a0 + "r_k")) {
    c.arch = architecture::v7;
    const std::string why = "looks like RWKV-7";
    const tensor& rk = need(s, a0 + "r_k", why);
    c.n_head = static_cast<int>(dim(rk, 0));
    c.head_size = static_cast<int>(dim(rk, 1));
    if (rk.shape.size() != 2)
      throw error(errc::bad_model, "'" + s.source + "': blocks.0.att.r_k should be [heads, head_size], is " + rk.shape_string());
    c.lora_decay = static_cast<int>(dim(need(s, a0 + "w1", why), 1));
    c.lora_aaa = static_cast<int>(dim(need(s, a0 + "a1", why), 1));
    c.lora_gate = static_cast<int>(dim(need(s, a0 + "g1", why), 1));
    if (n_layer > 1)
      c.lora_value = static_cast<int>(dim(need(s, "blocks.1.att.v1", why), 1));
    else if (const tensor* v1 = s.find(a0 + "v1"))
      c.lora_value = static_cast<int>(dim(*v1, 1));
  } else if (s.contains(a0 + "time_maa_x")) {
    c.arch = architecture::v6;
    const std::string why = "looks like RWKV-6";
    const tensor& u = need(s, a0 + "time_faaaa", why);
    c.n_head = static_cast<int>(dim(u, 0));
    c.head_size = static_cast<int>(dim(u, 1));
    c.lora_mix = static_cast<int>(dim(need(s, a0 + "time_maa_w1", why), 1) / 5);
    c.lora_decay = static_cast<int>(dim(need(s, a0 + "time_decay_w1", why), 1));
  } else if (s.contains(a0 + "ln_x.weight")) {
    // 5.2 keeps a [heads, head_size] decay and time_faaaa; 5.0 and 5.1 one decay and one
    // time_first per head (any shape of that many elements), 5.1 adding the gate.
    const std::string why = "looks like RWKV-5";
    const tensor& decay = need(s, a0 + "time_decay", why);
    const bool faaaa = s.contains(a0 + "time_faaaa");
    std::vector<std::int64_t> dims;
    for (std::int64_t d : decay.shape)
      if (d != 1) dims.push_back(d);
    if (faaaa && dims.size() == 2) {
      if (!s.contains(a0 + "gate.weight"))
        throw error(errc::bad_model, "'" + s.source + "' looks like RWKV-5.2 (time_decay " + decay.shape_string() +
                                         ") but lacks tensor blocks.0.att.gate.weight; re-export it");
      c.arch = architecture::v5_2;
      c.n_head = static_cast<int>(dims[0]);
      c.head_size = static_cast<int>(dims[1]);
    } else if (dims.size() <= 1) {
      if (!faaaa) need(s, a0 + "time_first", "looks like RWKV-5.0/5.1");
      c.arch = s.contains(a0 + "gate.weight") ? architecture::v5_1 : architecture::v5_0;
      c.n_head = checked_int(decay.numel(), "head count", s.source);
      if (c.n_embd % c.n_head != 0)
        throw error(errc::bad_model, "'" + s.source + "': " + std::to_string(c.n_head) +
                                         " heads do not divide the embedding size " + std::to_string(c.n_embd));
      c.head_size = c.n_embd / c.n_head;
    } else {
      throw error(errc::bad_model, "'" + s.source + "' looks like RWKV-5 but blocks.0.att.time_decay is " +
                                       decay.shape_string() + " (expected [heads] or [heads, head_size])");
    }
  } else if (s.contains(a0 + "time_first")) {
    c.arch = architecture::v4;
  } else {
    throw error(errc::bad_model, "'" + s.source + "' has RWKV-style names but no recognisable time-mix tensors "
                                 "(looked for att.x_r [v7], att.time_maa_x [v6], att.ln_x [v5], att.time_first [v4])");
  }
  const tensor& fk = need(s, "blocks.0.ffn.key.weight", "is an RWKV model");
  c.n_ffn = checked_int(dim(fk, 0), "FFN width", s.source);
  if (c.arch != architecture::v4) {
    checked_int(c.n_head, "head count", s.source);
    checked_int(c.head_size, "head size", s.source);
    if (static_cast<std::int64_t>(c.n_head) * c.head_size != c.n_embd)
      throw error(errc::bad_model, "'" + s.source + "': " + std::to_string(c.n_head) + " heads of " +
                                       std::to_string(c.head_size) + " do not make the embedding size " +
                                       std::to_string(c.n_embd));
  }
  for (int r : {c.lora_mix, c.lora_decay, c.lora_aaa, c.lora_value, c.lora_gate})
    if (r < 0 || r > c.n_embd * 8) throw error(errc::bad_model, "'" + s.source + "': implausible LoRA rank " + std::to_string(r));
  if ((c.arch == architecture::v6 && (c.lora_mix <= 0 || c.lora_decay <= 0)) ||
      (c.arch == architecture::v7 && (c.lora_decay <= 0 || c.lora_aaa <= 0 || c.lora_gate <= 0 ||
                                      (n_layer > 1 && c.lora_value <= 0))))
    throw error(errc::bad_model, "'" + s.source + "': a LoRA matrix has an empty dimension");
  return c;
}

namespace {

std::uint64_t fnv(std::uint64_t h, const void* data, std::size_t n) {
  auto* p = static_cast<const std::uint8_t*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Config, names, shapes, types and a sample of each tensor's bytes (start and end): cheap on
// multi-GB files, yet any re-export, fine-tune or quantization changes it.
std::uint64_t fingerprint_of(const tensor_store& s, const model_config& c) {
  std::uint64_t h = 1469598103934665603ull;
  h = fnv(h, &c, sizeof c);
  for (const auto& [name, t] : s.tensors()) {
    h = fnv(h, name.data(), name.size());
    h = fnv(h, t.shape.data(), t.shape.size() * sizeof(std::int64_t));
    h = fnv(h, &t.type, sizeof t.type);
    std::size_t n = std::min<std::size_t>(t.nbytes, 2048);
    h = fnv(h, t.data, n);
    h = fnv(h, static_cast<const std::uint8_t*>(t.data) + (t.nbytes - n), n);
  }
  return h;
}

}  // namespace

model::model(tensor_store store, const load_options& options) : store_(std::move(store)) {
  config_ = config_from_tensors(store_);
  fingerprint_ = fingerprint_of(store_, config_);
  std::string why;
  backend_ = kernels::create_backend(options.backend, &why);
  if (!backend_) throw error(errc::bad_argument, why);
  weight_loader loader(store_, *backend_, config_, options.weight_type);
  switch (config_.arch) {
    case architecture::v4: impl_ = make_v4(loader, config_, *backend_); break;
    case architecture::v5_0:
    case architecture::v5_1:
    case architecture::v5_2:
    case architecture::v6: impl_ = make_v5_v6(loader, config_, *backend_); break;
    case architecture::v7: impl_ = make_v7(loader, config_, *backend_); break;
  }
  loader.check_all_used();
  impl_->bytes_per_token = loader.bytes_per_token();
  impl_->owned_bytes = loader.owned_bytes();
  impl_->matmul_params = loader.matmul_params();
  impl_->head_params = loader.head_params();
  impl_->host_copies = loader.take_owned();
  stored_type_ = loader.stored_type();
  memory_type_ = loader.memory_type();
  for (const auto& [name, t] : store_.tensors()) n_params_ += t.numel();
  if (options.progress) options.progress(1.0f);
}

model::~model() = default;

std::shared_ptr<const model> model::load(const std::string& path, const load_options& options) {
  if (path.empty() || path == embedded_model_name) {
    auto store = read_model_bytes(embedded_model_file());
    store.source = embedded_model_name;
    return from_store(std::move(store), options);
  }
  return from_store(read_model_file(path), options);
}

std::shared_ptr<const model> model::from_store(tensor_store store, const load_options& options) {
  return std::shared_ptr<const model>(new model(std::move(store), options));
}

std::size_t model::bytes_per_token() const noexcept { return impl_->bytes_per_token; }
std::size_t model::owned_weight_bytes() const noexcept { return impl_->owned_bytes; }
std::int64_t model::matmul_params(bool with_head) const noexcept {
  return impl_->matmul_params + (with_head ? impl_->head_params : 0);
}
kernels::backend_info model::backend_info() const { return backend_->info(); }

state_layout model::layout() const noexcept {
  state_layout l;
  l.arch = static_cast<std::uint32_t>(config_.arch);
  l.n_layer = config_.n_layer;
  l.n_embd = config_.n_embd;
  l.n_head = config_.n_head;
  l.head_size = config_.head_size;
  l.fingerprint = fingerprint_;
  return l;
}

state model::initial_state() const {
  state s(layout());
  if (config_.arch == architecture::v4)
    for (std::int64_t i = 0; i < config_.n_layer; ++i) {
      auto layer = s.layer(i);
      std::fill(layer.begin() + 3 * config_.n_embd, layer.begin() + 4 * config_.n_embd, -1e30f);
    }
  return s;
}

}  // namespace rwkv::engine
