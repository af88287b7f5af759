"""Greedy completions and continuation probabilities of a trained model (a `.pth` from export.py or
a train.py checkpoint), computed in fp32 one token at a time from the zero state, as the engine does.

Run: /usr/bin/python3 tools/train/sample.py models/rwkv7-code-byte.pth [--json out.json]
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv7 import RWKV7  # noqa: E402

# prompt, continuations whose probability is reported (the first is the "obvious" one)
PROMPTS = [
    ("for (int i = 0; i < n; ", ["i++", "++i"]),
    ("def __init__(self", [", ", "):"]),
    ("#include <", ["boost/", "stdio.h>", "vector>", "string>"]),
    ("fn main() {", ["\n    "]),
    ("if err != nil {", ["\n\t\treturn ", "\n\treturn "]),
    ("package main\n\nimport \"", ["fmt\""]),
    ("import ", ["os\n", "sys\n"]),
    ("    def __repr__(self):\n        return ", ["'", "f'", "\"", "'<"]),
    ("std::vector<int> v;\nfor (std::size_t i = 0; i < v.size(); ", ["++i", "i++"]),
    ("int main(int argc, char *argv[]) {", ["\n    ", "\n  ", "\n\t"]),
    ("    pub fn new(", [")", "&self"]),
    ("#ifndef BOOST_", []),
]


def load_model(path):
    obj = torch.load(path, map_location="cpu")
    sd = obj["model"] if isinstance(obj, dict) and "model" in obj else obj
    return RWKV7.from_state_dict(sd).eval()


@torch.no_grad()
def run(model, prefix_bytes, state):
    logits = None
    for b in prefix_bytes:
        logits, state = model(torch.tensor([[b]]), state)
    return logits[0, -1], state


@torch.no_grad()
def continuation_prob(model, prompt, cont):
    logits, state = run(model, prompt.encode(), model.zero_state())
    logp = 0.0
    for b in cont.encode():
        logp += torch.log_softmax(logits, -1)[b].item()
        logits, state = run(model, [b], state)
    return math.exp(logp)


@torch.no_grad()
def greedy(model, prompt, n=48):
    logits, state = run(model, prompt.encode(), model.zero_state())
    out = []
    for _ in range(n):
        b = int(torch.argmax(logits))
        if b == 0:
            break
        out.append(b)
        logits, state = run(model, [b], state)
    return bytes(out).decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--tokens", type=int, default=48, help="greedy bytes per prompt")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    results = []
    for prompt, conts in PROMPTS:
        completion = greedy(model, prompt, args.tokens)
        probs = {c: continuation_prob(model, prompt, c) for c in conts}
        results.append({"prompt": prompt, "greedy": completion, "p": probs})
        print("=" * 72)
        print(f"prompt: {prompt!r}\ngreedy: {completion!r}")
        for c, p in probs.items():
            print(f"  P({c!r} | prompt) = {p:.4f}")
    if args.json:
        json.dump(results, open(args.json, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
