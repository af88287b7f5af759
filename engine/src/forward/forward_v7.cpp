// RWKV-7 "Goose": generalized delta-rule time mixing (vector decay, in-context learning rate,
// value residual from layer 0) and a squared-ReLU channel mix without receptance.
#include "common.hpp"

namespace rwkv::engine {

namespace {

using kernels::activation;

struct layer_v7 {
  device_vector ln1_w, ln1_b, ln2_w, ln2_b;
  device_vector x_r, x_w, x_k, x_v, x_a, x_g;
  device_vector w0, a0, v0, k_k, k_a, r_k;
  std::unique_ptr<kernels::weight> w1, w2, a1, a2, v1, v2, g1, g2;
  std::unique_ptr<kernels::weight> receptance, key, value, output;
  device_vector ln_x_w, ln_x_b;
  device_vector ffn_x_k;
  std::unique_ptr<kernels::weight> ffn_key, ffn_value;
};

enum slot : std::size_t { X, XX, DX, XR, XW, XK, XV, XA, XG, R, K, V, W, A, B, G, VG, VF, Y, LW, LA, LV, LG, FFN, TMP };

class model_v7 final : public model::impl {
 public:
  model_v7(weight_loader& l, const model_config& c, kernels::backend& b) : c_(c), b_(b) {
    io_.load(l, c);
    const std::int64_t C = c.n_embd, H = c.n_head, N = c.head_size, F = c.n_ffn;
    for (int i = 0; i < c.n_layer; ++i) {
      const std::string p = "blocks." + std::to_string(i) + ".";
      layer_v7 L;
      L.ln1_w = l.vec(p + "ln1.weight", C);
      L.ln1_b = l.vec(p + "ln1.bias", C);
      L.ln2_w = l.vec(p + "ln2.weight", C);
      L.ln2_b = l.vec(p + "ln2.bias", C);
      const std::string a = p + "att.";
      L.x_r = l.vec(a + "x_r", C);
      L.x_w = l.vec(a + "x_w", C);
      L.x_k = l.vec(a + "x_k", C);
      L.x_v = l.vec(a + "x_v", C);
      L.x_a = l.vec(a + "x_a", C);
      L.x_g = l.vec(a + "x_g", C);
      L.w0 = l.vec(a + "w0", C);
      L.a0 = l.vec(a + "a0", C);
      L.k_k = l.vec(a + "k_k", C);
      L.k_a = l.vec(a + "k_a", C);
      L.r_k = l.vec(a + "r_k", C);
      L.w1 = l.matrix_transposed(a + "w1", C, c.lora_decay);
      L.w2 = l.matrix_transposed(a + "w2", c.lora_decay, C);
      L.a1 = l.matrix_transposed(a + "a1", C, c.lora_aaa);
      L.a2 = l.matrix_transposed(a + "a2", c.lora_aaa, C);
      if (i == 0 && l.has(a + "v0")) {
        // Real checkpoints carry value-residual parameters on layer 0 too; they are unused there
        // (layer 0 produces v_first), as in the reference implementation.
        l.host_vec(a + "v0", C);
        l.require(a + "v1", C * c.lora_value);
        l.require(a + "v2", C * c.lora_value);
      }
      if (i > 0) {
        L.v0 = l.vec(a + "v0", C);
        L.v1 = l.matrix_transposed(a + "v1", C, c.lora_value);
        L.v2 = l.matrix_transposed(a + "v2", c.lora_value, C);
      }
      L.g1 = l.matrix_transposed(a + "g1", C, c.lora_gate);
      L.g2 = l.matrix_transposed(a + "g2", c.lora_gate, C);
      L.receptance = l.matrix(a + "receptance.weight", C, C);
      L.key = l.matrix(a + "key.weight", C, C);
      L.value = l.matrix(a + "value.weight", C, C);
      L.output = l.matrix(a + "output.weight", C, C);
      L.ln_x_w = l.vec(a + "ln_x.weight", C);
      L.ln_x_b = l.vec(a + "ln_x.bias", C);
      L.ffn_x_k = l.vec(p + "ffn.x_k", C);
      L.ffn_key = l.matrix(p + "ffn.key.weight", F, C);
      L.ffn_value = l.matrix(p + "ffn.value.weight", C, F);
      layers_.push_back(std::move(L));
    }
    (void)H;
    (void)N;
  }

