# Shared by scripts/demo and scripts/test: dependency installation and the build.
# Debian 12 packages only; everything else the project needs is in the repository.

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

# Packages the build and the test suite need.
RWKV_LSP_BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libboost-dev libssl-dev nlohmann-json3-dev libtbb-dev catch2)

run_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "error: installing packages needs root (or sudo): $*" >&2; return 1; fi
}

# Installs the Debian packages given that are not installed yet.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing ${missing[*]}" >&2
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Configures and builds into build/ (Release). Extra arguments go to cmake's configure step.
build_project() {
  local root; root=$(repo_root)
  local jobs; jobs=$(nproc 2>/dev/null || echo 2)
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >&2
  cmake --build "$root/build" -j "$jobs" >&2
}

# What the editor tests (tests/editors) need: Debian's neovim, emacs-nox with elpa-eglot and elpa-lsp-mode, python3, node and npm, and the npm packages
# of the Node client test, the GGUF interoperability tests and the VS Code extension (npm ci, when their lock file changed).
# Nothing here is fatal: a tool that cannot be installed makes its tests skip with a message.
# RWKV_LSP_SKIP_EDITOR_TOOLS=1 skips all of it.
ensure_editor_tools() {
  [ "${RWKV_LSP_SKIP_EDITOR_TOOLS:-0}" = 1 ] && return 0
  local root; root=$(repo_root)
  command -v nvim > /dev/null 2>&1 || ensure_packages neovim ||
    echo "warning: could not install neovim; the Neovim tests will be skipped" >&2
  ensure_packages emacs-nox elpa-eglot elpa-lsp-mode ||
    echo "warning: could not install emacs-nox, elpa-eglot and elpa-lsp-mode; the Emacs tests will be skipped" >&2
  command -v python3 > /dev/null 2>&1 || ensure_packages python3 ||
    echo "warning: could not install python3; the editor configuration check will be skipped" >&2
  command -v npm > /dev/null 2>&1 || ensure_packages nodejs npm ||
    echo "warning: could not install nodejs/npm; the Node and VS Code tests will be skipped" >&2
  command -v npm > /dev/null 2>&1 || return 0
  local dir
  for dir in tests/editors/node tests/interop/gguf plugin/editors/vscode; do
    local lock="$root/$dir/package-lock.json" stamp="$root/$dir/node_modules/.package-lock.json"
    if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
      # tests/interop/gguf: the optional dependencies are llama.cpp's builds for other platforms and
      # GPUs, which this registry does not all hold, so `npm ci` cannot check the lock against them;
      # `npm install --no-save` installs the locked versions without them, leaving the lock alone.
      local install=(ci)
      [ "$dir" = tests/interop/gguf ] && install=(install --no-save --omit=optional)
      echo "==> npm ${install[*]} in $dir" >&2
      (cd "$root/$dir" && npm "${install[@]}" --no-audit --no-fund --loglevel=error >&2) ||
        echo "warning: npm ci failed in $dir; its tests will be skipped" >&2
    fi
  done
}
