#!/usr/bin/env bash
# Builds the addon as a Debug build (build-debug/: no optimisation, NDEBUG undefined, so every
# precondition assert() in src/ is checked) and runs the tests of the addon and of the pool
# against it (or the jest paths given as arguments). A broken precondition aborts the process.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
npx cmake-js compile --debug --out build-debug >/dev/null
cd "$root"
export RIOPOOL_NATIVE_PATH="$here/build-debug/Debug/riopool.node"
[ $# -gt 0 ] || set -- packages/native packages/pool
echo "test:debug: running tests with $RIOPOOL_NATIVE_PATH (precondition asserts on): $*"
npx jest --runInBand "$@"
