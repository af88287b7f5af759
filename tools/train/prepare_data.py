"""Builds the byte-level code corpus for the embedded model from Debian 12 packages.

Installs the source packages with apt-get when they are missing (needs root), walks them, splits BY
FILE into train / held-out with a hash of the file's corpus path, and writes:
    OUT/train.bin, OUT/heldout.bin   raw bytes, each file followed by one 0 byte (end of file)
    OUT/manifest.json                packages + versions + licenses, file counts and sizes per source
    OUT/files.tsv                    split, source, bytes, path for every file taken
Each source has a byte budget; files are taken in a hash order until it is spent, so the mix of
languages does not depend on how big each package happens to be.

Run: /usr/bin/python3 tools/train/prepare_data.py --out ~/.cache/rwkv-lsp-train/corpus
"""
import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys

# name, Debian packages, license, roots (globs), extensions, excluded path parts, byte budget
SOURCES = [
    dict(name="cpp-boost", packages=["libboost1.74-dev"], license="BSL-1.0",
         roots=["/usr/include/boost"], ext=(".hpp", ".ipp", ".h"),
         exclude=("/preprocessed/",), budget=16_000_000),
    dict(name="python-stdlib", packages=["libpython3.11-stdlib", "python3.11-minimal", "libpython3.11-minimal"],
         license="PSF-2.0", roots=["/usr/lib/python3.11"], ext=(".py",),
         exclude=("/site-packages/", "/dist-packages/", "/lib2to3/tests/data/", "/test/tokenizedata/",
                  "/test/badsyntax", "/test/bad_coding"), budget=24_000_000),
    dict(name="go-stdlib", packages=["golang-1.19-src"], license="BSD-3-Clause",
         roots=["/usr/share/go-1.19/src"], ext=(".go",),
         exclude=("/testdata/",), budget=16_000_000),
    dict(name="rust-stdlib-compiler", packages=["rust-src"], license="MIT OR Apache-2.0",
         roots=["/usr/src/rustc-1.*/library", "/usr/src/rustc-1.*/compiler"], ext=(".rs",),
         exclude=("/tests/ui/", "/test/ui/"), budget=16_000_000),
    dict(name="c-headers-and-sources", packages=["golang-1.19-src", "libpython3.11-dev", "libsqlite3-dev", "zlib1g-dev"],
         license="BSD-3-Clause (Go runtime C), PSF-2.0 (CPython headers), public domain (SQLite), Zlib (zlib)",
         roots=["/usr/share/go-1.19/src", "/usr/include/python3.11", "/usr/include/sqlite3.h",
                "/usr/include/sqlite3ext.h", "/usr/include/zlib.h", "/usr/include/zconf.h"],
         ext=(".c", ".h"), exclude=("/testdata/",), budget=8_000_000),
]

MAX_FILE = 400_000      # skip generated giants (tables, test vectors)
HELDOUT_PERCENT = 4     # by file: md5(corpus path) % 100 < this -> held-out


def ensure_packages(packages):
    missing = []
    for p in packages:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(p)
    if missing:
        print("installing", " ".join(missing), flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def package_version(p):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True)
    return r.stdout.strip()


def list_files(src):
    files = []
    for pattern in src["roots"]:
        for root in sorted(glob.glob(pattern)):
            if os.path.isfile(root):
                files.append(root)
                continue
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for f in sorted(filenames):
                    path = os.path.join(dirpath, f)
                    if f.endswith(src["ext"]) and not any(x in path + "/" for x in src["exclude"]):
                        files.append(path)
    return files


def hkey(path, salt):
    return int(hashlib.md5((salt + path).encode()).hexdigest(), 16)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/rwkv-lsp-train/corpus"))
    ap.add_argument("--no-install", action="store_true", help="do not call apt-get for missing packages")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    if not args.no_install:
        ensure_packages(sorted({p for s in SOURCES for p in s["packages"]}))

    seen = set()
    manifest = {"heldout_rule": f"md5(path) % 100 < {HELDOUT_PERCENT}", "max_file_bytes": MAX_FILE,
                "separator": "one 0 byte after each file", "sources": []}
    splits = {"train": [], "heldout": []}
    rows = []
    for src in SOURCES:
        files = [f for f in list_files(src) if f not in seen]
        files.sort(key=lambda p: hkey(p, "order:"))
        used = {"train": 0, "heldout": 0}
        nfiles = {"train": 0, "heldout": 0}
        for path in files:
            if used["train"] + used["heldout"] >= src["budget"]:
                break
            data = open(path, "rb").read()
            if not data or len(data) > MAX_FILE or b"\0" in data:
                continue
            seen.add(path)
            split = "heldout" if hkey(path, "split:") % 100 < HELDOUT_PERCENT else "train"
            splits[split].append((hkey(path, "mix:"), data))
            used[split] += len(data)
            nfiles[split] += 1
            rows.append(f"{split}\t{src['name']}\t{len(data)}\t{path}")
        manifest["sources"].append({
            "name": src["name"], "license": src["license"],
            "packages": {p: package_version(p) for p in src["packages"]},
            "roots": src["roots"], "extensions": list(src["ext"]),
            "train_bytes": used["train"], "train_files": nfiles["train"],
            "heldout_bytes": used["heldout"], "heldout_files": nfiles["heldout"]})
        print(f"{src['name']:24s} train {used['train']/1e6:7.2f} MB ({nfiles['train']} files)  "
              f"held-out {used['heldout']/1e6:6.2f} MB ({nfiles['heldout']} files)", flush=True)

    for split, items in splits.items():
        items.sort(key=lambda t: t[0])  # interleave languages deterministically
        with open(os.path.join(args.out, f"{split}.bin"), "wb") as f:
            for _, data in items:
                f.write(data)
                f.write(b"\0")
        manifest[f"{split}_bytes_total"] = sum(len(d) + 1 for _, d in items)
    with open(os.path.join(args.out, "files.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    digest = {s: hashlib.sha256(open(os.path.join(args.out, f"{s}.bin"), "rb").read()).hexdigest()
              for s in splits}
    manifest["sha256"] = digest
    json.dump(manifest, open(os.path.join(args.out, "manifest.json"), "w"), indent=1)
    print("wrote", args.out, json.dumps(digest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
