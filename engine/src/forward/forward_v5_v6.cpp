// RWKV-5 and RWKV-6 "Finch": matrix-valued heads. They share projections, WKV, group norm, gate
// and channel mix. RWKV-5.0 and 5.1 decay each head as a whole (their per-head decay and bonus are
// spread over the head's channels at load, so one WKV kernel serves all) and 5.0 has no gate;
// 5.2 "Eagle" decays per channel; RWKV-6 adds data-dependent token shift (time_maa LoRA) and
// data-dependent decay (time_decay LoRA).
#include "common.hpp"

#include <cmath>

namespace rwkv::engine {

namespace {

using kernels::activation;

struct layer_v5_v6 {
  device_vector ln1_w, ln1_b, ln2_w, ln2_b;
  // v5.2: 1 - time_mix_{k,v,r,g}; v6: time_maa_{w,k,v,r,g} and time_maa_x.
  device_vector mix_w, mix_k, mix_v, mix_r, mix_g, mix_x;
  std::unique_ptr<kernels::weight> maa_w1;     // v6: [5*D][C]
  std::unique_ptr<kernels::weight> maa_w2[5];  // v6: [C][D] for w, k, v, r, g
  std::unique_ptr<kernels::weight> decay_w1, decay_w2;
  device_vector decay;  // v5: exp(-exp(time_decay)) per channel; v6: time_decay (raw, decay computed per token)
  device_vector u;      // time_faaaa, or exp(time_first) for v5.0/5.1; per channel
  std::unique_ptr<kernels::weight> receptance, key, value, gate, output;  // gate: null for v5.0
  device_vector ln_x_w, ln_x_b;
  receptance_ffn ffn;
};

enum slot : std::size_t { X, XX, DX, XW, XK, XV, XR, XG, R, K, V, G, W, Y, LORA, DYN, TMP, FFN0 };

class model_v5_v6 final : public model::impl {
 public:
  model_v5_v6(weight_loader& l, const model_config& c, kernels::backend& b)
      : c_(c), b_(b), v6_(c.arch == architecture::v6), gated_(c.arch != architecture::v5_0) {
    const bool per_head = c.arch == architecture::v5_0 || c.arch == architecture::v5_1;
    io_.load(l, c);
    const std::int64_t C = c.n_embd;
    for (int i = 0; i < c.n_layer; ++i) {
      const std::string p = "blocks." + std::to_string(i) + ".";
      const std::string a = p + "att.";
      layer_v5_v6 L;
      L.ln1_w = l.vec(p + "ln1.weight", C);
      L.ln1_b = l.vec(p + "ln1.bias", C);
      L.ln2_w = l.vec(p + "ln2.weight", C);
      L.ln2_b = l.vec(p + "ln2.bias", C);
      if (v6_) {
        const std::int64_t D = c.lora_mix;
        L.mix_x = l.vec(a + "time_maa_x", C);
        L.mix_w = l.vec(a + "time_maa_w", C);
        L.mix_k = l.vec(a + "time_maa_k", C);
        L.mix_v = l.vec(a + "time_maa_v", C);
        L.mix_r = l.vec(a + "time_maa_r", C);
        L.mix_g = l.vec(a + "time_maa_g", C);
        L.maa_w1 = l.matrix_transposed(a + "time_maa_w1", C, 5 * D);
        l.require_shape(a + "time_maa_w2", {5, D, C});
        for (int j = 0; j < 5; ++j) L.maa_w2[j] = l.matrix_slice_transposed(a + "time_maa_w2", 5, j, D, C);
        L.decay = l.vec(a + "time_decay", C);
        L.decay_w1 = l.matrix_transposed(a + "time_decay_w1", C, c.lora_decay);
        L.decay_w2 = l.matrix_transposed(a + "time_decay_w2", c.lora_decay, C);
      } else {
        L.mix_k = l.vec_from(complement(l.host_vec(a + "time_mix_k", C)));
        L.mix_v = l.vec_from(complement(l.host_vec(a + "time_mix_v", C)));
        L.mix_r = l.vec_from(complement(l.host_vec(a + "time_mix_r", C)));
        if (gated_) L.mix_g = l.vec_from(complement(l.host_vec(a + "time_mix_g", C)));
        auto decay = per_head ? per_channel(l.host_vec(a + "time_decay", c.n_head)) : l.host_vec(a + "time_decay", C);
        for (float& d : decay) d = std::exp(-std::exp(d));
        L.decay = l.vec_from(std::move(decay));
      }
      if (!per_head) {
        L.u = l.vec(a + "time_faaaa", C);
      } else if (l.has(a + "time_faaaa")) {
        L.u = l.vec_from(per_channel(l.host_vec(a + "time_faaaa", c.n_head)));
      } else {
        auto u = per_channel(l.host_vec(a + "time_first", c.n_head));
        for (float& x : u) x = std::exp(x);
        L.u = l.vec_from(std::move(u));
      }
      L.receptance = l.matrix(a + "receptance.weight", C, C);
      L.key = l.matrix(a + "key.weight", C, C);
      L.value = l.matrix(a + "value.weight", C, C);
      if (gated_) L.gate = l.matrix(a + "gate.weight", C, C);
      L.output = l.matrix(a + "output.weight", C, C);
      L.ln_x_w = l.vec(a + "ln_x.weight", C);
      L.ln_x_b = l.vec(a + "ln_x.bias", C);
      L.ffn.load(l, c, p + "ffn.", v6_ ? "time_maa" : "time_mix", !v6_);
      layers_.push_back(std::move(L));
    }
  }

