"""Held-out bits per byte of a model, per language, on the held-out FILES listed by prepare_data.py
(OUT/files.tsv). Each file (plus its 0 end byte) is cut into windows of --ctx bytes, each run from the
zero state, as in training; every byte after the first of a window is scored.

Run: /usr/bin/python3 tools/train/evaluate.py models/rwkv7-code-byte.pth [--max-bytes 300000]
"""
import argparse
import json
import math
import os
import sys
from collections import defaultdict

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sample import load_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/rwkv-lsp-train/corpus"))
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--max-bytes", type=int, default=300_000, help="per language (0 = all)")
    ap.add_argument("--bf16", type=int, default=1, help="bf16 autocast for speed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)

    per_lang = defaultdict(bytearray)
    for line in open(os.path.join(args.data, "files.tsv")):
        split, source, _, path = line.rstrip("\n").split("\t", 3)
        if split != "heldout":
            continue
        buf = per_lang[source]
        if args.max_bytes and len(buf) >= args.max_bytes:
            continue
        buf += open(path, "rb").read() + b"\0"

    results, tot_bits, tot_n = {}, 0.0, 0
    for source, buf in per_lang.items():
        data = torch.tensor(list(buf), dtype=torch.long)
        L = args.ctx + 1
        n_win = max(1, (len(data) - 1) // args.ctx)
        bits, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, n_win, 16):
                rows = [data[j * args.ctx: j * args.ctx + L] for j in range(i, min(i + 16, n_win))]
                rows = [r for r in rows if len(r) == L]
                if not rows:
                    continue
                w = torch.stack(rows)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
                    logits = model(w[:, :-1])
                loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1),
                                       reduction="sum")
                bits += loss.item() / math.log(2)
                n += w[:, 1:].numel()
        results[source] = {"bytes": n, "bpb": round(bits / n, 4)}
        tot_bits += bits
        tot_n += n
        print(f"{source:24s} {n:8d} bytes  {bits / n:.4f} bits/byte", flush=True)
    results["all"] = {"bytes": tot_n, "bpb": round(tot_bits / tot_n, 4)}
    print(f"{'all':24s} {tot_n:8d} bytes  {tot_bits / tot_n:.4f} bits/byte")
    if args.json:
        json.dump(results, open(args.json, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
