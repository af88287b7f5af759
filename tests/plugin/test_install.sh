#!/bin/bash
# Installs the build into a temporary prefix and builds a host against it twice: through the
# exported CMake package and through pkg-config.
# usage: test_install.sh BUILD_DIR SOURCE_DIR WORK_DIR [HOST_FLAGS]
# HOST_FLAGS: compiler and linker flags the host needs to load this build of the library (the
# sanitizer runtime of a sanitizer build must come first in the host, not arrive with the library).
set -euo pipefail
build=$1 src=$2 work=$3 host_flags=${4:-}
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
libdir=$(dirname "$(find "$work/prefix" -name 'librwkv-lsp.so' | head -1)")
test -f "$work/prefix/include/rwkv_lsp.h"
test -L "$libdir/librwkv-lsp.so"
ls "$libdir"/librwkv-lsp.so.* > /dev/null

cmake -S "$src/tests/plugin/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_C_FLAGS="$host_flags" -DCMAKE_EXE_LINKER_FLAGS="$host_flags" > "$work/consumer.log"
cmake --build "$work/consumer" >> "$work/consumer.log"
LD_LIBRARY_PATH="$libdir" "$work/consumer/consumer"

if command -v pkg-config > /dev/null; then
  export PKG_CONFIG_PATH="$libdir/pkgconfig"
  # shellcheck disable=SC2046,SC2086
  cc $host_flags -std=c11 -pedantic -Werror -o "$work/consumer-pc" "$src/tests/plugin/consumer/main.c" $(pkg-config --cflags --libs rwkv-lsp)
  LD_LIBRARY_PATH="$libdir" "$work/consumer-pc"
  echo "2 passed, 0 failed"
else
  echo "pkg-config not found: checked the CMake package only"
  echo "1 passed, 0 failed"
fi
