#!/bin/bash
# Runs one headless Neovim test script against the rwkv-lsp executable.
# usage: run_nvim_test.sh SCRIPT.lua RWKV_LSP_BIN PLUGIN_DIR MODEL VOCAB TRAINED(0|1) WORK_DIR
# RWKV_LSP_TEST_MODEL / RWKV_LSP_TEST_VOCAB / RWKV_LSP_TEST_TRAINED in the environment override
# the configured model. Exit 77 (ctest: skipped) when nvim or the model is missing.
set -euo pipefail
script=$1
export RWKV_LSP_BIN=$2 RWKV_LSP_NVIM_PLUGIN=$3
export RWKV_LSP_TEST_MODEL=${RWKV_LSP_TEST_MODEL:-$4}
export RWKV_LSP_TEST_VOCAB=${RWKV_LSP_TEST_VOCAB-$5}
export RWKV_LSP_TEST_TRAINED=${RWKV_LSP_TEST_TRAINED:-$6}
work=$7
if ! command -v nvim > /dev/null; then
  echo "skipped: nvim not found (scripts/test installs Debian's neovim; apt-get install neovim)"
  exit 77
fi
if [ ! -r "$RWKV_LSP_TEST_MODEL" ]; then
  echo "skipped: model $RWKV_LSP_TEST_MODEL not found"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
export RWKV_LSP_TEST_DIR=$work
# A fresh LSP log (the client test reads it) and no user state.
export XDG_CACHE_HOME=$work/cache XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
echo "nvim $(nvim --version | head -1 | cut -d' ' -f2), model $RWKV_LSP_TEST_MODEL (trained: $RWKV_LSP_TEST_TRAINED)"
# -u NONE: no user configuration; -i NONE: no shada; -n: no swap files.
exec timeout 300 nvim --headless -u NONE -i NONE -n -c "luafile $script"
