#!/bin/bash
# Runs one batch-mode Emacs test script against the rwkv-lsp executable, with the plugin's Emacs
# configuration loaded as a user would load it and `rwkv-lsp` found on PATH.
# usage: run_emacs_test.sh SCRIPT.el RWKV_LSP_BIN PLUGIN_DIR WORK_DIR
# Exit 77 (ctest: skipped) when emacs or the LSP client package the script needs is missing.
set -euo pipefail
script=$1 bin=$2 plugin=$3 work=$4
if ! command -v emacs > /dev/null; then
  echo "skipped: emacs not found (scripts/test installs Debian's emacs-nox, elpa-eglot and elpa-lsp-mode)"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
# No user configuration or state; Debian's ELPA packages (elpa-*) are activated by the script.
export HOME=$work XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache XDG_STATE_HOME=$work/state
export PATH="$(cd "$(dirname "$bin")" && pwd):$PATH"
export RWKV_LSP_EMACS_PLUGIN=$plugin RWKV_LSP_TEST_DIR=$work
echo "$(emacs --version | head -1), rwkv-lsp $(command -v rwkv-lsp)"
exec timeout 300 emacs --batch -Q -l "$(dirname "${BASH_SOURCE[0]}")/harness.el" -l "$script"
