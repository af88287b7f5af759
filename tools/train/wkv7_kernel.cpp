// CPU forward and backward of the RWKV-7 WKV recurrence, for training.
//
// Per (batch b, head h), with state S of N x N floats indexed [value i][key j], for t = 0..T-1:
//   sa_i   = sum_j S[i][j] * a_t[j]
//   S[i][j] = S[i][j] * w_t[j] + sa_i * b_t[j] + v_t[i] * k_t[j]
//   y_t[i] = sum_j S[i][j] * r_t[j]
// The model calls it with a = -kk, b = kk * a_gate, w = exp(-exp(w_log)) in (0, 1).
// The state starts at zero (training always starts a sample from the zero state).
//
// The forward keeps S every CHUNK steps; the backward walks the chunks in reverse, recomputes the
// CHUNK states of one chunk from its checkpoint (kept in a small buffer that stays in cache) and
// back-propagates through them. Every row i of S only needs the shared vectors of its step, so all
// inner loops run over j and vectorise.
//
// Tensors: r, w, k, v, a, b, y and their gradients are [B, T, H, N], contiguous, all float32 (training)
// or all float64 (gradcheck).
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <cstring>
#include <vector>

namespace {

constexpr int64_t CHUNK = 16;

struct dims {
    int64_t B, T, H, N;
    int64_t step() const { return H * N; }  // stride between consecutive t
};

// One step of the recurrence for all rows of S. sa (N floats) receives S_{t-1} a.
template <typename F>
inline void step_forward(F *__restrict S, const F *__restrict w, const F *__restrict k,
                         const F *__restrict v, const F *__restrict a,
                         const F *__restrict b, F *__restrict sa, int64_t N) {
    for (int64_t i = 0; i < N; ++i) {
        F *row = S + i * N;
        F acc = 0.f;
        for (int64_t j = 0; j < N; ++j) acc += row[j] * a[j];
        sa[i] = acc;
        const F vi = v[i];
        for (int64_t j = 0; j < N; ++j) row[j] = row[j] * w[j] + acc * b[j] + vi * k[j];
    }
}

template <typename F>
inline void read_out(const F *__restrict S, const F *__restrict r, F *__restrict y,
                     int64_t N) {
    for (int64_t i = 0; i < N; ++i) {
        const F *row = S + i * N;
        F acc = 0.f;
        for (int64_t j = 0; j < N; ++j) acc += row[j] * r[j];
        y[i] = acc;
    }
}

// Back-propagates one step. Sn = S_t, Sp = S_{t-1}; dS holds dLoss/dS_t on entry and dLoss/dS_{t-1}
// on return. in = {r, w, k, v, a, b, dy, sa}; out = {dr, dw, dk, dv, da, db} (written, not added).
// NC is N when known at compile time (64), else 0. Local accumulators + __restrict let the compiler
// vectorise the j loops (the output rows may not alias the state).
template <typename F, int NC>
inline void step_backward(const F *__restrict Sn, const F *__restrict Sp, const F *const *in,
                          F *__restrict dS, F *__restrict dsa, F *const *out, int64_t n_rt) {
    const int64_t N = NC ? NC : n_rt;
    const F *__restrict r = in[0], *__restrict w = in[1], *__restrict k = in[2],
            *__restrict v = in[3], *__restrict a = in[4], *__restrict b = in[5],
            *__restrict dy = in[6], *__restrict sa = in[7];
    F dr[NC ? NC : 256], dw[NC ? NC : 256], dk[NC ? NC : 256], da[NC ? NC : 256], db[NC ? NC : 256];
    for (int64_t j = 0; j < N; ++j) dr[j] = dw[j] = dk[j] = da[j] = db[j] = F(0);
    for (int64_t i = 0; i < N; ++i) {
        F *__restrict dSi = dS + i * N;
        const F *__restrict Sni = Sn + i * N;
        const F *__restrict Spi = Sp + i * N;
        const F g = dy[i], vi = v[i], sai = sa[i];
        // y = S_t r
        for (int64_t j = 0; j < N; ++j) {
            dr[j] += g * Sni[j];
            dSi[j] += g * r[j];
        }
        // S_t = S_{t-1} diag(w) + sa b^T + v k^T
        F accv = 0, accsa = 0;
        for (int64_t j = 0; j < N; ++j) {
            accv += dSi[j] * k[j];
            accsa += dSi[j] * b[j];
            dk[j] += dSi[j] * vi;
            db[j] += dSi[j] * sai;
            dw[j] += dSi[j] * Spi[j];
        }
        out[3][i] = accv;
        // sa = S_{t-1} a, and the gradient flowing to S_{t-1}
        for (int64_t j = 0; j < N; ++j) {
            da[j] += accsa * Spi[j];
            dSi[j] = dSi[j] * w[j] + accsa * a[j];
        }
    }
    for (int64_t j = 0; j < N; ++j) {
        out[0][j] = dr[j];
        out[1][j] = dw[j];
        out[2][j] = dk[j];
        out[4][j] = da[j];
        out[5][j] = db[j];
    }
    (void)dsa;
}

void check(const torch::Tensor &t, const dims &d, const char *name) {
    TORCH_CHECK(t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kFloat64,
                name, " must be float32 or float64");
    TORCH_CHECK(t.is_contiguous(), name, " must be contiguous");
    TORCH_CHECK(t.dim() == 4 && t.size(3) <= 256 && t.size(0) == d.B && t.size(1) == d.T && t.size(2) == d.H &&
                    t.size(3) == d.N,
                name, " must be [B, T, H, N]");
}

}  // namespace

