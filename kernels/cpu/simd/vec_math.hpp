// Vector transcendental functions (exp, log, sigmoid, tanh, softplus) and the matmul activations,
// written once over the primitives of simd/vec_<isa>.hpp and compiled per ISA.
//
// The includer defines RWKV_CPU_ISA (the ISA namespace) and includes its vec_<isa>.hpp first.
// Accuracy: exp and log are the Cephes single-precision algorithms (about 1-2 ulp), so "exact"
// precision keeps its meaning — fp32 results within a few ulp of libm — while prefill no longer
// pays a libm call per element (RWKV-7 needs five transcendental functions per channel and token).
#pragma once

#ifndef RWKV_CPU_ISA
#error "define RWKV_CPU_ISA before including simd/vec_math.hpp"
#endif

#include "kernels/backend.hpp"

namespace rwkv::kernels::cpu::RWKV_CPU_ISA {

// e^x for x in [-87.3, 88]; beyond, the result saturates (1e-38 and 1.6e38): no caller can tell
// those from 0 and infinity (they feed 1/(1+e), e*small, exp(-e)), and no inf/NaN is made.
inline vf vexp(vf x) {
  x = vmin(vmax(x, vset1(-87.33654f)), vset1(88.0f));
  vf n = vround(vmul(x, vset1(1.44269504088896341f)));  // n in [-126, 127]: 2^n is a normal float
  vf r = vfnmadd(n, vset1(0.693359375f), x);
  r = vfnmadd(n, vset1(-2.12194440e-4f), r);
  vf p = vset1(1.9875691500e-4f);
  p = vfmadd(p, r, vset1(1.3981999507e-3f));
  p = vfmadd(p, r, vset1(8.3334519073e-3f));
  p = vfmadd(p, r, vset1(4.1665795894e-2f));
  p = vfmadd(p, r, vset1(1.6666665459e-1f));
  p = vfmadd(p, r, vset1(5.0000001201e-1f));
  p = vfmadd(p, vmul(r, r), vadd(r, vset1(1.0f)));
  return vmul(p, vcast_f(vslli<23>(vadd_i(vcvt_round(n), vset1_i(127)))));
}

// Natural logarithm for x > 0 (finite, normal).
inline vf vlog(vf x) {
  vi xi = vcast_i(x);
  vi e = vsub_i(vsrli<23>(xi), vset1_i(126));  // exponent such that m is in [0.5, 1)
  vf m = vcast_f(vor_i(vand_i(xi, vset1_i(0x007fffff)), vset1_i(0x3f000000)));
  vf ef = vcvt(e);
  // m < sqrt(0.5): use 2m - 1 and e - 1, else m - 1 (keeps the argument near 0).
  vmask small = vlt(m, vset1(0.707106781186547524f));
  ef = vselect(small, vsub(ef, vset1(1.0f)), ef);
  m = vselect(small, vsub(vadd(m, m), vset1(1.0f)), vsub(m, vset1(1.0f)));
  vf z = vmul(m, m);
  vf p = vset1(7.0376836292e-2f);
  p = vfmadd(p, m, vset1(-1.1514610310e-1f));
  p = vfmadd(p, m, vset1(1.1676998740e-1f));
  p = vfmadd(p, m, vset1(-1.2420140846e-1f));
  p = vfmadd(p, m, vset1(1.4249322787e-1f));
  p = vfmadd(p, m, vset1(-1.6668057665e-1f));
  p = vfmadd(p, m, vset1(2.0000714765e-1f));
  p = vfmadd(p, m, vset1(-2.4999993993e-1f));
  p = vfmadd(p, m, vset1(3.3333331174e-1f));
  vf y = vmul(vmul(p, m), z);
  y = vfmadd(ef, vset1(-2.12194440e-4f), y);
  y = vfnmadd(z, vset1(0.5f), y);
  return vfmadd(ef, vset1(0.693359375f), vadd(m, y));
}

inline vf vsigmoid(vf x) { return vdiv(vset1(1.0f), vadd(vset1(1.0f), vexp(vneg(x)))); }

// tanh(x) = sign(x) (1 - 2 / (e^{2|x|} + 1)); absolute error ~1e-7 near 0, relative elsewhere.
inline vf vtanh(vf x) {
  vf a = vabs(x);
  vf t = vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(vexp(vadd(a, a)), vset1(1.0f))));
  return vselect(vlt(x, vzero()), vneg(t), t);
}

// log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}); log1p(u) = log(1+u) - ((1+u) - 1 - u) / (1+u).
inline vf vsoftplus(vf x) {
  vf u = vexp(vneg(vabs(x)));
  vf y = vadd(vset1(1.0f), u);
  vf l = vsub(vlog(y), vdiv(vsub(vsub(y, vset1(1.0f)), u), y));
  return vadd(vmax(x, vzero()), l);
}

inline vf vsilu(vf x) { return vmul(x, vsigmoid(x)); }

inline vf apply_act(activation act, vf x) {
  switch (act) {
    case activation::none: return x;
    case activation::tanh: return vtanh(x);
    case activation::sigmoid: return vsigmoid(x);
    case activation::relu_sq: {
      vf r = vmax(x, vzero());
      return vmul(r, r);
    }
    case activation::silu: return vsilu(x);
  }
  return x;
}

// Writes n (<= W) outputs y[i] = act(v[i]) (or y[i] += act(v[i])).
inline void store_act(float* y, vf v, int n, activation act, bool accumulate) {
  v = apply_act(act, v);
  if (n == W) {
    if (accumulate) v = vadd(v, vload(y));
    vstore(y, v);
  } else {
    if (accumulate) v = vadd(v, vload_n(y, n));
    vstore_n(y, v, n);
  }
}

}  // namespace rwkv::kernels::cpu::RWKV_CPU_ISA
