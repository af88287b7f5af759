#!/bin/bash
# Builds the VS Code extension (npm run compile: type check + bundle) and packages it with vsce
# without network access when `unshare` allows it, then checks the .vsix and loads the bundle.
# Exit 77 (ctest: skipped) when node or the extension's npm packages are missing.
set -euo pipefail
ext=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../plugin/editors/vscode" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "skipped: node/npm not found (apt-get install nodejs npm)"; exit 77
fi
if [ ! -x "$ext/node_modules/.bin/vsce" ] || [ ! -d "$ext/node_modules/vscode-languageclient" ]; then
  echo "skipped: the extension's npm packages are not installed (npm ci --prefix plugin/editors/vscode; scripts/test does)"
  exit 77
fi
cd "$ext"
rm -rf out rwkv-lsp.vsix
offline=()
if unshare -rn true 2> /dev/null; then offline=(unshare -rn); echo "packaging with no network (unshare -rn)"; fi
"${offline[@]}" npm run --silent package
unzip -l rwkv-lsp.vsix > out/vsix-contents.txt  # (grep -q on a pipe would end unzip with SIGPIPE)
grep -q "extension/out/extension.js" out/vsix-contents.txt
grep -q "extension/package.json" out/vsix-contents.txt
if grep -q "node_modules\|extension/src/" out/vsix-contents.txt; then
  echo "the .vsix holds sources or node_modules"; exit 1
fi
node "$here/load_bundle.cjs" out/extension.js