template <typename F>
void forward_impl(const dims &d, const F *rp, const F *wp, const F *kp, const F *vp, const F *ap,
                  const F *bp, F *yp, F *cp) {
    const int64_t n_chunks = (d.T + CHUNK - 1) / CHUNK;
    const int64_t N = d.N, NN = N * N, st = d.step();
    at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
        std::vector<F> S(NN), sa(N);
        for (int64_t bh = begin; bh < end; ++bh) {
            const int64_t bi = bh / d.H, h = bh % d.H;
            std::fill(S.begin(), S.end(), F(0));
            F *ck = cp + bh * n_chunks * NN;
            for (int64_t t = 0; t < d.T; ++t) {
                if (t % CHUNK == 0) std::memcpy(ck + (t / CHUNK) * NN, S.data(), NN * sizeof(F));
                const int64_t off = (bi * d.T + t) * st + h * N;
                step_forward(S.data(), wp + off, kp + off, vp + off, ap + off, bp + off, sa.data(), N);
                read_out(S.data(), rp + off, yp + off, N);
            }
        }
    });
}

// Returns {y [B,T,H,N], checkpoints [B,H,ceil(T/CHUNK),N,N]}; checkpoint c is the state before
// step c*CHUNK.
std::vector<torch::Tensor> wkv7_forward(torch::Tensor r, torch::Tensor w, torch::Tensor k,
                                        torch::Tensor v, torch::Tensor a, torch::Tensor b) {
    const dims d{r.size(0), r.size(1), r.size(2), r.size(3)};
    for (auto *p : {&r, &w, &k, &v, &a, &b}) check(*p, d, "wkv7 input");
    for (auto *p : {&w, &k, &v, &a, &b})
        TORCH_CHECK(p->scalar_type() == r.scalar_type(), "wkv7 inputs must share one dtype");
    const int64_t n_chunks = (d.T + CHUNK - 1) / CHUNK;
    auto y = torch::empty_like(r);
    auto ckpt = torch::empty({d.B, d.H, n_chunks, d.N, d.N}, r.options());
    AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "wkv7_forward", [&] {
        forward_impl<scalar_t>(d, r.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(),
                               k.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(),
                               a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
                               y.data_ptr<scalar_t>(), ckpt.data_ptr<scalar_t>());
    });
    return {y, ckpt};
}

