#!/bin/bash
# Converts models with `rwkv-lsp convert` to GGUF in every type it writes and reads the files back
# with independent implementations:
#   parser: Hugging Face's GGUF parser (check_gguf.mjs), the golden models and the trained model;
#   llama:  llama.cpp itself (check_llama.mjs), the golden RWKV-6 and RWKV-7 models and the trained
#           model, whose GGUF files carry test vocabularies (llama.cpp needs one to load a model).
# usage: run_gguf_check.sh parser|llama RWKV_LSP_BIN SHARED_DIR TRAINED_MODEL WORK_DIR
# Exit 77 (ctest: skipped) when node, the npm packages (npm install --no-save --omit=optional here;
# scripts/test does it), llama.cpp's prebuilt library or the models are missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mode=$1 bin=$2 shared=$3 trained=$4 work=$5
if ! command -v node > /dev/null; then
  echo "skipped: node not found (apt-get install nodejs npm)"; exit 77
fi
if [ ! -d node_modules/@huggingface/gguf ] || [ ! -d node_modules/node-llama-cpp ]; then
  echo "skipped: the npm packages are not installed (run: npm install --no-save --omit=optional in tests/interop/gguf; scripts/test does)"; exit 77
fi
if [ ! -r "$shared/golden/v6-small.pth" ] || [ ! -r "$shared/golden/v7-small.pth" ] || [ ! -r "$trained" ]; then
  echo "skipped: models not found (../shared/golden and $trained)"; exit 77
fi
rm -rf "$work" && mkdir -p "$work"

if [ "$mode" = llama ]; then
  if ! node -e 'import("node-llama-cpp").then((m) => m.getLlama({ gpu: false, build: "never" }))' > /dev/null 2>&1; then
    echo "skipped: node-llama-cpp has no prebuilt llama.cpp that loads here"; exit 77
  fi
  node write_vocab.mjs 512 > "$work/vocab512.txt"
  sep="" list="$work/llama.json"
  printf '{"bin": "%s", "cases": [' "$bin" > "$list"
  for v in v6 v7; do
    for dtype in f32 f16 bf16 q8_0 q5_1 q5_0 q4_1 q4_0 q6_k q5_k q4_k; do
      out="$work/$v-$dtype.gguf"
      "$bin" convert --in "$shared/golden/$v-small.pth" --out "$out" --dtype "$dtype" --vocab "$work/vocab512.txt" > /dev/null
      printf '%s{"path": "%s", "golden": "%s", "type": "%s"}' "$sep" "$out" "$shared/golden/$v-small.json" "$dtype" >> "$list"
      sep=","
    done
  done
  # The trained model (256 logits) in the types whose blocks fill its 256-wide rows.
  node write_vocab.mjs 256 > "$work/vocab256.txt"
  for dtype in f32 q8_0 q6_k q5_k q4_k; do
    out="$work/trained-$dtype.gguf"
    "$bin" convert --in "$trained" --out "$out" --dtype "$dtype" --vocab "$work/vocab256.txt" > /dev/null
    printf ',{"path": "%s", "type": "%s"}' "$out" "$dtype" >> "$list"
  done
  echo "]}" >> "$list"
  echo "node $(node --version), llama.cpp from node-llama-cpp $(node -p 'require("./node_modules/node-llama-cpp/package.json").version')"
  RWKV_LLAMA_CASES=$list exec timeout 300 node --test check_llama.mjs
fi

cases="$work/cases.json"
echo "[" > "$cases"
sep=""
# model, --dtype, general.file_type llama.cpp expects, type of the large matrices
while read -r model dtype file_type matrix_type; do
  out="$work/$(basename "$model" .pth)-$dtype.gguf"
  summary=$("$bin" convert --in "$model" --out "$out" --dtype "$dtype" 2>/dev/null)
  printf '%s{"path": "%s", "file_type": %s, "matrix_type": "%s", "summary": %s}\n' "$sep" "$out" "$file_type" "$matrix_type" "$summary" >> "$cases"
  sep=","
done <<LIST
$shared/golden/v7-small.pth f32 0 F32
$shared/golden/v6-small.pth f32 0 F32
$shared/golden/v6-small.pth f16 1 F16
$shared/golden/v7-small.pth bf16 32 BF16
$shared/golden/v7-small.pth q8_0 7 Q8_0
$trained q4_0 2 Q4_0
$trained q4_1 3 Q4_1
$trained q5_0 8 Q5_0
$trained q5_1 9 Q5_1
$trained q4_k 14 Q4_K
$trained q5_k 16 Q5_K
$trained q6_k 18 Q6_K
LIST
echo "]" >> "$cases"
echo "node $(node --version), $(grep -c '"path"' "$cases") files"
RWKV_GGUF_CASES=$cases exec timeout 300 node --test check_gguf.mjs
