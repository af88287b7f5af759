#!/usr/bin/env python3
"""An independent reference for rwkv-lsp's byte-level BPE (engine/src/tokenizer/bpe_tokenizer.cpp).

Follows the Hugging Face `tokenizers` pipeline for GPT-NeoX 20B's tokenizer.json with Python's own
pieces: added tokens split out leftmost-longest (non-normalized ones from the raw text, the others
after NFC), unicodedata.normalize('NFC'), the GPT-2 pattern run by the `regex` module (Debian:
python3-regex), GPT-2's bytes_to_unicode, and classic rank-ordered BPE merging.

Usage: bpe_reference.py TOKENIZER_JSON [TEXT ...]   prints one JSON list of ids per text
       bpe_reference.py TOKENIZER_JSON --file F     prints the ids of the file's contents
"""
import json
import sys
import unicodedata

import regex

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


class Reference:
    def __init__(self, path):
        d = json.load(open(path, encoding='utf-8'))
        self.vocab = d['model']['vocab']
        self.ranks = {}
        for i, m in enumerate(d['model']['merges']):
            a, b = m.split(' ') if isinstance(m, str) else m
            self.ranks[(a, b)] = i
        self.added = [(t['content'], t['id'], t.get('normalized', not t.get('special', False))) for t in d['added_tokens']]
        self.nfc = (d.get('normalizer') or {}).get('type') == 'NFC'
        self.b2u = bytes_to_unicode()

    def split_added(self, text, normalized):
        tokens = [(c, i) for c, i, n in self.added if n == normalized]
        out, start, i = [], 0, 0
        while i < len(text):
            best = max((t for t in tokens if text.startswith(t[0], i)), key=lambda t: len(t[0]), default=None)
            if best is None:
                i += 1
                continue
            if i > start:
                out.append(text[start:i])
            out.append(best[1])
            i += len(best[0])
            start = i
        if start < len(text):
            out.append(text[start:])
        return out

    def bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((parts[i], parts[i + 1]), 1 << 30), i) for i in range(len(parts) - 1)]
            rank, _ = min(pairs)
            if rank == 1 << 30:
                break
            merged, i = [], 0
            while i < len(parts):  # merge every occurrence of the best pair, left to right
                if i + 1 < len(parts) and self.ranks.get((parts[i], parts[i + 1])) == rank:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return [self.vocab[p] for p in parts]

    def encode(self, text):
        ids = []
        for piece in self.split_added(text, False):
            if isinstance(piece, int):
                ids.append(piece)
                continue
            if self.nfc:
                piece = unicodedata.normalize('NFC', piece)
            for part in self.split_added(piece, True):
                if isinstance(part, int):
                    ids.append(part)
                    continue
                for m in PATTERN.findall(part):
                    ids.extend(self.bpe(''.join(self.b2u[b] for b in m.encode('utf-8'))))
        return ids


def main():
    ref = Reference(sys.argv[1])
    if len(sys.argv) > 3 and sys.argv[2] == '--file':
        print(json.dumps(ref.encode(open(sys.argv[3], encoding='utf-8', newline='').read())))
    else:
        for text in sys.argv[2:]:
            print(json.dumps(ref.encode(text)))


if __name__ == '__main__':
    main()
