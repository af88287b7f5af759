"""Checks this RWKV-7 implementation against BlinkDL's reference outputs in ../shared/golden
(v7-small.pth, v7-bf16.pth): one token at a time (PyTorch reference recurrence, state carried) and in
sequence mode (C++ training kernel), logits compared with logits_steps to 1e-4.
Skips (exit 0) when the shared folder is absent. Run: /usr/bin/python3 tools/train/check_golden.py"""
import json
import os
import sys

import torch

from rwkv7 import RWKV7

HERE = os.path.dirname(os.path.abspath(__file__))


def shared_dir():
    env = os.environ.get("RWKV_LSP_SHARED")
    if env:
        return env
    return os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared"))


def check(path_pth, path_json, tol=1e-4):
    sd = torch.load(path_pth, map_location="cpu")
    ref = json.load(open(path_json))
    model = RWKV7.from_state_dict(sd).eval()
    tokens = ref["tokens"]
    want = torch.tensor(ref["logits_steps"], dtype=torch.float32)
    with torch.no_grad():
        state = model.zero_state(1)
        steps = []
        for t in tokens:
            logits, state = model(torch.tensor([[t]]), state)
            steps.append(logits[0, -1])
        steps = torch.stack(steps)
        seq = model(torch.tensor([tokens]))[0]
    err_step = (steps - want).abs().max().item()
    err_seq = (seq - want).abs().max().item()
    # the final recurrent state, in the reference's layout
    flat = torch.cat([torch.cat([s[0].flatten(), s[1].flatten(), s[2].flatten()]) for s in state])
    ref_state = torch.tensor([v for part in ref["state_final"] for v in part])
    err_state = (flat - ref_state).abs().max().item()
    ok = err_step < tol and err_seq < tol and err_state < tol
    print(f"{os.path.basename(path_pth)}: max |logit diff| one-at-a-time {err_step:.2e}, "
          f"sequence (kernel) {err_seq:.2e}, final state {err_state:.2e}: {'ok' if ok else 'FAIL'}")
    return ok


def main():
    golden = os.path.join(shared_dir(), "golden")
    if not os.path.isdir(golden):
        print(f"skipped: {golden} not found (set RWKV_LSP_SHARED to the shared folder)")
        return 0
    results = [check(os.path.join(golden, n + ".pth"), os.path.join(golden, n + ".json"))
               for n in ("v7-small", "v7-bf16")]
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
