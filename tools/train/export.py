"""Exports a training checkpoint (fp32, OUT/ckpt.pt from train.py) as a BlinkDL-style RWKV-7 `.pth`:
a plain torch.save of the state dict with the official key names and shapes, in bf16 (default) or
fp16, and checks that the file reloads and stays close to the fp32 model.

Run: /usr/bin/python3 tools/train/export.py ~/.cache/rwkv-lsp-train/run/ckpt.pt models/rwkv7-code-byte.pth
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv7 import HEAD_SIZE, RWKV7, Config  # noqa: E402


def expected_shapes(cfg: Config):
    """The official RWKV-7 keys and shapes (layer 0 without v0/v1/v2), in file order."""
    C, H, F, V = cfg.n_embd, cfg.n_embd // HEAD_SIZE, cfg.ffn_dim, cfg.vocab
    Dw, Da, Dv, Dg = cfg.lora_dims()
    out = {"emb.weight": (V, C), "blocks.0.ln0.weight": (C,), "blocks.0.ln0.bias": (C,)}
    for i in range(cfg.n_layer):
        p = f"blocks.{i}."
        for n in ("ln1", "ln2"):
            out[p + n + ".weight"] = (C,)
            out[p + n + ".bias"] = (C,)
        a = p + "att."
        for n in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g"):
            out[a + n] = (1, 1, C)
        out.update({a + "w0": (1, 1, C), a + "w1": (C, Dw), a + "w2": (Dw, C),
                    a + "a0": (1, 1, C), a + "a1": (C, Da), a + "a2": (Da, C)})
        if i > 0:
            out.update({a + "v0": (1, 1, C), a + "v1": (C, Dv), a + "v2": (Dv, C)})
        out.update({a + "g1": (C, Dg), a + "g2": (Dg, C), a + "k_k": (1, 1, C), a + "k_a": (1, 1, C),
                    a + "r_k": (H, HEAD_SIZE)})
        for n in ("receptance", "key", "value", "output"):
            out[a + n + ".weight"] = (C, C)
        out[a + "ln_x.weight"] = (C,)
        out[a + "ln_x.bias"] = (C,)
        out[p + "ffn.x_k"] = (1, 1, C)
        out[p + "ffn.key.weight"] = (F, C)
        out[p + "ffn.value.weight"] = (C, F)
    out.update({"ln_out.weight": (C,), "ln_out.bias": (C,), "head.weight": (V, C)})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--dtype", choices=["bf16", "fp16"], default="bf16")
    args = ap.parse_args()

    ck = torch.load(args.checkpoint, map_location="cpu")
    sd = ck["model"] if "model" in ck else ck
    cfg = RWKV7.config_from_state_dict(sd)
    want = expected_shapes(cfg)
    got = {k: tuple(v.shape) for k, v in sd.items()}
    if got != want or list(got) != list(want):
        missing = set(want) - set(got)
        extra = set(got) - set(want)
        bad = [k for k in want if k in got and got[k] != want[k]]
        raise SystemExit(f"state dict does not match the official layout: missing {sorted(missing)}, "
                         f"extra {sorted(extra)}, wrong shape {bad}")
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    out = {k: v.detach().to(dtype).contiguous().clone() for k, v in sd.items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    torch.save(out, args.output)

    # reload and compare with the fp32 weights on a short code snippet
    ref = RWKV7.from_state_dict(sd).eval()
    low = RWKV7.from_state_dict(torch.load(args.output)).eval()
    toks = torch.tensor([list(b"for (int i = 0; i < n; i++) {\n    sum += a[i];\n}\n")])
    with torch.no_grad():
        diff = (ref(toks) - low(toks)).abs().max().item()
    n = sum(v.numel() for v in out.values())
    print(f"wrote {args.output}: {len(out)} tensors, {n} parameters, {os.path.getsize(args.output)} bytes, "
          f"{args.dtype}; n_layer {cfg.n_layer} n_embd {cfg.n_embd} ffn {cfg.ffn_dim} "
          f"lora (w,a,v,g) {cfg.lora_dims()}; max |logit| change vs fp32 {diff:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
