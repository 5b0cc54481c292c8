#!/usr/bin/env bash
# Cross-builds the addon for Windows x64 with Debian's mingw-w64, so the `rio` backend and
# prim_windows.cc compile and link in CI. The import library for node.exe's Node-API symbols is
# made from node-api-headers' .def files. Output: build-windows/riopool.node (a PE DLL).
#
# Needs: g++-mingw-w64-x86-64-posix (apt-get install g++-mingw-w64-x86-64-posix).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
CXX=${CXX_MINGW:-x86_64-w64-mingw32-g++-posix}
DLLTOOL=${DLLTOOL_MINGW:-x86_64-w64-mingw32-dlltool}
if ! command -v "$CXX" >/dev/null; then
  echo "check:windows: $CXX not found; install g++-mingw-w64-x86-64-posix" >&2
  exit 1
fi
headers=$(node -p "require('node-api-headers').include_dir")
defs=$(node -p "require('path').join(require.resolve('node-api-headers/package.json'), '..', 'def')")
addon_api=$(node -p "require('node-addon-api').include_dir")
out=build-windows
mkdir -p "$out"
# One .def for both headers (each file may lack a final newline).
{ echo "NAME NODE.EXE"; echo "EXPORTS"
  for f in "$defs/js_native_api.def" "$defs/node_api.def"; do
    tr -d '\r' < "$f" | grep -v '^NAME\|^EXPORTS'; echo
  done; } | grep . > "$out/node.def"
"$DLLTOOL" -d "$out/node.def" -D node.exe -l "$out/libnode.a"

flags=(-std=c++17 -O2 -Wall -Wextra -Wpedantic -Wshadow -Werror -Wno-unused-parameter
       -DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_DEPRECATED
       -DNODE_ADDON_API_CPP_EXCEPTIONS -DNODE_ADDON_API_CPP_EXCEPTIONS_ALL
       -D_WIN32_WINNT=0x0A00 -isystem "$headers" -isystem "$addon_api")
objs=()
for src in src/*.cc; do
  obj="$out/$(basename "$src" .cc).o"
  "$CXX" "${flags[@]}" -c "$src" -o "$obj"
  objs+=("$obj")
done
"$CXX" -shared -o "$out/riopool.node" "${objs[@]}" -L"$out" -lnode -lws2_32 \
  -static-libgcc -static-libstdc++ -Wl,--no-undefined
file_type=$(od -An -c -N2 "$out/riopool.node" | tr -d ' ')
[ "$file_type" = "MZ" ] || { echo "check:windows: output is not a PE file" >&2; exit 1; }
exports=$(x86_64-w64-mingw32-objdump -p "$out/riopool.node")
grep -q 'napi_register_module_v1' <<<"$exports" || { echo "check:windows: the DLL does not export napi_register_module_v1" >&2; exit 1; }
echo "check:windows: built $out/riopool.node (PE, exports napi_register_module_v1; rio backend compiled)"
