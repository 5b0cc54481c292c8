#!/usr/bin/env bash
# The pack step: builds and packs the three publishable packages into a folder.
#
#   scripts/pack.sh [OUT]      (default: out/; `pnpm pack:all`)
#
# Compiles the TypeScript (tsc -b), builds and checks the linux-x64 prebuild (`pnpm prebuilds`),
# then runs `pnpm pack` in packages/core, native and pool: pnpm rewrites `workspace:*` to the
# version, and each package's `files` decides what ships. The win32-x64 binary is cross-built
# into packages/native/prebuilds/win32-x64/ by the Windows build; run that first for a release.
# RIOPOOL_PACK_REQUIRE (default linux-x64) lists the prebuilds that must be there, e.g.
# RIOPOOL_PACK_REQUIRE="linux-x64 win32-x64" for a release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/out}" && cd "${1:-$root/out}" && pwd)
cd "$root"
pnpm exec tsc -b
pnpm --filter @riopool/native prebuilds
for target in ${RIOPOOL_PACK_REQUIRE:-linux-x64}; do
  f="packages/native/prebuilds/$target/riopool.node"
  [ -f "$f" ] || { echo "pack: $f is missing" >&2; exit 1; }
done
for p in core native pool; do
  (cd "packages/$p" && pnpm pack --pack-destination "$out" >/dev/null)
done
echo "pack: prebuilds shipped: $(cd packages/native/prebuilds && ls -d */ | tr -d / | tr '\n' ' ')"
ls -l "$out"/riopool-*.tgz
