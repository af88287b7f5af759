"""The RWKV-7 WKV recurrence: a C++ kernel (forward + backward) for training, and a plain PyTorch
reference that the kernel is checked against.

Per head, with state S[value i][key j] starting at zero:
    S_t = S_{t-1} * w_t[key] + (S_{t-1} @ a_t) outer b_t + v_t outer k_t ;   y_t = S_t @ r_t
The model calls it with a = -kk and b = kk * a_gate, w = exp(-exp(w_log)).
"""
import os

import torch
from torch.utils.cpp_extension import load

_HERE = os.path.dirname(os.path.abspath(__file__))
_ext = None


def extension():
    """Compiles (once, cached under ~/.cache/torch_extensions) and returns the C++ kernel module."""
    global _ext
    if _ext is None:
        _ext = load(
            name="rwkv7_wkv_cpu",
            sources=[os.path.join(_HERE, "wkv7_kernel.cpp")],
            extra_cflags=["-O3", "-march=native", "-ffast-math", "-fopenmp"],
            extra_ldflags=["-fopenmp"],
            verbose=False,
        )
    return _ext


class _WKV7(torch.autograd.Function):
    @staticmethod
    def forward(ctx, r, w, k, v, a, b):
        ins = [t.contiguous() for t in (r, w, k, v, a, b)]
        y, ckpt = extension().forward(*ins)
        ctx.save_for_backward(*ins, ckpt)
        return y

    @staticmethod
    def backward(ctx, dy):
        r, w, k, v, a, b, ckpt = ctx.saved_tensors
        return tuple(extension().backward(r, w, k, v, a, b, ckpt, dy.contiguous()))


def wkv7(r, w, k, v, a, b):
    """All inputs [B, T, H, N] float32 (or float64); returns y [B, T, H, N]; zero initial state."""
    return _WKV7.apply(r, w, k, v, a, b)


def wkv7_reference(r, w, k, v, a, b, state=None):
    """Step-by-step PyTorch version (differentiable by autograd). Inputs [B, T, H, N]; state
    [B, H, N, N] indexed [value][key] or None for zeros. Returns (y, final state)."""
    B, T, H, N = r.shape
    S = torch.zeros(B, H, N, N, dtype=r.dtype) if state is None else state
    ys = []
    for t in range(T):
        sa = torch.einsum("bhij,bhj->bhi", S, a[:, t])
        S = S * w[:, t, :, None, :] + sa[..., None] * b[:, t, :, None, :] \
            + v[:, t, :, :, None] * k[:, t, :, None, :]
        ys.append(torch.einsum("bhij,bhj->bhi", S, r[:, t]))
    return torch.stack(ys, dim=1), S
