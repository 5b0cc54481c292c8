#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) and runs the
# native tests and the pool's tests against it (or the jest paths given as arguments). Node itself is not instrumented, so the ASan
# runtime is preloaded; leak detection is off because node's own start-up allocations are not
# freed at exit, and the addon's leaks would drown in them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
npx cmake-js compile --out build-asan --CDRIOPOOL_SANITIZE=ON >/dev/null
asan=$(g++ -print-file-name=libasan.so)
ubsan=$(g++ -print-file-name=libubsan.so)
cd "$root"
export RIOPOOL_NATIVE_PATH="$here/build-asan/Release/riopool.node"
export LD_PRELOAD="$asan:$ubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# By default the tests of the addon and of the pool that drives it.
[ $# -gt 0 ] || set -- packages/native packages/pool
echo "test:asan: running tests with $RIOPOOL_NATIVE_PATH: $*"
npx jest --runInBand "$@"