  void forward(context::scratch& s, const std::int32_t* ids, std::int64_t T, float* state, float* logits,
               bool all_rows) const override {
    const std::int64_t C = c_.n_embd, H = c_.n_head, N = c_.head_size, F = c_.n_ffn;
    const std::int64_t TC = T * C;
    const std::int64_t layer_size = 2 * C + H * N * N;
    auto buf = [&](slot k, std::int64_t n = -1) { return s.get(k, static_cast<std::size_t>(n < 0 ? TC : n)); };
    float *x = buf(X), *xx = buf(XX), *dx = buf(DX);
    float *xr = buf(XR), *xw = buf(XW), *xk = buf(XK), *xv = buf(XV), *xa = buf(XA), *xg = buf(XG);
    float *r = buf(R), *k = buf(K), *v = buf(V), *w = buf(W), *a = buf(A), *bb = buf(B), *g = buf(G);
    float *vg = buf(VG), *vf = buf(VF), *y = buf(Y), *fh = buf(FFN, T * F);
    const std::int64_t DW = c_.lora_decay, DA = c_.lora_aaa, DV = c_.lora_value, DG = c_.lora_gate;
    float *lw = buf(LW, T * DW), *la = buf(LA, T * DA), *lv = buf(LV, T * std::max<std::int64_t>(DV, 1)),
          *lg = buf(LG, T * DG);

    io_.embed(b_, ids, T, C, x);
    for (int i = 0; i < c_.n_layer; ++i) {
      const layer_v7& L = layers_[static_cast<std::size_t>(i)];
      float* att_prev = state + i * layer_size;
      float* wkv = att_prev + C;
      float* ffn_prev = wkv + H * N * N;

      b_.layer_norm(x, L.ln1_w.get(), L.ln1_b.get(), xx, T, C, layer_norm_eps);
      b_.token_shift(xx, att_prev, dx, T, C);
      const float* mixes[] = {L.x_r.get(), L.x_w.get(), L.x_k.get(), L.x_v.get(), L.x_a.get(), L.x_g.get()};
      float* outs[] = {xr, xw, xk, xv, xa, xg};
      b_.mix(xx, dx, mixes, outs, 6, T, C);

      // The projections and the first LoRA stages read only the mixes: one parallel region; the
      // second LoRA stages read only the first: another.
      const bool has_v = i > 0;
      const kernels::matmul_job first[] = {
          {L.receptance.get(), xr, C, r, C, activation::none, false},
          {L.key.get(), xk, C, k, C, activation::none, false},
          {L.value.get(), xv, C, v, C, activation::none, false},
          {L.w1.get(), xw, C, lw, DW, activation::tanh, false},
          {L.a1.get(), xa, C, la, DA, activation::none, false},
          {L.g1.get(), xg, C, lg, DG, activation::sigmoid, false},
          {has_v ? L.v1.get() : nullptr, xv, C, lv, DV, activation::none, false}};
      b_.matmul_many(std::span(first, has_v ? 7 : 6), T);
      const kernels::matmul_job second[] = {
          {L.w2.get(), lw, DW, w, C, activation::none, false},
          {L.a2.get(), la, DA, a, C, activation::none, false},
          {L.g2.get(), lg, DG, g, C, activation::none, false},
          {has_v ? L.v2.get() : nullptr, lv, DV, vg, C, activation::none, false}};
      b_.matmul_many(std::span(second, has_v ? 4 : 3), T);

      kernels::backend::rwkv7_prepare_args p;
      p.T = T, p.H = H, p.N = N;
      p.w = w, p.w0 = L.w0.get(), p.a = a, p.a0 = L.a0.get(), p.b = bb;
      p.k = k, p.k_k = L.k_k.get(), p.k_a = L.k_a.get();
      p.v = v, p.v_first = vf;
      p.v_gate = i > 0 ? vg : nullptr;
      p.v0 = i > 0 ? L.v0.get() : nullptr;
      b_.rwkv7_prepare(p);

      b_.wkv7(T, H, N, r, w, k, v, a, bb, wkv, y);
      b_.group_norm(y, L.ln_x_w.get(), L.ln_x_b.get(), y, T, C, H, group_norm_eps);
      b_.rwkv7_finish(y, r, k, v, L.r_k.get(), g, T, H, N);
      b_.matmul(*L.output, y, C, x, C, T, activation::none, true);

      b_.layer_norm(x, L.ln2_w.get(), L.ln2_b.get(), xx, T, C, layer_norm_eps);
      b_.token_shift(xx, ffn_prev, dx, T, C);
      const float* fm[] = {L.ffn_x_k.get()};
      float* fo[] = {xk};
      b_.mix(xx, dx, fm, fo, 1, T, C);
      b_.matmul(*L.ffn_key, xk, C, fh, F, T, activation::relu_sq, false);
      b_.matmul(*L.ffn_value, fh, F, x, C, T, activation::none, true);
    }
    if (logits) io_.head_logits(b_, x, T, C, buf(TMP), logits, all_rows);
  }

 private:
  model_config c_;
  kernels::backend& b_;
  io_weights io_;
  std::vector<layer_v7> layers_;
};

}  // namespace

std::unique_ptr<model::impl> make_v7(weight_loader& l, const model_config& c, kernels::backend& b) {
  return std::make_unique<model_v7>(l, c, b);
}

}  // namespace rwkv::engine
