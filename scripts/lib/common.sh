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
