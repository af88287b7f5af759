// The operation table every compute backend implements, and the registry that picks one.
//
// The engine describes an RWKV forward pass as calls on this interface and never touches
// activations itself, so a backend with its own memory (CUDA) can implement it without engine
// changes: every float pointer passed to an operation points into memory obtained from the same
// backend (`alloc`), and host data crosses with `upload`/`download`.
//
// Conventions shared by all operations:
//  * activations are row-major [T][C]: T tokens of C channels, rows contiguous;
//  * weight matrices are [rows][cols] with rows = output features (PyTorch nn.Linear layout), so
//    y = W x for each token;
//  * heads: C = H * N, head h owns channels [h*N, (h+1)*N);
//  * operations never throw and never allocate on the hot path; shapes are the caller's contract.
//
// Threads: a backend object may be used by one thread at a time (the engine serializes
// evaluation); `prepare` may be called while no evaluation runs. Backends parallelize inside an
// operation with their own resources (the CPU backend owns one tbb::task_arena).
#pragma once

#include "kernels/dtype.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace rwkv::kernels {

// A weight matrix as stored in a model file (borrowed; the bytes must outlive what is built on it).
struct matrix {
  dtype type = dtype::f32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  const void* data = nullptr;
};

// A weight matrix in the backend's preferred layout. It may borrow the source bytes (memory-mapped
// weights used as stored) or own a converted copy; `owned_bytes` says how much memory it added.
class weight {
 public:
  virtual ~weight() = default;
  virtual dtype type() const noexcept = 0;
  virtual std::int64_t rows() const noexcept = 0;
  virtual std::int64_t cols() const noexcept = 0;
  virtual std::size_t owned_bytes() const noexcept = 0;
  // Bytes read from memory per full product (what bounds single-token speed).
  virtual std::size_t bytes_per_pass() const noexcept = 0;
};

enum class activation : std::uint8_t { none, tanh, sigmoid, relu_sq, silu };

// How matrix products round their inputs. Whatever the policy, a product computes the same dot
// products with the same input rounding for one token (T = 1) and for a sequence (T > 1): only the
// order of accumulation differs, so states reached by different chunkings agree to ~1e-6.
enum class precision : std::uint8_t {
  // fp32 arithmetic on the dequantized weights: the reference semantics (golden tests).
  exact,
  // Activations in the weights' native dot format: rounded to bf16 pairs for bf16 (and fp16, made
  // bf16) weights (vdpbf16ps), quantized per token per 32-block to int8 for the 8/5/4-bit and
  // K-quant weights, exactly as ggml's q8_0 / q8_1 do (vpdpbusd; see cpu_weight.hpp for how the
  // K-quants get there). fp32 weights and machines without those instructions compute as `exact`.
  fast,
};

const char* precision_name(precision p) noexcept;  // "exact", "fast"

struct backend_info {
  std::string name;   // "cpu", "cpu-reference"
  std::string isa;    // "avx512-bf16-vnni", "avx2-fma", "scalar", or the GPU name
  int threads = 1;
  kernels::precision precision = kernels::precision::exact;  // the policy asked for
};

// One product of a batch: y[t] = act(W x[t]) (or += when accumulate), t < T, as in matmul.
struct matmul_job {
  const weight* w = nullptr;
  const float* x = nullptr;
  std::int64_t ldx = 0;
  float* y = nullptr;
  std::int64_t ldy = 0;
  activation act = activation::none;
  bool accumulate = false;
};

class backend {
 public:
  virtual ~backend() = default;

  virtual backend_info info() const = 0;

  // --- memory -------------------------------------------------------------------------------------
  // n floats, 64-byte aligned, uninitialised. The backend owns them until `release`.
  virtual float* alloc(std::size_t n) = 0;
  virtual void release(float* p) noexcept = 0;
  virtual void upload(float* dst, const float* host_src, std::size_t n) = 0;
  virtual void download(float* host_dst, const float* src, std::size_t n) = 0;
  // True when backend memory is ordinary host memory, so callers may pass host buffers directly
  // (the CPU backends); false for device memory (CUDA), which needs upload/download.
  virtual bool host_memory() const noexcept { return true; }

  // Builds the backend's form of a weight matrix. `prefer` asks for an in-memory encoding
  // (e.g. quantize fp32 to q8_0 at load); the backend may decline and keep the stored type.
  virtual std::unique_ptr<weight> prepare(const matrix& m, dtype prefer) = 0;
  std::unique_ptr<weight> prepare(const matrix& m) { return prepare(m, m.type); }

  // --- linear algebra ------------------------------------------------------------------------------
  // y[t] = act(W x[t])  (or y[t] += act(W x[t]) when accumulate), t < T.
  // x rows are ldx floats apart, y rows ldy floats apart.
  virtual void matmul(const weight& w, const float* x, std::int64_t ldx, float* y, std::int64_t ldy,
                      std::int64_t T, activation act, bool accumulate) = 0;
  // Independent products over the same T tokens (e.g. the r/k/v projections, or the first stages
  // of all LoRAs), run in one parallel region so per-token overhead is paid once. No job may write
  // what another reads. The default runs them one after the other.
  virtual void matmul_many(std::span<const matmul_job> jobs, std::int64_t T) {
    for (const auto& j : jobs) matmul(*j.w, j.x, j.ldx, j.y, j.ldy, T, j.act, j.accumulate);
  }

  // y[t] = E[ids[t]] as fp32 (E stored as in the file: [n_vocab][C]).
  virtual void embed(const matrix& e, const std::int32_t* ids, std::int64_t T, float* y) = 0;

