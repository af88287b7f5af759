#include "common.hpp"

#include <algorithm>
#include <cstring>

namespace rwkv::engine {

device_vector::device_vector(kernels::backend& b, const std::vector<float>& host)
    : backend_(&b), data_(b.alloc(host.size())), size_(host.size()) {
  b.upload(data_, host.data(), host.size());
}

device_vector& device_vector::operator=(device_vector&& o) noexcept {
  if (this != &o) {
    if (data_) backend_->release(data_);
    backend_ = o.backend_;
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
  }
  return *this;
}

device_vector::~device_vector() {
  if (data_) backend_->release(data_);
}

context::scratch::~scratch() {
  for (auto& [p, n] : slots)
    if (p) backend.release(p);
}

float* context::scratch::get(std::size_t slot, std::size_t n) {
  if (slots.size() <= slot) slots.resize(slot + 1, {nullptr, 0});
  auto& [p, cap] = slots[slot];
  if (cap < n) {
    if (p) backend.release(p);
    p = nullptr;
    p = backend.alloc(n);
    cap = n;
  }
  return p;
}

weight_loader::weight_loader(const tensor_store& store, kernels::backend& backend, const model_config& config,
                             std::optional<kernels::dtype> prefer)
    : store_(store), backend_(backend), config_(config), prefer_(prefer) {}

std::string weight_loader::what() const {
  return "'" + store_.source + "' (an RWKV-" + architecture_name(config_.arch) + " " + store_.format + " file)";
}

const tensor& weight_loader::require(const std::string& name, std::int64_t numel) {
  const tensor* t = store_.find(name);
  if (!t)
    throw error(errc::bad_model, what() + " lacks tensor " + name + "; the file is incomplete or of an unsupported variant — re-export it");
  if (t->numel() != numel)
    throw error(errc::bad_model, what() + ": tensor " + name + " has shape " + t->shape_string() + " (" +
                                     std::to_string(t->numel()) + " values), expected " + std::to_string(numel) + " values");
  used_.insert(name);
  return *t;
}

const tensor& weight_loader::require_shape(const std::string& name, const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  const tensor& t = require(name, n);
  if (t.shape != shape) {
    tensor expected;
    expected.shape = shape;
    throw error(errc::bad_model, what() + ": tensor " + name + " has shape " + t.shape_string() + ", expected " +
                                     expected.shape_string());
  }
  return t;
}

std::vector<float> weight_loader::host_vec(const std::string& name, std::int64_t numel) {
  require(name, numel);
  params_ += numel;
  return store_.to_f32(name);
}

device_vector weight_loader::vec(const std::string& name, std::int64_t numel) {
  return device_vector(backend_, host_vec(name, numel));
}

device_vector weight_loader::vec_from(std::vector<float> host) { return device_vector(backend_, host); }

std::unique_ptr<kernels::weight> weight_loader::matrix(const std::string& name, std::int64_t rows, std::int64_t cols) {
  auto w = stored_matrix(name, rows, cols);
  if (!stored_type_set_) {
    stored_type_ = require(name, rows * cols).type;
    stored_type_set_ = true;
  }
  memory_type_ = w->type();
  return w;
}

std::unique_ptr<kernels::weight> weight_loader::stored_matrix(const std::string& name, std::int64_t rows,
                                                              std::int64_t cols) {
  const tensor& t = require_shape(name, {rows, cols});
  return prepare(kernels::matrix{t.type, rows, cols, t.data}, prefer_, &t);
}

std::unique_ptr<kernels::weight> weight_loader::prepare(const kernels::matrix& m, std::optional<kernels::dtype> want,
                                                        const tensor* stored) {
  params_ += m.rows * m.cols;
  matmul_params_ += m.rows * m.cols;
  auto w = want ? backend_.prepare(m, *want) : backend_.prepare(m);
  if (stored && w->owned_bytes() > 0) store_.release_pages(stored->data, stored->nbytes);  // copied: the file's pages can go
  owned_bytes_ += w->owned_bytes();
  bytes_per_token_ += w->bytes_per_pass();
  return w;
}

std::unique_ptr<kernels::weight> weight_loader::head_matrix(const std::string& name, std::int64_t rows,
                                                            std::int64_t cols) {
  // Not one of "the large matrices" whose types info reports: files often keep the head wider.
  auto w = stored_matrix(name, rows, cols);
  matmul_params_ -= rows * cols;
  head_params_ += rows * cols;
  return w;
}

std::unique_ptr<kernels::weight> weight_loader::matrix_transposed(const std::string& name, std::int64_t in,
                                                                  std::int64_t out) {
  const tensor& t = require_shape(name, {in, out});
  if (!t.transposed) return matrix_slice_transposed(name, 1, 0, in, out);
  // Stored [out][in] already: the kernels' layout, used as stored (blocks run along `in`).
  std::optional<kernels::dtype> want = lora_type(in);
  if (!want && kernels::dtype_is_quantized(t.type) && in < 256) want = kernels::dtype::f32;
  return prepare(kernels::matrix{t.type, out, in, t.data}, want, &t);
}

std::optional<kernels::dtype> weight_loader::lora_type(std::int64_t in) const {
  if (prefer_ && kernels::dtype_is_quantized(*prefer_)) return in >= 256 ? kernels::dtype::q8_0 : kernels::dtype::bf16;
  return prefer_;
}

std::unique_ptr<kernels::weight> weight_loader::matrix_slice_transposed(const std::string& name, std::int64_t n,
                                                                        std::int64_t index, std::int64_t in,
                                                                        std::int64_t out) {
  const tensor& t = require(name, n * in * out);
  if (t.transposed) throw error(errc::bad_model, what() + ": tensor " + name + " is stored transposed, not as [n][in][out]");
  // Plain element types are transposed bit for bit; block formats are decoded to fp32 first.
  const bool plain = t.type == kernels::dtype::f32 || t.type == kernels::dtype::f16 || t.type == kernels::dtype::bf16;
  const kernels::dtype type = plain ? t.type : kernels::dtype::f32;
  const std::size_t elem = type == kernels::dtype::f32 ? 4 : 2;
  std::vector<float> decoded;
  const std::uint8_t* src = static_cast<const std::uint8_t*>(t.data);
  if (!plain) {
    decoded = store_.to_f32(name);
    src = reinterpret_cast<const std::uint8_t*>(decoded.data());
  }
  src += static_cast<std::size_t>(index * in * out) * elem;
  auto host = std::make_shared<std::vector<float>>((static_cast<std::size_t>(in * out) * elem + 3) / 4);
  auto* dst = reinterpret_cast<std::uint8_t*>(host->data());
  for (std::int64_t i = 0; i < in; ++i)
    for (std::int64_t o = 0; o < out; ++o)
      std::memcpy(dst + static_cast<std::size_t>(o * in + i) * elem, src + static_cast<std::size_t>(i * out + o) * elem,
                  elem);
  auto w = prepare(kernels::matrix{type, out, in, host->data()}, lora_type(in), nullptr);
  if (w->owned_bytes() == 0) {  // the weight borrows the transposed copy: keep it
    owned_f32_.push_back(host);
    owned_bytes_ += host->size() * sizeof(float);
  }
  return w;
}

kernels::matrix weight_loader::embedding(const std::string& name, std::int64_t rows, std::int64_t cols) {
  const tensor& t = require_shape(name, {rows, cols});
  params_ += rows * cols;
  return kernels::matrix{t.type, rows, cols, t.data};
}

void weight_loader::check_all_used() const {
  for (const auto& [name, t] : store_.tensors()) {
    if (used_.count(name)) continue;
    throw error(errc::unsupported,
                what() + " has a tensor rwkv-lsp does not know: " + name + " " + t.shape_string() +
                    ". This is a variant of the architecture that this version does not support "
                    "(e.g. RWKV-7 DeepEmbed); use a standard BlinkDL checkpoint");
  }
}

void io_weights::load(weight_loader& l, const model_config& c) {
  emb = l.embedding("emb.weight", c.n_vocab, c.n_embd);
  ln0_w = l.vec("blocks.0.ln0.weight", c.n_embd);
  ln0_b = l.vec("blocks.0.ln0.bias", c.n_embd);
  ln_out_w = l.vec("ln_out.weight", c.n_embd);
  ln_out_b = l.vec("ln_out.bias", c.n_embd);
  head = l.head_matrix("head.weight", c.n_vocab, c.n_embd);
}

void io_weights::embed(kernels::backend& b, const std::int32_t* ids, std::int64_t T, std::int64_t C, float* x) const {
  b.embed(emb, ids, T, x);
  b.layer_norm(x, ln0_w.get(), ln0_b.get(), x, T, C, layer_norm_eps);
}

void io_weights::head_logits(kernels::backend& b, const float* x, std::int64_t T, std::int64_t C, float* tmp,
                             float* logits, bool all_rows) const {
  const float* rows = all_rows ? x : x + (T - 1) * C;
  std::int64_t n = all_rows ? T : 1;
  b.layer_norm(rows, ln_out_w.get(), ln_out_b.get(), tmp, n, C, layer_norm_eps);
  b.matmul(*head, tmp, C, logits, head->rows(), n, kernels::activation::none, false);
}

}  // namespace rwkv::engine

