#!/bin/bash
# Only the C API leaves librwkv-lsp.so: every defined dynamic symbol is rwkv_lsp_* (the version
# node RWKV_LSP_0 aside), and the soname carries the SOVERSION.
# usage: check_exports.sh LIBRARY.so rwkv_lsp.h   (the exports must be exactly the header's functions)
set -eu
lib=$1
header=$2
command -v nm >/dev/null || { echo "skipped: nm not found (binutils)"; exit 77; }
all=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$all" | grep -v -e '^rwkv_lsp_' -e '^RWKV_LSP_0$' || true)
count=$(printf '%s\n' "$all" | grep -c '^rwkv_lsp_' || true)
echo "exported rwkv_lsp_* functions: $count"
if [ -n "$bad" ]; then
  echo "unexpected exported symbols:"; printf '%s\n' "$bad"
  echo "0 passed, 1 failed"; exit 1
fi
declared=$(grep '^RWKV_LSP_API' "$header" | sed 's/(.*//; s/.*[ *]//' | sort -u)
exported=$(printf '%s\n' "$all" | grep '^rwkv_lsp_' || true)
if [ "$declared" != "$exported" ]; then
  echo "the exports differ from the functions rwkv_lsp.h declares:"
  diff <(printf '%s\n' "$declared") <(printf '%s\n' "$exported") || true
  echo "0 passed, 1 failed"; exit 1
fi
soname=$(objdump -p "$lib" 2>/dev/null | awk '/SONAME/ {print $2}')
case "$soname" in
  librwkv-lsp.so.[0-9]*) ;;
  *) echo "unexpected SONAME: '$soname'"; echo "0 passed, 1 failed"; exit 1 ;;
esac
echo "SONAME $soname"
echo "2 passed, 0 failed"
