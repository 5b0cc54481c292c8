#!/usr/bin/env bash
# The consumer test: riopool installed as a user installs it, from the packed tarballs, on a
# machine with no compiler.
#
#   1. the pack step (scripts/pack.sh): builds the TypeScript and the linux-x64 prebuild, packs
#      @riopool/core, /native, /pool with pnpm pack (workspace:* becomes the version);
#   2. installs the three tarballs into empty projects with cmake, compilers and make hidden from
#      PATH (PATH is node's own folder when that holds no compiler, else a folder of links to
#      node, npm, npx, pnpm, sh and the few coreutils their shims call):
#        a. npm, default settings;
#        b. pnpm, default settings (dependencies' build scripts blocked);
#      nothing of a source build's tooling (cmake-js) is installed; TypeScript (module nodenext)
#      type-checks an .mts and a .cts consumer, and rejects a wrong call (so the types really
#      are found); with the consumer's own fast-check installed, TypeScript (nodenext, strict)
#      compiles the testing kit's snippet in an ES module package ("type": "module") and in a
#      CommonJS one;
#   3. in each, under Node 20 (this machine's), 22, 24 and 26 (scripts/with-node.sh): a CommonJS
#      script and an ES module that create a pool, acquire 512 leases of 512 B, write them,
#      release, close; the two testing-kit snippets (property tests on the consumer's fast-check);
#      and `npx riopool report --json`, whose output must parse, have numbers and match
#      docs/report.schema.json;
#   4. the install script when it is allowed to run: with the prebuild it builds nothing and
#      needs no compiler; RIOPOOL_BUILD_FROM_SOURCE=1 builds anyway; with the prebuild removed,
#      the loader's error names the fix, the install script without a toolchain says what to
#      install, and with one it builds (fetching the pinned cmake-js with npm, as it is not a
#      dependency).
#
# Prints one PASS/FAIL line per check and ends with "N passed, N failed"; exits 1 on a failure.
# RIOPOOL_INSTALL_NODES overrides the Node versions ("current 22 24 26"); RIOPOOL_INSTALL_KEEP=1
# keeps the temporary folder. Offline-safe apart from the npm registry (the tarballs are local).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/test/install"
nodes=${RIOPOOL_INSTALL_NODES:-current 22 24 26}
work=$(mktemp -d "${TMPDIR:-/tmp}/riopool-install.XXXXXX")
cleanup() { if [ "${RIOPOOL_INSTALL_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

passed=0
failed=0
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
# check NAME COMMAND...: runs the command with its output in a log; PASS or FAIL (with the log).
check() {
  local name=$1; shift
  local log="$work/log.$((passed + failed))"
  local start
  start=$(ms)
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $name ($(($(ms) - start)) ms)"
  else
    failed=$((failed + 1))
    echo "FAIL $name ($(($(ms) - start)) ms)"
    sed 's/^/    | /' "$log" | tail -40
  fi
}
finish() {
  echo "install: done in $((($(ms) - t0) / 1000)) s"
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit $?
}

# --- 1. build and pack ----------------------------------------------------------------------
tarballs="$work/tarballs"
mkdir -p "$tarballs"
check "build, prebuild and pnpm pack the three packages (scripts/pack.sh)" bash "$root/scripts/pack.sh" "$tarballs"
core_tgz=$(ls "$tarballs"/riopool-core-*.tgz 2>/dev/null)
native_tgz=$(ls "$tarballs"/riopool-native-*.tgz 2>/dev/null)
pool_tgz=$(ls "$tarballs"/riopool-pool-*.tgz 2>/dev/null)
[ -f "$core_tgz" ] && [ -f "$native_tgz" ] && [ -f "$pool_tgz" ] || finish

# The packed manifests: same version everywhere, workspace: rewritten to it, prebuild inside.
packed_manifests() {
  node - "$core_tgz" "$native_tgz" "$pool_tgz" <<'EOF'
const { execFileSync } = require('node:child_process');
const read = (tgz, file) => execFileSync('tar', ['-xzOf', tgz, `package/${file}`], { encoding: 'utf8' });
const [core, native, pool] = process.argv.slice(2).map((t) => JSON.parse(read(t, 'package.json')));
const version = core.version;
for (const m of [core, native, pool]) {
  if (m.version !== version) throw new Error(`${m.name} is ${m.version}, @riopool/core ${version}`);
  for (const [dep, spec] of Object.entries(m.dependencies || {})) {
    if (spec.startsWith('workspace:')) throw new Error(`${m.name} depends on ${dep}@${spec}`);
    if (dep.startsWith('@riopool/') && spec !== version) throw new Error(`${m.name}: ${dep}@${spec}, not ${version}`);
  }
}
const files = execFileSync('tar', ['-tzf', process.argv[3]], { encoding: 'utf8' }).split('\n');
for (const f of ['package/prebuilds/linux-x64/riopool.node', 'package/scripts/install.js', 'package/CMakeLists.txt', 'package/src/addon.cc', 'package/dist/load.js']) {
  if (!files.includes(f)) throw new Error(`${f} is not in the native tarball`);
}
console.log(`all ${version}; pool depends on ${JSON.stringify(pool.dependencies)}`);
EOF
}
check "packed manifests: one version, workspace deps rewritten, prebuild shipped" packed_manifests

# --- 2. a PATH without a compiler -----------------------------------------------------------
nodedir=$(dirname "$(command -v node)")
toolbin="$work/toolbin"
mkdir -p "$toolbin"
has_compiler() {
  local t
  for t in cmake g++ c++ cc gcc clang++ make ninja; do env PATH="$1" sh -c "command -v $t" && return 0; done
  return 1
}
if has_compiler "$nodedir" >/dev/null; then
  # node and the package managers, and what their shell shims use (pnpm's .bin scripts call
  # sed, dirname and uname): any machine has these; none of them compiles.
  for t in node npm npx pnpm sh bash env sed dirname basename uname cat ls mkdir rm; do
    src=$(command -v "$t") && ln -s "$src" "$toolbin/$t"
  done
  bare_path=$toolbin
else
  bare_path=$nodedir
fi
no_compiler() { ! has_compiler "$bare_path"; }
check "PATH without a compiler has no cmake, g++, c++, cc, gcc, clang++, make or ninja" no_compiler

# Node binaries for the other LTS lines, installed now (with the full PATH).
declare -A node_dir node_ver
for v in $nodes; do
  bin=$(bash "$root/scripts/with-node.sh" --path "$v" 2>"$work/with-node.log") || {
    failed=$((failed + 1)); echo "FAIL install node $v"; cat "$work/with-node.log"; continue; }
  node_dir[$v]=$(dirname "$bin")
  node_ver[$v]=$("$bin" -p process.versions.node)
done

# new_project DIR: an empty project with the consumer scripts, and the testing-kit snippet in an
# ES module folder (esm/, "type": "module") and a CommonJS one (cjs/).
new_project() {
  mkdir -p "$1/esm" "$1/cjs" &&
    cp "$here"/{consumer.cjs,consumer.mjs,exercise.cjs,subpaths.mjs,types-esm.mts,types-cjs.cts,types-wrong.mts,types-idioms.mts,types-idioms.cts,types-wrong-calls.mts} "$1/" &&
    printf '{ "name": "riopool-consumer", "version": "1.0.0", "private": true }\n' >"$1/package.json" &&
    cp "$here/testing-esm.ts" "$1/esm/testing.ts" && printf '{ "type": "module" }\n' >"$1/esm/package.json" &&
    cp "$here/testing-cjs.ts" "$1/cjs/testing.ts" && printf '{ "type": "commonjs" }\n' >"$1/cjs/package.json"
}
# The consumer's own fast-check: the version the workspace tests with.
fast_check="fast-check@$(node -p "require('$root/package.json').devDependencies['fast-check']")"

# The checks that run in an installed project, under each Node.
run_consumer() {
  local dir=$1 label=$2 v
  check "$label: every exports entry loads with require and import, same names" \
    run_in "$dir" "$bare_path" bare node subpaths.mjs
  check "$label: TypeScript (nodenext) finds the types from an ES module and from CommonJS" \
    run_in "$dir" "$bare_path" types_check
  check "$label: TypeScript (nodenext, strict) compiles the testing kit with the consumer's $fast_check, ES module and CommonJS" \
    run_in "$dir" "$bare_path" testing_compile
  for v in $nodes; do
    [ -n "${node_dir[$v]:-}" ] || continue
    local p="${node_dir[$v]}:$bare_path"
    want_node=${node_ver[$v]}
    check "$label, node $want_node: CommonJS script (512 leases, write, release, close)" \
      run_in "$dir" "$p" expect_prebuild node consumer.cjs
    check "$label, node $want_node: ES module script" run_in "$dir" "$p" expect_prebuild node consumer.mjs
    check "$label, node $want_node: testing kit, ES module and CommonJS (property tests on the consumer's fast-check)" \
      run_in "$dir" "$p" testing_run
    check "$label, node $want_node: npx riopool report --json" run_in "$dir" "$p" report
  done
}
# run_in DIR PATH COMMAND...: runs COMMAND in DIR; what it runs through `bare` sees only PATH.
# (The checks themselves use the full PATH for grep, tar and the like.)
run_in() { local dir=$1; consumer_path=$2; shift 2; (cd "$dir" && "$@"); }
bare() { env PATH="$consumer_path" "$@"; }
# expect_prebuild COMMAND...: runs a consumer script; it must have run on $want_node and loaded
# the prebuild.
expect_prebuild() {
  local out
  out=$(bare "$@") || return 1
  echo "$out"
  grep -q "\"node\":\"$want_node\"" <<<"$out" || { echo "not run by node $want_node"; return 1; }
  grep -q '"addon":"[^"]*/node_modules/[^"]*@riopool/native/prebuilds/linux-x64/riopool.node"' <<<"$out"
}
# The repository's TypeScript and @types/node check the consumer's .mts and .cts files.
tsc_consumer() {
  node "$root/node_modules/typescript/bin/tsc" --module nodenext --moduleResolution nodenext \
    --target es2022 --strict --noEmit --skipLibCheck --types node --typeRoots "$root/node_modules/@types" "$@"
}
types_check() {
  tsc_consumer types-esm.mts types-cjs.cts || return 1
  # The idioms (using, await using, typed events, close options, signals), ES module and CommonJS.
  tsc_consumer types-idioms.mts types-idioms.cts || return 1
  # Every line of types-wrong-calls.mts carries @ts-expect-error: it compiles only while each call is rejected.
  tsc_consumer types-wrong-calls.mts || return 1
  if tsc_consumer types-wrong.mts >wrong.txt; then echo "a wrong call type-checked: the types are not found"; return 1; fi
  cat wrong.txt
  grep -q "error TS2345" wrong.txt
}
# The testing-kit snippets: compiled in place (esm/testing.js is an ES module by its package.json).
testing_compile() {
  # Emitted in place, and with the declarations checked too (skipLibCheck off).
  tsc_consumer --noEmit false --skipLibCheck false esm/testing.ts cjs/testing.ts && [ -f esm/testing.js ] && [ -f cjs/testing.js ]
}
testing_run() {
  local form out
  for form in esm cjs; do
    out=$(bare node "$form/testing.js") || return 1
    echo "$out"
    grep -q "\"form\":\"$form\",\"node\":\"$want_node\",\"runs\":100,\"own\":true" <<<"$out" || return 1
  done
}
report() {
  bare npx --no-install riopool report --json >report.json || return 1
  node "$here/check-report.cjs" report.json "$(cd "$root" && node -p "require.resolve('ajv')")" \
    "$root/docs/report.schema.json" "v$want_node"
}
no_build_dir() {
  local native
  native=$(cd "$1" && node -p "require('path').dirname(require.resolve('@riopool/native/package.json'))") || return 1
  echo "@riopool/native at $native"
  [ ! -e "$native/build" ] || { echo "a build/ folder was made: something compiled"; return 1; }
  [ -f "$native/prebuilds/linux-x64/riopool.node" ]
}
# no_build_tooling DIR: cmake-js (a source build's tool, with its ~40 dependencies) was not
# installed: with the prebuild nothing builds.
no_build_tooling() {
  local found
  found=$(find "$1/node_modules" -maxdepth 3 -type d -name 'cmake-js*' 2>/dev/null)
  [ -z "$found" ] || { echo "installed: $found"; return 1; }
  echo "no cmake-js under $1/node_modules"
}

# --- 2a. npm --------------------------------------------------------------------------------
npm_app="$work/npm-app"
new_project "$npm_app"
check "npm install of the three tarballs, no compiler on PATH" \
  run_in "$npm_app" "$bare_path" bare npm install --no-audit --no-fund "$core_tgz" "$native_tgz" "$pool_tgz"
check "npm: nothing was compiled; the prebuild is in place" no_build_dir "$npm_app"
check "npm: no build tooling installed (cmake-js is not a dependency)" no_build_tooling "$npm_app"
check "npm install of the consumer's own $fast_check" \
  run_in "$npm_app" "$bare_path" bare npm install --no-audit --no-fund --save-dev "$fast_check"
run_consumer "$npm_app" "npm"

# --- 2b. pnpm, default settings -------------------------------------------------------------
pnpm_app="$work/pnpm-app"
new_project "$pnpm_app"
# @riopool/pool's dependencies (@riopool/core@0.1.0, @riopool/native@0.1.0) are not on the
# registry: overrides point them at the local tarballs, as the registry would serve them.
node -e '
  const [file, core, native] = process.argv.slice(1);
  const fs = require("fs");
  const m = JSON.parse(fs.readFileSync(file, "utf8"));
  m.pnpm = { overrides: { "@riopool/core": "file:" + core, "@riopool/native": "file:" + native } };
  fs.writeFileSync(file, JSON.stringify(m, null, 2));
' "$pnpm_app/package.json" "$core_tgz" "$native_tgz"
pnpm_add() {
  bare pnpm add "file:$core_tgz" "file:$native_tgz" "file:$pool_tgz" 2>&1 | tee pnpm-add.log
  [ "${PIPESTATUS[0]}" = 0 ] || return 1
  # pnpm's default: a dependency's build script does not run.
  tr -d '\n│ ' <pnpm-add.log | grep -q 'Ignoredbuildscripts:@riopool/native' ||
    { echo "pnpm did not report the blocked install script of @riopool/native"; return 1; }
}
check "pnpm add of the three tarballs (scripts blocked), no compiler on PATH" run_in "$pnpm_app" "$bare_path" pnpm_add
check "pnpm: nothing was compiled; the prebuild is in place" no_build_dir "$pnpm_app"
check "pnpm: no build tooling installed (cmake-js is not a dependency)" no_build_tooling "$pnpm_app"
check "pnpm add of the consumer's own $fast_check" run_in "$pnpm_app" "$bare_path" bare pnpm add --save-dev "$fast_check"
run_consumer "$pnpm_app" "pnpm"

# --- 4. where no prebuild fits: build from source -------------------------------------------
src_app="$work/source-app"
new_project "$src_app"
check "npm install --ignore-scripts for the source-build checks" \
  run_in "$src_app" "$bare_path" bare npm install --no-audit --no-fund --ignore-scripts "$core_tgz" "$native_tgz" "$pool_tgz"
src_native="$src_app/node_modules/@riopool/native"
script_with_prebuild() {
  bare npm rebuild @riopool/native --foreground-scripts >out.txt 2>&1 || { cat out.txt; return 1; }
  cat out.txt
  grep -q 'using the prebuilt addon for linux-x64; nothing to build' out.txt && [ ! -e "$src_native/build" ]
}
check "the install script itself, where the prebuild fits: no compiler needed, nothing built" \
  run_in "$src_app" "$bare_path" script_with_prebuild
forced_source_build() {
  RIOPOOL_BUILD_FROM_SOURCE=1 npm rebuild @riopool/native --foreground-scripts >out.txt 2>&1 || { cat out.txt; return 1; }
  cat out.txt
  fetched_cmake_js out.txt || return 1
  node consumer.cjs | tee out.json && grep -q '"addon":"[^"]*@riopool/native/build/Release/riopool.node"' out.json
}
# The build's tool came from npm, pinned, only now (it is not installed with the package).
fetched_cmake_js() {
  local pin
  pin=$(node -p "require('$src_native/package.json').devDependencies['cmake-js']")
  grep -q "fetching cmake-js@$pin with npm" "$1" || { echo "the install script did not fetch cmake-js@$pin"; return 1; }
  [ ! -e "$src_app/node_modules/cmake-js" ] || { echo "cmake-js was installed into the project"; return 1; }
}
check "RIOPOOL_BUILD_FROM_SOURCE=1: builds from source beside the prebuild, and the build wins" \
  run_in "$src_app" "$PATH" forced_source_build
rm -rf "$src_native/prebuilds" "$src_native/build"
no_addon_error() {
  if bare node consumer.cjs 2>err.txt; then echo "ran without an addon"; return 1; fi
  cat err.txt
  grep -q "ERR_RIOPOOL_NO_ADDON" err.txt && grep -q 'npm rebuild @riopool/native' err.txt
}
check "no prebuild, no build: ERR_RIOPOOL_NO_ADDON says how to build" run_in "$src_app" "$bare_path" no_addon_error
toolchain_error() {
  if bare npm rebuild @riopool/native >out.txt 2>&1; then cat out.txt; echo "rebuild succeeded without a compiler"; return 1; fi
  cat out.txt
  grep -q 'missing cmake' out.txt && grep -q 'apt-get install cmake g++' out.txt
}
check "no prebuild, no toolchain: the install script says what to install" run_in "$src_app" "$bare_path" toolchain_error
source_build() {
  bare npm rebuild @riopool/native --foreground-scripts >out.txt 2>&1 || { cat out.txt; return 1; }
  cat out.txt
  fetched_cmake_js out.txt || return 1
  bare node consumer.cjs | tee out.json && grep -q '"addon":"[^"]*@riopool/native/build/Release/riopool.node"' out.json
}
check "no prebuild, cmake and g++ on PATH: npm rebuild builds from source and it runs" \
  run_in "$src_app" "$PATH" source_build

finish