  void forward(context::scratch& s, const std::int32_t* ids, std::int64_t T, float* state, float* logits,
               bool all_rows) const override {
    const std::int64_t C = c_.n_embd, H = c_.n_head, N = c_.head_size, TC = T * C;
    const std::int64_t layer_size = 2 * C + H * N * N;
    auto buf = [&](slot k, std::int64_t n = -1) { return s.get(k, static_cast<std::size_t>(n < 0 ? TC : n)); };
    float *x = buf(X), *xx = buf(XX), *dx = buf(DX);
    float *xw = buf(XW), *xk = buf(XK), *xv = buf(XV), *xr = buf(XR), *xg = buf(XG);
    float *r = buf(R), *k = buf(K), *v = buf(V), *g = buf(G), *w = buf(W), *y = buf(Y);
    float* lo = v6_ ? buf(LORA, T * std::max(5 * c_.lora_mix, c_.lora_decay)) : nullptr;
    float* dyn = v6_ ? buf(DYN, 5 * TC) : nullptr;

    io_.embed(b_, ids, T, C, x);
    for (int i = 0; i < c_.n_layer; ++i) {
      const layer_v5_v6& L = layers_[static_cast<std::size_t>(i)];
      float* att_prev = state + i * layer_size;
      float* wkv = att_prev + C;
      float* ffn_prev = wkv + H * N * N;

      b_.layer_norm(x, L.ln1_w.get(), L.ln1_b.get(), xx, T, C, layer_norm_eps);
      b_.token_shift(xx, att_prev, dx, T, C);
      const float* decay = L.decay.get();
      if (v6_) {
        const std::int64_t D = c_.lora_mix;
        const float* mx[] = {L.mix_x.get()};
        float* ox[] = {xw};
        b_.mix(xx, dx, mx, ox, 1, T, C);
        b_.matmul(*L.maa_w1, xw, C, lo, 5 * D, T, activation::tanh, false);
        const float* base[] = {L.mix_w.get(), L.mix_k.get(), L.mix_v.get(), L.mix_r.get(), L.mix_g.get()};
        float* outs[] = {xw, xk, xv, xr, xg};
        kernels::matmul_job second[5];
        for (int j = 0; j < 5; ++j)
          second[j] = {L.maa_w2[j].get(), lo + j * D, 5 * D, dyn + j * TC, C, activation::none, false};
        b_.matmul_many(second, T);
        for (int j = 0; j < 5; ++j) b_.mix_dynamic(xx, dx, base[j], dyn + j * TC, C, outs[j], T, C);
        b_.matmul(*L.decay_w1, xw, C, lo, c_.lora_decay, T, activation::tanh, false);
        b_.matmul(*L.decay_w2, lo, c_.lora_decay, w, C, T, activation::none, false);
        b_.rwkv6_decay(w, L.decay.get(), T, C);
        decay = w;
      } else {
        const float* mixes[] = {L.mix_k.get(), L.mix_v.get(), L.mix_r.get(), L.mix_g.get()};
        float* outs[] = {xk, xv, xr, xg};
        b_.mix(xx, dx, mixes, outs, gated_ ? 4 : 3, T, C);
      }
      const kernels::matmul_job proj[] = {{L.receptance.get(), xr, C, r, C, activation::none, false},
                                          {L.key.get(), xk, C, k, C, activation::none, false},
                                          {L.value.get(), xv, C, v, C, activation::none, false},
                                          {L.gate.get(), xg, C, g, C, activation::silu, false}};
      b_.matmul_many(std::span(proj, gated_ ? 4 : 3), T);
      b_.wkv5(T, H, N, r, k, v, decay, v6_, L.u.get(), wkv, y);
      b_.group_norm(y, L.ln_x_w.get(), L.ln_x_b.get(), y, T, C, H, group_norm_eps);
      if (gated_) b_.mul(y, g, y, TC);
      b_.matmul(*L.output, y, C, x, C, T, activation::none, true);

      L.ffn.forward(b_, s, FFN0, x, L.ln2_w.get(), L.ln2_b.get(), ffn_prev, T, C, c_.n_ffn);
    }
    if (logits) io_.head_logits(b_, x, T, C, buf(TMP), logits, all_rows);
  }

 private:
  // One value per head, repeated over the head's channels.
  std::vector<float> per_channel(const std::vector<float>& per_head) const {
    std::vector<float> out;
    out.reserve(static_cast<std::size_t>(c_.n_embd));
    for (float x : per_head) out.insert(out.end(), static_cast<std::size_t>(c_.head_size), x);
    return out;
  }

  model_config c_;
  kernels::backend& b_;
  bool v6_, gated_;
  io_weights io_;
  std::vector<layer_v5_v6> layers_;
};

}  // namespace

std::unique_ptr<model::impl> make_v5_v6(weight_loader& l, const model_config& c, kernels::backend& b) {
  return std::make_unique<model_v5_v6>(l, c, b);
}

}  // namespace rwkv::engine
