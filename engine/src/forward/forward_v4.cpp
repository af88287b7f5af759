// RWKV-4: scalar-decay WKV in the numerically stable aa/bb/pp form, receptance-gated channel mix.
#include "common.hpp"

#include <cmath>

namespace rwkv::engine {

namespace {

using kernels::activation;

struct layer_v4 {
  device_vector ln1_w, ln1_b, ln2_w, ln2_b;
  device_vector mix_k, mix_v, mix_r;  // 1 - time_mix_*
  device_vector decay, first;         // -exp(time_decay), time_first
  std::unique_ptr<kernels::weight> key, value, receptance, output;
  receptance_ffn ffn;
};

enum slot : std::size_t { X, XX, DX, XK, XV, XR, R, K, V, Y, TMP, FFN0 };

class model_v4 final : public model::impl {
 public:
  model_v4(weight_loader& l, const model_config& c, kernels::backend& b) : c_(c), b_(b) {
    io_.load(l, c);
    const std::int64_t C = c.n_embd;
    for (int i = 0; i < c.n_layer; ++i) {
      const std::string p = "blocks." + std::to_string(i) + ".";
      const std::string a = p + "att.";
      layer_v4 L;
      L.ln1_w = l.vec(p + "ln1.weight", C);
      L.ln1_b = l.vec(p + "ln1.bias", C);
      L.ln2_w = l.vec(p + "ln2.weight", C);
      L.ln2_b = l.vec(p + "ln2.bias", C);
      L.mix_k = l.vec_from(complement(l.host_vec(a + "time_mix_k", C)));
      L.mix_v = l.vec_from(complement(l.host_vec(a + "time_mix_v", C)));
      L.mix_r = l.vec_from(complement(l.host_vec(a + "time_mix_r", C)));
      auto decay = l.host_vec(a + "time_decay", C);
      for (float& d : decay) d = -std::exp(d);
      L.decay = l.vec_from(std::move(decay));
      L.first = l.vec(a + "time_first", C);
      L.key = l.matrix(a + "key.weight", C, C);
      L.value = l.matrix(a + "value.weight", C, C);
      L.receptance = l.matrix(a + "receptance.weight", C, C);
      L.output = l.matrix(a + "output.weight", C, C);
      L.ffn.load(l, c, p + "ffn.", "time_mix", true);
      layers_.push_back(std::move(L));
    }
  }

  void forward(context::scratch& s, const std::int32_t* ids, std::int64_t T, float* state, float* logits,
               bool all_rows) const override {
    const std::int64_t C = c_.n_embd, TC = T * C;
    auto buf = [&](slot k) { return s.get(k, static_cast<std::size_t>(TC)); };
    float *x = buf(X), *xx = buf(XX), *dx = buf(DX), *xk = buf(XK), *xv = buf(XV), *xr = buf(XR);
    float *r = buf(R), *k = buf(K), *v = buf(V), *y = buf(Y);

    io_.embed(b_, ids, T, C, x);
    for (int i = 0; i < c_.n_layer; ++i) {
      const layer_v4& L = layers_[static_cast<std::size_t>(i)];
      float* st = state + i * 5 * C;
      float *att_prev = st, *aa = st + C, *bb = st + 2 * C, *pp = st + 3 * C, *ffn_prev = st + 4 * C;

      b_.layer_norm(x, L.ln1_w.get(), L.ln1_b.get(), xx, T, C, layer_norm_eps);
      b_.token_shift(xx, att_prev, dx, T, C);
      const float* mixes[] = {L.mix_k.get(), L.mix_v.get(), L.mix_r.get()};
      float* outs[] = {xk, xv, xr};
      b_.mix(xx, dx, mixes, outs, 3, T, C);
      const kernels::matmul_job proj[] = {{L.receptance.get(), xr, C, r, C, activation::sigmoid, false},
                                          {L.key.get(), xk, C, k, C, activation::none, false},
                                          {L.value.get(), xv, C, v, C, activation::none, false}};
      b_.matmul_many(proj, T);
      b_.wkv4(T, C, L.decay.get(), L.first.get(), k, v, aa, bb, pp, y);
      b_.mul(r, y, y, TC);
      b_.matmul(*L.output, y, C, x, C, T, activation::none, true);

      L.ffn.forward(b_, s, FFN0, x, L.ln2_w.get(), L.ln2_b.get(), ffn_prev, T, C, c_.n_ffn);
    }
    if (logits) io_.head_logits(b_, x, T, C, buf(TMP), logits, all_rows);
  }

 private:
  model_config c_;
  kernels::backend& b_;
  io_weights io_;
  std::vector<layer_v4> layers_;
};

}  // namespace

std::unique_ptr<model::impl> make_v4(weight_loader& l, const model_config& c, kernels::backend& b) {
  return std::make_unique<model_v4>(l, c, b);
}

}  // namespace rwkv::engine
