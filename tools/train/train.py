"""Trains the byte-level RWKV-7 code model on the corpus from prepare_data.py (CPU, 2 threads).

The learning-rate schedule follows the wall clock by default: linear warm-up over --warmup steps,
then cosine decay from --lr to --lr-final over --minutes of training (or over --steps steps when that
is given, which makes a run independent of the machine's speed). A checkpoint (model, optimizer,
step, RNG) is written every --ckpt-minutes to OUT/ckpt.pt, so training can be stopped at any time
and resumed with --resume. The held-out bits per byte are measured on a fixed slice of held-out.bin
every --eval-minutes and logged to OUT/log.jsonl.

A new training phase can start from an earlier run's weights with --init-from CKPT: the model (and,
with --init-opt 1, the default, AdamW's moment estimates) are loaded from CKPT, the shape comes from
CKPT, and then a fresh schedule runs with this invocation's --lr/--lr-final/--warmup/--minutes/--steps
into its own --out (step, byte and time counters start at 0). The window sampler is seeded with
--seed, which must differ from CKPT's so that the phase does not replay the earlier windows. If
OUT/ckpt.pt exists, --resume continues that phase and --init-from is not read again.

Run (the committed model, see tools/train/README.md for the exact commands of each phase):
  phase 1: nice -n 19 /usr/bin/python3 tools/train/train.py --out ~/.cache/rwkv-lsp-train/run
  phase 2: nice -n 19 /usr/bin/python3 tools/train/train.py --init-from ~/.cache/rwkv-lsp-train/run/ckpt.pt \
             --seed 2 --lr 1e-3 --lr-final 5e-5 --warmup 50 --minutes 70 --out ~/.cache/rwkv-lsp-train/run2
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv7 import RWKV7, Config  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/rwkv-lsp-train/corpus"))
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/rwkv-lsp-train/run"))
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--ffn", type=int, default=0, help="0 = 4 * n_embd")
    ap.add_argument("--ctx", type=int, default=512, help="training context in bytes")
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-final", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.99)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--minutes", type=float, default=120.0, help="training wall time (schedule length)")
    ap.add_argument("--steps", type=int, default=0, help="if > 0: schedule over this many steps instead")
    ap.add_argument("--bf16", type=int, default=1, help="bf16 autocast for the matrix products")
    ap.add_argument("--threads", type=int, default=1,
                    help="1 is fastest on a shared 2-core machine (no OpenMP barrier stalls)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--eval-minutes", type=float, default=10.0)
    ap.add_argument("--eval-windows", type=int, default=96, help="fixed held-out windows of --eval-ctx bytes")
    ap.add_argument("--eval-ctx", type=int, default=512)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", default="",
                    help="start a new phase from this train.py checkpoint's weights (fresh schedule)")
    ap.add_argument("--init-opt", type=int, default=1,
                    help="with --init-from: also load AdamW's moment estimates (1) or start them at 0 (0)")
    return ap.parse_args(argv)


def load_bytes(path):
    return np.fromfile(path, dtype=np.uint8)


def eval_windows(data, n, length):
    """n fixed, evenly spaced windows of length + 1 bytes (deterministic)."""
    starts = np.linspace(0, len(data) - length - 2, n).astype(np.int64)
    return torch.from_numpy(np.stack([data[s:s + length + 1] for s in starts]).astype(np.int64))


@torch.no_grad()
def heldout_bpb(model, windows, bf16, batch=16):
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), batch):
        w = windows[i:i + batch]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(bf16)):
            logits = model(w[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1),
                               reduction="sum")
        total += loss.item()
        count += w[:, 1:].numel()
    model.train()
    return total / count / math.log(2)


def lr_at(args, step, progress):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    p = min(max(progress, 0.0), 1.0)
    return args.lr_final + 0.5 * (args.lr - args.lr_final) * (1 + math.cos(math.pi * p))


def save_checkpoint(path, model, opt, step, tokens, train_seconds, args, rng, origin=None):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "tokens": tokens,
                "train_seconds": train_seconds, "args": vars(args), "config": vars(model.cfg),
                "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                "init_from": origin}, tmp)
    os.replace(tmp, path)


def reset_hyperparameters(opt, args):
    """load_state_dict restores the saved groups' hyper-parameters; use this invocation's instead."""
    for g in opt.param_groups:
        g["betas"] = (args.beta1, args.beta2)
        g["eps"] = 1e-8
        g["weight_decay"] = args.weight_decay if g["weight_decay"] > 0 else 0.0


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    resuming = args.resume and os.path.exists(ckpt_path)

    init = None  # the checkpoint a new phase starts from
    if args.init_from and not resuming:
        if os.path.exists(ckpt_path) and os.path.samefile(args.init_from, ckpt_path):
            raise SystemExit("--init-from is this run's own OUT/ckpt.pt, which it would overwrite; "
                             "give the new phase its own --out")
        init = torch.load(args.init_from)
        if args.seed == init["args"]["seed"]:
            raise SystemExit(f"--seed {args.seed} is the seed of {args.init_from}: the window sampler "
                             "would replay its windows; pass a different --seed")
        for k in ("n_layer", "n_embd", "ffn"):  # the shape is the checkpoint's
            setattr(args, k, init["config"][k])

    train = load_bytes(os.path.join(args.data, "train.bin"))
    held = load_bytes(os.path.join(args.data, "heldout.bin"))
    windows = eval_windows(held, args.eval_windows, args.eval_ctx)

    cfg = Config(n_layer=args.n_layer, n_embd=args.n_embd, ffn=args.ffn)
    model = RWKV7(cfg)
    model.init_weights(args.seed)
    opt = torch.optim.AdamW(model.param_groups(args.weight_decay), lr=args.lr,
                            betas=(args.beta1, args.beta2), eps=1e-8)
    n_params = sum(p.numel() for p in model.parameters())
    step, tokens, train_seconds = 0, 0, 0.0
    origin = None  # where this phase's weights came from (kept in its checkpoints and log)
    if resuming:
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        reset_hyperparameters(opt, args)
        step, tokens, train_seconds = ck["step"], ck["tokens"], ck["train_seconds"]
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        origin = ck.get("init_from")
        print(f"resumed at step {step}", flush=True)
    elif init is not None:
        model.load_state_dict(init["model"])
        if args.init_opt:
            opt.load_state_dict(init["opt"])
            reset_hyperparameters(opt, args)
        origin = {"path": os.path.abspath(args.init_from), "step": init["step"], "tokens": init["tokens"],
                  "train_seconds": init["train_seconds"], "seed": init["args"]["seed"],
                  "init_opt": args.init_opt, "earlier": init.get("init_from")}
        print(f"initialised from {args.init_from} (step {init['step']}, {init['tokens']} bytes seen)",
              flush=True)
        del init
    log = open(os.path.join(args.out, "log.jsonl"), "a")

    def emit(rec):
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(json.dumps(rec), flush=True)

    emit({"event": "start", "params": n_params, "lora": cfg.lora_dims(), "ffn": cfg.ffn_dim,
          "train_bytes": int(len(train)), "heldout_bytes": int(len(held)), "args": vars(args),
          "init_from": origin})
    if origin is not None and step == 0:  # the starting point of a new phase, on the same slice
        t0 = time.time()
        emit({"event": "eval", "step": 0, "tokens": 0,
              "heldout_bpb": round(heldout_bpb(model, windows, args.bf16), 4),
              "eval_seconds": round(time.time() - t0, 1)})
    t_last_eval = t_last_ckpt = time.time()
    t_seg = time.time()
    seconds_at_seg = train_seconds
    loss_acc, loss_n = 0.0, 0
    T, B = args.ctx, args.batch
    while True:
        elapsed = seconds_at_seg + (time.time() - t_seg)
        progress = step / args.steps if args.steps > 0 else elapsed / (args.minutes * 60)
        if progress >= 1.0:
            break
        lr = lr_at(args, step, progress)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = rng.integers(0, len(train) - T - 1, size=B)
        batch = torch.from_numpy(np.stack([train[s:s + T + 1] for s in starts]).astype(np.int64))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
            logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, cfg.vocab), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        step += 1
        tokens += B * T
        loss_acc += loss.item()
        loss_n += 1
        if step % args.log_every == 0:
            elapsed = seconds_at_seg + (time.time() - t_seg)
            emit({"step": step, "tokens": tokens, "minutes": round(elapsed / 60, 2),
                  "train_bpb": round(loss_acc / loss_n / math.log(2), 4), "lr": round(lr, 6),
                  "gnorm": round(float(gnorm), 3), "tok_per_s": round(tokens / max(elapsed, 1e-9))})
            loss_acc, loss_n = 0.0, 0
        now = time.time()
        if now - t_last_eval > args.eval_minutes * 60:
            t0 = time.time()
            bpb = heldout_bpb(model, windows, args.bf16)
            emit({"event": "eval", "step": step, "tokens": tokens, "heldout_bpb": round(bpb, 4),
                  "eval_seconds": round(time.time() - t0, 1)})
            t_seg += time.time() - t0  # evaluation time does not count as training time
            t_last_eval = time.time()
        if now - t_last_ckpt > args.ckpt_minutes * 60:
            save_checkpoint(ckpt_path, model, opt, step, tokens,
                            seconds_at_seg + (time.time() - t_seg), args, rng, origin)
            t_last_ckpt = time.time()

    train_seconds = seconds_at_seg + (time.time() - t_seg)
    save_checkpoint(ckpt_path, model, opt, step, tokens, train_seconds, args, rng, origin)
    bpb = heldout_bpb(model, windows, args.bf16)
    emit({"event": "done", "step": step, "tokens": tokens, "train_minutes": round(train_seconds / 60, 2),
          "heldout_bpb": round(bpb, 4)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
