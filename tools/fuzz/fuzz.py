#!/usr/bin/env python3
"""Mutation fuzzing of rwkv-lsp's inputs: model files, vocabularies and LSP sessions.

Each case runs the rwkv-lsp executable on a mutated input and flags what must never happen: a
crash, a hang (no exit within the timeout), an exit code other than 0/1/2, or a sanitizer report.
Build with -DRWKV_LSP_SANITIZE=ON (the `asan` preset) to catch memory errors that do not crash.

  tools/fuzz/fuzz.py models     --bin build-asan/bin/rwkv-lsp --cases 3000   # info on mutated models
  tools/fuzz/fuzz.py forward    --bin build-asan/bin/rwkv-lsp --cases 1000   # eval on mutated models
  tools/fuzz/fuzz.py vocab      --bin build-asan/bin/rwkv-lsp --cases 1000   # tokenize with mutated vocabularies
  tools/fuzz/fuzz.py lsp        --bin build-asan/bin/rwkv-lsp --cases 300    # mutated LSP sessions

Seeds come from ../shared (or $RWKV_LSP_SHARED): the golden .pth models, rwkv.cpp's tiny model,
GGUF and safetensors conversions of a golden model made with `rwkv-lsp convert`, and both
vocabularies. Flagged inputs are kept under --out with the tool's stderr.
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

FLAG_OK = (0, 1, 2)
INTERESTING32 = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 10**12 & 0xFFFFFFFF]
INTERESTING64 = [2**31, 2**32, 10**12, 2**63 - 1, 2**64 - 1]


def shared_dir():
    d = os.environ.get("RWKV_LSP_SHARED") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared")
    if not os.path.isdir(d):
        sys.exit(f"fuzz: no shared data at {d} (set RWKV_LSP_SHARED)")
    return os.path.abspath(d)


def model_seeds(binary, work):
    sh = shared_dir()
    seeds = [os.path.join(sh, "golden", n) for n in ("v4-small.pth", "v5-small.pth", "v6-small.pth", "v7-small.pth")]
    seeds.append(os.path.join(sh, "rwkvcpp", "tiny-rwkv-7v0-834K-FP16.bin"))
    for out, dtype in (("v7.gguf", "q8_0"), ("v7-k.gguf", "q6_k"), ("v6.gguf", "f16"), ("v7.safetensors", "bf16")):
        src = seeds[3] if out.startswith("v7") else seeds[2]
        path = os.path.join(work, out)
        subprocess.run([binary, "convert", "--in", src, "--out", path, "--dtype", dtype], check=True,
                       capture_output=True)
        seeds.append(path)
    return seeds


def vocab_seeds():
    sh = shared_dir()
    return [os.path.join(sh, "vocab", "rwkv_vocab_v20230424.txt"), os.path.join(sh, "vocab", "20B_tokenizer.json")]


def mutate_bytes(data, rng):
    """Bit flips, interesting integers (mostly in the first 64 KiB, where headers live), or truncation."""
    b = bytearray(data)
    kind = rng.choice(["flip", "int32", "int64", "truncate", "header_flip", "header_int32"])
    if kind == "truncate":
        return bytes(b[: rng.randrange(len(b))])
    header = min(len(b), 1 << 16)
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        limit = len(b) if kind == "flip" else header
        pos = rng.randrange(max(1, limit - 8))
        if kind.endswith("flip"):
            b[pos] ^= 1 << rng.randrange(8)
        elif kind.endswith("int32"):
            b[pos : pos + 4] = struct.pack("<I", rng.choice(INTERESTING32))
        else:
            b[pos : pos + 8] = struct.pack("<Q", rng.choice(INTERESTING64))
    return bytes(b)


def lsp_frame(body, rng, bad_length=False):
    data = body.encode("utf-8", errors="surrogatepass")
    n = len(data) + (rng.randint(-5, 5) if bad_length else 0)
    return b"Content-Length: " + str(n).encode() + b"\r\n\r\n" + data


def lsp_session(rng):
    """A session that opens, edits and asks for completions, with some messages mutated."""
    uri = "file:///tmp/fuzz.py"
    text = "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"
    msgs = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "capabilities": {"general": {"positionEncodings": ["utf-16", "utf-8"]}}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen",
         "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}},
        {"jsonrpc": "2.0", "method": "textDocument/didChange",
         "params": {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
             {"range": {"start": {"line": 4, "character": 0}, "end": {"line": 4, "character": 0}}, "text": "x = add("}]}},
        {"jsonrpc": "2.0", "id": 2, "method": "textDocument/inlineCompletion",
         "params": {"textDocument": {"uri": uri}, "position": {"line": 4, "character": 8}, "context": {"triggerKind": 2}}},
        {"jsonrpc": "2.0", "id": 3, "method": "textDocument/completion",
         "params": {"textDocument": {"uri": uri}, "position": {"line": 4, "character": 8}}},
    ]
    weird = [None, -1, 2**31, 2**63, -(2**63), 1e308, "x", "", [], {}, True, "\ud800", "\x00", 10**20]

    def mutate(node):
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            r = rng.random()
            if r < 0.3:
                node[key] = rng.choice(weird)
            elif r < 0.4:
                del node[key]
            elif isinstance(node[key], (dict, list)) and node[key]:
                mutate(node[key])
            else:
                node[key] = rng.choice(weird)
        elif isinstance(node, list) and node:
            i = rng.randrange(len(node))
            if isinstance(node[i], (dict, list)):
                mutate(node[i])
            else:
                node[i] = rng.choice(weird)

    head = b""
    for i, m in enumerate(msgs):
        body = json.dumps(m)
        r = rng.random()
        if i > 0 and r < 0.25:
            m = json.loads(body)
            mutate(m)
            body = json.dumps(m)
        elif i > 0 and r < 0.3:
            raw = bytearray(body.encode())
            raw[rng.randrange(len(raw))] = rng.randrange(256)
            body = raw.decode("latin-1")
        head += lsp_frame(body, rng, bad_length=rng.random() < 0.03)
    tail = lsp_frame(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "shutdown"}), rng)
    tail += lsp_frame(json.dumps({"jsonrpc": "2.0", "method": "exit"}), rng)
    return head, tail


def run(cmd, timeout, stdin_parts=None, pause=0.0):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        rest = b""
        if stdin_parts:
            rest = stdin_parts[1]
            try:
                p.stdin.write(stdin_parts[0])
                p.stdin.flush()
                time.sleep(pause)  # let completions run before shutdown
            except BrokenPipeError:  # the server already left: collect what it said
                rest = b""
        out, err = p.communicate(input=rest, timeout=timeout)
        return p.returncode, err.decode(errors="replace"), out
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return "timeout", "", b""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", choices=["models", "forward", "vocab", "lsp"])
    ap.add_argument("--bin", required=True, help="the rwkv-lsp executable (an ASan build finds the most)")
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    ap.add_argument("--pause", type=float, default=1.5, help="lsp: seconds between the session and its shutdown")
    ap.add_argument("--out", default="fuzz-findings")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="rwkv-fuzz-")
    os.makedirs(a.out, exist_ok=True)
    seeds = vocab_seeds() if a.target == "vocab" else [] if a.target == "lsp" else model_seeds(a.bin, work)
    contents = {s: open(s, "rb").read() for s in seeds}
    tally, flagged, answered = {}, 0, 0
    start = time.time()
    for i in range(a.cases):
        stdin_parts, saved = None, None
        if a.target == "lsp":
            stdin_parts = lsp_session(rng)
            cmd = [a.bin, "serve", "--stdio", "--model", "builtin"]
            saved = stdin_parts[0] + stdin_parts[1]
        else:
            seed = rng.choice(seeds)
            saved = mutate_bytes(contents[seed], rng)
            path = os.path.join(work, "case" + os.path.splitext(seed)[1])
            with open(path, "wb") as f:
                f.write(saved)
            if a.target == "models":
                cmd = [a.bin, "info", "--model", path]
            elif a.target == "forward":
                cmd = [a.bin, "eval", "--model", path, "--tokens", "1,2,3", "--mode", rng.choice(["seq", "rnn"]),
                       "--precision", rng.choice(["exact", "fast"])]
            else:
                cmd = [a.bin, "tokenize", "--vocab", path, "--text", "int main() { return 0; } \u00e9\u4e2d\U0001F600"]
        rc, err, out = run(cmd, a.timeout, stdin_parts, a.pause)
        tally[rc] = tally.get(rc, 0) + 1
        if a.target == "lsp" and b'"id":3,"jsonrpc":"2.0","result"' in out:
            answered += 1  # the session got as far as a completion
        if rc not in FLAG_OK or "Sanitizer" in err or "runtime error" in err:
            flagged += 1
            name = os.path.join(a.out, f"{a.target}-{a.seed}-{i}")
            with open(name + ".input", "wb") as f:
                f.write(saved)
            with open(name + ".txt", "w") as f:
                f.write(f"command: {' '.join(cmd)}\nexit: {rc}\n\n{err[-5000:]}")
            print(f"flagged: {name}.input (exit {rc})", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    summary = {"target": a.target, "cases": a.cases, "flagged": flagged,
               "exit_codes": {str(k): v for k, v in tally.items()}, "seconds": round(time.time() - start)}
    if a.target == "lsp":
        summary["sessions_with_completions"] = answered
    print(json.dumps(summary))
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