template <typename F>
void backward_impl(const dims &d, const F *rp, const F *wp, const F *kp, const F *vp, const F *ap,
                   const F *bp, const F *cp, const F *dyp, F *drp, F *dwp, F *dkp, F *dvp, F *dap,
                   F *dbp) {
    const int64_t n_chunks = (d.T + CHUNK - 1) / CHUNK;
    const int64_t N = d.N, NN = N * N, st = d.step();
    at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
        // states[s] = state after step (chunk_start + s - 1); states[0] = checkpoint.
        std::vector<F> states((CHUNK + 1) * NN), sa_all(CHUNK * N), dS(NN), dsa(N);
        for (int64_t bh = begin; bh < end; ++bh) {
            const int64_t bi = bh / d.H, h = bh % d.H;
            std::fill(dS.begin(), dS.end(), F(0));
            for (int64_t c = n_chunks - 1; c >= 0; --c) {
                const int64_t t0 = c * CHUNK, len = std::min(CHUNK, d.T - t0);
                std::memcpy(states.data(), cp + (bh * n_chunks + c) * NN, NN * sizeof(F));
                for (int64_t s = 0; s < len; ++s) {
                    const int64_t off = (bi * d.T + t0 + s) * st + h * N;
                    std::memcpy(states.data() + (s + 1) * NN, states.data() + s * NN,
                                NN * sizeof(F));
                    step_forward(states.data() + (s + 1) * NN, wp + off, kp + off, vp + off,
                                 ap + off, bp + off, sa_all.data() + s * N, N);
                }
                for (int64_t s = len - 1; s >= 0; --s) {
                    const int64_t off = (bi * d.T + t0 + s) * st + h * N;
                    const F *in[8] = {rp + off, wp + off, kp + off, vp + off,
                                      ap + off, bp + off, dyp + off, sa_all.data() + s * N};
                    F *out[6] = {drp + off, dwp + off, dkp + off, dvp + off, dap + off, dbp + off};
                    if (N == 64)
                        step_backward<F, 64>(states.data() + (s + 1) * NN, states.data() + s * NN,
                                             in, dS.data(), dsa.data(), out, N);
                    else
                        step_backward<F, 0>(states.data() + (s + 1) * NN, states.data() + s * NN,
                                            in, dS.data(), dsa.data(), out, N);
                }
            }
        }
    });
}

// Returns {dr, dw, dk, dv, da, db}.
std::vector<torch::Tensor> wkv7_backward(torch::Tensor r, torch::Tensor w, torch::Tensor k,
                                         torch::Tensor v, torch::Tensor a, torch::Tensor b,
                                         torch::Tensor ckpt, torch::Tensor dy) {
    const dims d{r.size(0), r.size(1), r.size(2), r.size(3)};
    for (auto *p : {&r, &w, &k, &v, &a, &b, &dy}) check(*p, d, "wkv7 input");
    TORCH_CHECK(ckpt.is_contiguous() && ckpt.scalar_type() == r.scalar_type(), "bad checkpoints");
    auto dr = torch::empty_like(r), dw = torch::empty_like(r), dk = torch::empty_like(r),
         dv = torch::empty_like(r), da = torch::empty_like(r), db = torch::empty_like(r);
    AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "wkv7_backward", [&] {
        backward_impl<scalar_t>(d, r.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(),
                                k.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(),
                                a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
                                ckpt.data_ptr<scalar_t>(), dy.data_ptr<scalar_t>(),
                                dr.data_ptr<scalar_t>(), dw.data_ptr<scalar_t>(),
                                dk.data_ptr<scalar_t>(), dv.data_ptr<scalar_t>(),
                                da.data_ptr<scalar_t>(), db.data_ptr<scalar_t>());
    });
    return {dr, dw, dk, dv, da, db};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.def("forward", &wkv7_forward, "RWKV-7 WKV forward (CPU, float32/float64)");
    m.def("backward", &wkv7_backward, "RWKV-7 WKV backward (CPU, float32/float64)");
}
