#!/bin/bash
# Runs check_configs.py; exit 77 (ctest: skipped) without python3.
# usage: run_check_configs.sh SOURCE_DIR
if ! command -v python3 > /dev/null; then
  echo "skipped: python3 not found (scripts/test installs Debian's python3)"
  exit 77
fi
exec python3 "$(dirname "$0")/check_configs.py" "$1"
