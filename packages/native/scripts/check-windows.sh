#!/usr/bin/env bash
# Cross-builds the addon for Windows x64 with Debian's mingw-w64: the win32-x64 prebuild that
# ships in @riopool/native. The import library for node.exe's Node-API symbols is made from
# node-api-headers' .def files. The C++ runtime, libgcc and winpthread are linked statically, so
# the DLL imports only Windows' own DLLs and node.exe (checked below with objdump). Flags come
# from compile-flags.txt, as CMake's do. Output: prebuilds/win32-x64/riopool.node (a PE DLL).
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

mapfile -t shared < <(grep '^-' compile-flags.txt)
flags=(-std=c++17 -O2 "${shared[@]}" -Werror -D_WIN32_WINNT=0x0A00 -isystem "$headers" -isystem "$addon_api")
objs=()
for src in src/*.cc; do
  obj="$out/$(basename "$src" .cc).o"
  "$CXX" "${flags[@]}" -c "$src" -o "$obj"
  objs+=("$obj")
done
"$CXX" -shared -o "$out/riopool.node" "${objs[@]}" -L"$out" -lnode -lws2_32 \
  -static -static-libgcc -static-libstdc++ -Wl,--no-undefined -s
file_type=$(od -An -c -N2 "$out/riopool.node" | tr -d ' ')
[ "$file_type" = "MZ" ] || { echo "check:windows: output is not a PE file" >&2; exit 1; }
exports=$(x86_64-w64-mingw32-objdump -p "$out/riopool.node")
grep -q 'napi_register_module_v1' <<<"$exports" || { echo "check:windows: the DLL does not export napi_register_module_v1" >&2; exit 1; }
# A Windows machine has no mingw runtime: the DLL may import only Windows' DLLs and node.exe.
imports=$(grep 'DLL Name:' <<<"$exports" | awk '{print $3}' | sort -u)
for dll in $imports; do
  case "${dll,,}" in
    kernel32.dll | ws2_32.dll | msvcrt.dll | advapi32.dll | user32.dll | ntdll.dll | node.exe | api-ms-win-*.dll) ;;
    *) echo "check:windows: the DLL imports $dll, which a Windows machine without mingw lacks" >&2; exit 1 ;;
  esac
done
mkdir -p prebuilds/win32-x64
cp "$out/riopool.node" prebuilds/win32-x64/riopool.node
echo "check:windows: built prebuilds/win32-x64/riopool.node (PE, exports napi_register_module_v1; imports $(echo $imports | tr '\n' ' '))"
