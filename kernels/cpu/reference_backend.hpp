// The scalar reference backend: plain loops, one thread, fp32 arithmetic on dequantized weights.
//
// It defines what every other backend must compute; tests compare each optimized kernel with it.
// The optimized CPU backend derives from it and overrides the operations it accelerates.
#pragma once

#include "kernels/backend.hpp"

#include <vector>

namespace rwkv::kernels::cpu {

// A weight as the reference uses it: the matrix bytes borrowed as stored, or, when another
// encoding was asked for at load, an owned copy in that encoding (ggml layout).
class reference_weight final : public weight {
 public:
  explicit reference_weight(const matrix& m) : m_(m) {}
  reference_weight(const matrix& m, std::vector<std::uint8_t> owned) : m_(m), owned_(std::move(owned)) {
    m_.data = owned_.data();
  }
  dtype type() const noexcept override { return m_.type; }
  std::int64_t rows() const noexcept override { return m_.rows; }
  std::int64_t cols() const noexcept override { return m_.cols; }
  std::size_t owned_bytes() const noexcept override { return owned_.size(); }
  std::size_t bytes_per_pass() const noexcept override;
  const matrix& source() const noexcept { return m_; }

 private:
  matrix m_;
  std::vector<std::uint8_t> owned_;
};

float apply_activation(activation act, float x) noexcept;

class reference_backend : public backend {
 public:
  backend_info info() const override;

  float* alloc(std::size_t n) override;
  void release(float* p) noexcept override;
  void upload(float* dst, const float* host_src, std::size_t n) override;
  void download(float* host_dst, const float* src, std::size_t n) override;

  std::unique_ptr<weight> prepare(const matrix& m, dtype prefer) override;
  void matmul(const weight& w, const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t T,
              activation act, bool accumulate) override;
  void embed(const matrix& e, const std::int32_t* ids, std::int64_t T, float* y) override;

  void layer_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T, std::int64_t C,
                  float eps) override;
  void group_norm(const float* x, const float* w, const float* b, float* y, std::int64_t T, std::int64_t C,
                  std::int64_t G, float eps) override;

  void token_shift(const float* x, float* prev, float* dx, std::int64_t T, std::int64_t C) override;
  void mix(const float* x, const float* dx, const float* const* mixes, float* const* outs, int n, std::int64_t T,
           std::int64_t C) override;
  void mix_dynamic(const float* x, const float* dx, const float* mix, const float* dyn, std::int64_t ld_dyn,
                   float* out, std::int64_t T, std::int64_t C) override;
  void mul(const float* a, const float* b, float* y, std::int64_t n) override;
  void add_mul(const float* a, const float* b, float* y, std::int64_t n) override;

  void wkv4(std::int64_t T, std::int64_t C, const float* decay, const float* first, const float* k, const float* v,
            float* aa, float* bb, float* pp, float* y) override;
  void wkv5(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* k, const float* v,
            const float* w, bool w_per_token, const float* u, float* state, float* y) override;
  void rwkv6_decay(float* w, const float* time_decay, std::int64_t T, std::int64_t C) override;
  void rwkv7_prepare(const rwkv7_prepare_args& args) override;
  void wkv7(std::int64_t T, std::int64_t H, std::int64_t N, const float* r, const float* w, const float* k,
            const float* v, const float* a, const float* b, float* state, float* y) override;
  void rwkv7_finish(float* y, const float* r, const float* k, const float* v, const float* r_k, const float* g,
                    std::int64_t T, std::int64_t H, std::int64_t N) override;
};

}  // namespace rwkv::kernels::cpu
