"""Checks the C++ WKV kernel against the PyTorch reference: forward values in float32 on a
training-like size, and gradients by torch.autograd.gradcheck in float64 on tiny sizes.
Run: /usr/bin/python3 tools/train/test_wkv7.py"""
import sys

import torch

from wkv7 import wkv7, wkv7_reference


def random_inputs(B, T, H, N, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(B, T, H, N, generator=g, dtype=dtype)
    w = torch.exp(-torch.exp(-0.5 - 3 * torch.rand(B, T, H, N, generator=g, dtype=dtype)))
    k = torch.randn(B, T, H, N, generator=g, dtype=dtype) * 0.5
    v = torch.randn(B, T, H, N, generator=g, dtype=dtype)
    kk = torch.nn.functional.normalize(torch.randn(B, T, H, N, generator=g, dtype=dtype), dim=-1)
    gate = torch.rand(B, T, H, N, generator=g, dtype=dtype)
    return r, w, k, v, -kk, kk * gate


def main():
    failures = 0
    # forward + backward in float32 against autograd through the reference, T not a multiple of 16
    ins = [t.requires_grad_() for t in random_inputs(2, 45, 2, 64, torch.float32)]
    y_ref, _ = wkv7_reference(*ins)
    dy = torch.randn_like(y_ref)
    g_ref = torch.autograd.grad(y_ref, ins, dy)
    y = wkv7(*ins)
    g = torch.autograd.grad(y, ins, dy)
    err = (y - y_ref).abs().max().item()
    gerr = max((a - b).abs().max().item() / (b.abs().max().item() + 1e-9) for a, b in zip(g, g_ref))
    ok = err < 1e-4 and gerr < 1e-4
    failures += not ok
    print(f"float32 forward max abs err {err:.2e}, grad max rel err {gerr:.2e}: {'ok' if ok else 'FAIL'}")

    for (B, T, H, N) in [(1, 5, 1, 4), (2, 37, 2, 8)]:
        ins = [t.requires_grad_() for t in random_inputs(B, T, H, N, torch.float64, seed=1)]
        ok = torch.autograd.gradcheck(lambda *x: wkv7(*x), ins, eps=1e-6, atol=1e-6, rtol=1e-5)
        ok_ref = torch.allclose(wkv7(*ins), wkv7_reference(*ins)[0], atol=1e-10)
        failures += not (ok and ok_ref)
        print(f"gradcheck float64 B={B} T={T} H={H} N={N}: {'ok' if ok and ok_ref else 'FAIL'}")
    print(f"{3 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