namespace rwkv::engine {

std::vector<float> complement(std::vector<float> v) {
  for (float& x : v) x = 1.0f - x;
  return v;
}

void receptance_ffn::load(weight_loader& l, const model_config& c, const std::string& prefix,
                          const std::string& mix_name, bool complement_mix) {
  const std::int64_t C = c.n_embd;
  auto mk = l.host_vec(prefix + mix_name + "_k", C);
  auto mr = l.host_vec(prefix + mix_name + "_r", C);
  mix_k = l.vec_from(complement_mix ? complement(std::move(mk)) : std::move(mk));
  mix_r = l.vec_from(complement_mix ? complement(std::move(mr)) : std::move(mr));
  key = l.matrix(prefix + "key.weight", c.n_ffn, C);
  receptance = l.matrix(prefix + "receptance.weight", C, C);
  value = l.matrix(prefix + "value.weight", C, c.n_ffn);
}

void receptance_ffn::forward(kernels::backend& b, context::scratch& s, std::size_t first_slot, float* x,
                             const float* ln_w, const float* ln_b, float* prev, std::int64_t T, std::int64_t C,
                             std::int64_t F) const {
  const auto TC = static_cast<std::size_t>(T * C);
  float* xx = s.get(first_slot, TC);
  float* dx = s.get(first_slot + 1, TC);
  float* xk = s.get(first_slot + 2, TC);
  float* xr = s.get(first_slot + 3, TC);
  float* hidden = s.get(first_slot + 4, static_cast<std::size_t>(T * F));
  b.layer_norm(x, ln_w, ln_b, xx, T, C, layer_norm_eps);
  b.token_shift(xx, prev, dx, T, C);
  const float* mixes[] = {mix_k.get(), mix_r.get()};
  float* outs[] = {xk, xr};
  b.mix(xx, dx, mixes, outs, 2, T, C);
  const kernels::matmul_job first[] = {{receptance.get(), xr, C, xx, C, kernels::activation::sigmoid, false},  // xx: r
                                       {key.get(), xk, C, hidden, F, kernels::activation::relu_sq, false}};
  b.matmul_many(first, T);
  b.matmul(*value, hidden, F, dx, C, T, kernels::activation::none, false);  // dx: value out
  b.add_mul(xx, dx, x, T * C);
}

}  // namespace rwkv::engine
