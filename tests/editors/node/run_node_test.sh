#!/bin/bash
# Runs the Node LSP client test against the rwkv-lsp executable.
# usage: run_node_test.sh RWKV_LSP_BIN MODEL VOCAB TRAINED(0|1)
# RWKV_LSP_TEST_MODEL / _VOCAB / _TRAINED in the environment override the configured model.
# Exit 77 (ctest: skipped) when node or the npm packages (npm ci here; scripts/test does it) are missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export RWKV_LSP_BIN=$1
export RWKV_LSP_TEST_MODEL=${RWKV_LSP_TEST_MODEL:-$2}
export RWKV_LSP_TEST_VOCAB=${RWKV_LSP_TEST_VOCAB-$3}
export RWKV_LSP_TEST_TRAINED=${RWKV_LSP_TEST_TRAINED:-$4}
if ! command -v node > /dev/null; then
  echo "skipped: node not found (apt-get install nodejs npm)"; exit 77
fi
if [ ! -d node_modules/vscode-jsonrpc ] || [ ! -d node_modules/vscode-languageserver-protocol ]; then
  echo "skipped: the npm packages are not installed (run: npm ci --prefix tests/editors/node; scripts/test does)"; exit 77
fi
if [ ! -r "$RWKV_LSP_TEST_MODEL" ]; then
  echo "skipped: model $RWKV_LSP_TEST_MODEL not found"; exit 77
fi
echo "node $(node --version), model $RWKV_LSP_TEST_MODEL (trained: $RWKV_LSP_TEST_TRAINED)"
exec timeout 300 node --test test_client.mjs
