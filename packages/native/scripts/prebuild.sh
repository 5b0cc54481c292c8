#!/usr/bin/env bash
# Builds the linux-x64 binary that ships inside @riopool/native:
#   prebuilds/linux-x64/riopool.node
# with cmake-js (Release) in build-prebuild/, stripped, then checks it before it is copied into
# place:
#   - it is an x86-64 ELF shared object that needs only the C and C++ runtimes (libc, libstdc++,
#     libgcc_s), which every glibc Linux that runs Node has;
#   - every Node-API function it imports is in Node-API 8 (node-api-headers' symbols.js), so
#     the one file loads in every Node from 20 on;
#   - it loads in this node and maps a page.
# It prints the newest glibc and libstdc++ symbol versions it needs: the oldest systems it runs
# on. The C++ runtime stays dynamic on purpose: linked in statically (GCC 12 on glibc 2.36) it
# would need glibc 2.36, while the shared one needs glibc 2.32 and GLIBCXX_3.4.29 (GCC 11), which
# Ubuntu 22.04 and RHEL 9 have. Where it does not load, the install script builds from source.
# The file is gitignored and never committed: .ci/run and the pack step (test/install/run.sh)
# call this script (`pnpm prebuilds` at the root). The win32-x64 binary is cross-built
# separately into prebuilds/win32-x64/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
fail() { echo "prebuilds: $*" >&2; exit 1; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) fail "builds linux-x64 only; this is $(uname -sm)" ;;
esac
node -p "process.report.getReport().header.glibcVersionRuntime" | grep -q '^[0-9]' ||
  fail "needs a glibc system (the linux-x64 prebuild is for glibc)"

npx cmake-js compile --out build-prebuild >build-prebuild.log 2>&1 ||
  { cat build-prebuild.log >&2; fail "cmake-js failed (log above)"; }
rm -f build-prebuild.log
built=build-prebuild/Release/riopool.node
[ -f "$built" ] || fail "$built was not built"

# readelf (binutils, which g++ brings) rather than file(1), which a bare Debian lacks.
header=$(readelf -h "$built")
grep -q 'Class:.*ELF64' <<<"$header" && grep -q 'Type:.*DYN' <<<"$header" &&
  grep -q 'Machine:.*X86-64' <<<"$header" ||
  fail "$built is not an x86-64 ELF shared object: $header"

needed=$(readelf -d "$built" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
for lib in $needed; do
  case "$lib" in
    libc.so.*|libm.so.*|ld-linux-x86-64.so.*|libpthread.so.*|libdl.so.*|libstdc++.so.6|libgcc_s.so.1) ;;
    *) fail "$built needs $lib; only the C and C++ runtimes may be dynamic" ;;
  esac
done

# Node-API functions imported (undefined dynamic symbols named napi_* / node_api_*).
imported=$(nm -D --undefined-only "$built" | awk '{print $NF}' | grep -E '^(napi|node_api)_' | sort -u)
node - "$imported" <<'EOF'
const symbols = require('node-api-headers/symbols.js');
const v8 = new Set([...symbols.v8.js_native_api_symbols, ...symbols.v8.node_api_symbols]);
const imported = process.argv[2].split('\n').filter(Boolean);
const beyond = imported.filter((s) => !v8.has(s));
if (beyond.length > 0) {
  console.error(`prebuilds: imports Node-API functions newer than version 8: ${beyond.join(', ')}`);
  process.exit(1);
}
console.log(`prebuilds: ${imported.length} Node-API functions imported, all in Node-API 8`);
EOF

strip --strip-unneeded "$built"
glibc=$(objdump -T "$built" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)
glibcxx=$(objdump -T "$built" | grep -o 'GLIBCXX_[0-9.]*' | sort -V | tail -1)
node -e "
  const b = require(process.argv[1]);
  const ab = b.map(b.pageSize());
  if (ab.byteLength !== b.pageSize() || !b.unmap(ab)) throw new Error('map/unmap failed');
" "$here/$built" || fail "$built does not load in node $(node -v)"

mkdir -p prebuilds/linux-x64
cp "$built" prebuilds/linux-x64/riopool.node
size=$(stat -c %s prebuilds/linux-x64/riopool.node)
echo "prebuilds: prebuilds/linux-x64/riopool.node ($size bytes; needs $glibc and $glibcxx or newer; libs: $needed; loads in node $(node -v))"