  // --- normalisation -------------------------------------------------------------------------------
  virtual void layer_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T,
                          std::int64_t C, float eps) = 0;
  // Group norm over G equal groups of each row (RWKV ln_x: one group per head).
  virtual void group_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T,
                          std::int64_t C, std::int64_t G, float eps) = 0;

  // --- token shift and element-wise ----------------------------------------------------------------
  // dx[t] = x[t-1] - x[t] with x[-1] = prev; afterwards prev = x[T-1].
  virtual void token_shift(const float* x, float* prev, float* dx, std::int64_t T, std::int64_t C) = 0;
  // out[j][t] = x[t] + dx[t] * mix[j]  for j < n; mix[j] has C entries.
  virtual void mix(const float* x, const float* dx, const float* const* mixes, float* const* outs,
                   int n, std::int64_t T, std::int64_t C) = 0;
  // out[t] = x[t] + dx[t] * (mix + dyn[t])  (RWKV-6 data-dependent token shift).
  virtual void mix_dynamic(const float* x, const float* dx, const float* mix, const float* dyn,
                           std::int64_t ld_dyn, float* out, std::int64_t T, std::int64_t C) = 0;
  // y = a * b (element-wise, n elements).
  virtual void mul(const float* a, const float* b, float* y, std::int64_t n) = 0;
  // y += a * b (element-wise, n elements).
  virtual void add_mul(const float* a, const float* b, float* y, std::int64_t n) = 0;

  // --- RWKV-4 ---------------------------------------------------------------------------------------
  // Numerically stable WKV in the aa/bb/pp form. decay = -exp(time_decay), first = time_first.
  // Writes y[t] = wkv (without the receptance) and updates aa, bb, pp [C].
  virtual void wkv4(std::int64_t T, std::int64_t C, const float* decay, const float* first,
                    const float* k, const float* v, float* aa, float* bb, float* pp, float* y) = 0;

  // --- RWKV-5.2 / 6 --------------------------------------------------------------------------------
  // state [H][N key][N value]; u = time_faaaa [C]; w = decay in (0,1): per channel [C] when
  // w_per_token is false (v5.2), per token [T][C] otherwise (v6).
  //   y[t] = r[t] . (u * k[t] v[t]^T + S);  S = k[t] v[t]^T + w[t] * S
  virtual void wkv5(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* k,
                    const float* v, const float* w, bool w_per_token, const float* u, float* state,
                    float* y) = 0;
  // v6 decay: w[t] = exp(-exp(time_decay + w[t])), in place over [T][C].
  virtual void rwkv6_decay(float* w, const float* time_decay, std::int64_t T, std::int64_t C) = 0;

  // --- RWKV-7 --------------------------------------------------------------------------------------
  struct rwkv7_prepare_args {
    std::int64_t T = 0, H = 0, N = 0;
    float* w = nullptr;             // in: LoRA output (T×C); out: decay exp(-exp(-softplus(-(w0+w))-0.5))
    const float* w0 = nullptr;      // [C]
    float* a = nullptr;             // in: LoRA output (T×C); out: -kk (the WKV "a" input)
    const float* a0 = nullptr;      // [C]
    float* b = nullptr;             // out: kk * sigmoid(a0 + a) (the WKV "b" input), T×C
    float* k = nullptr;             // in/out: key, scaled by 1 + (a-1) * k_a
    const float* k_k = nullptr;     // [C]
    const float* k_a = nullptr;     // [C]
    float* v = nullptr;             // in/out: value (mixed with v_first for layers > 0)
    float* v_first = nullptr;       // layer 0: written with v; later layers: read
    const float* v_gate = nullptr;  // LoRA output (T×C) or null on layer 0
    const float* v0 = nullptr;      // [C] or null on layer 0
  };
  virtual void rwkv7_prepare(const rwkv7_prepare_args& args) = 0;
  // state [H][N value][N key]:  S = S diag(w) + (S a) b^T + v k^T;  y = S r.
  virtual void wkv7(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* w,
                    const float* k, const float* v, const float* a, const float* b, float* state,
                    float* y) = 0;
  // y = (y + (sum over each head of r*k*r_k) * v) * g, over [T][C].
  virtual void rwkv7_finish(float* y, const float* r, const float* k, const float* v,
                            const float* r_k, const float* g, std::int64_t T, std::int64_t H,
                            std::int64_t N) = 0;
};

struct backend_options {
  std::string name = "auto";  // "auto", "cpu", "cpu-reference" (scalar, single thread)
  int threads = 0;            // 0 = all hardware threads
  std::string isa = "auto";   // CPU: "auto", "avx512", "avx2", "scalar"
  kernels::precision precision = kernels::precision::exact;  // the reference backend is always exact
  // CPU: copy large matrices that would be used in place (memory-mapped) into 2 MiB pages, bytes
  // unchanged. Streaming weights through 4 KiB pages costs a TLB miss per page; on the VM this was
  // measured on, that halved generation speed. Costs a copy at load (the file's pages can then be
  // dropped, so resident memory stays about the same).
  bool huge_page_weights = true;
};

// Creates a backend; returns null and fills `error` when the name is unknown or unavailable.
std::unique_ptr<backend> create_backend(const backend_options& options, std::string* error = nullptr);

// The scalar, single-threaded reference every optimized kernel is compared with.
std::unique_ptr<backend> create_reference_backend();

}  // namespace rwkv::kernels
