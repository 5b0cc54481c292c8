/**
 * Finding and loading the addon: the one place in riopool that requires a `.node` file.
 *
 * Candidates, in order; the first that exists is loaded, and a candidate that exists but does
 * not load is an error (never a silent fall-through to an older file):
 *   1. RIOPOOL_NATIVE_PATH, when set (a sanitizer or debug build); it must exist.
 *   2. build/Release/riopool.node, then build/Debug/riopool.node: a source build (cmake-js).
 *   3. prebuilds/<platform>-<arch>/riopool.node: the binary shipped in the package (linux-x64
 *      for glibc, win32-x64). Node-API 8, so one file serves every Node version from 20 on.
 *
 * The package works without its install script: where a prebuild fits, nothing has to be built
 * (pnpm blocks dependencies' scripts by default). scripts/install.js, when it runs, only builds
 * from source where no prebuild fits. docs/install.md says what is tested where.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root (this file is dist/load.js, or src/load.ts under jest). */
const packageRoot = path.join(__dirname, '..');

/** Error code of the error thrown when no addon can be found or loaded. */
export const NO_ADDON = 'ERR_RIOPOOL_NO_ADDON';

let musl: boolean | undefined;

/**
 * True on Linux with musl libc (Alpine): the linux-x64 prebuild is for glibc. Node's report
 * header names the glibc it runs on; network handles are left out of the report, so it never
 * waits on reverse DNS for the application's open sockets. Asked once (a few ms).
 */
function isMusl(): boolean {
  if (musl !== undefined) return musl;
  if (process.platform !== 'linux') {
    musl = false;
    return musl;
  }
  // excludeNetwork: Node 20.13+ (older Nodes ignore the property); not in @types/node 20.
  const report = process.report as NodeJS.ProcessReport & { excludeNetwork?: boolean };
  const excluded = report.excludeNetwork;
  report.excludeNetwork = true;
  try {
    const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    musl = header?.glibcVersionRuntime === undefined;
  } finally {
    report.excludeNetwork = excluded;
  }
  return musl;
}

/**
 * The prebuild folder name for this process: `linux-x64`, `win32-x64`, ...; on musl Linux
 * `linux-x64-musl` (none is shipped, so musl builds from source).
 */
export function prebuildTarget(): string {
  return `${process.platform}-${process.arch}${isMusl() ? '-musl' : ''}`;
}

/** Where this platform's prebuild would be, whether or not it is shipped. */
export function prebuildPath(): string {
  return path.join(packageRoot, 'prebuilds', prebuildTarget(), 'riopool.node');
}

/** The candidate paths, in the order they are tried. */
export function bindingPaths(): string[] {
  const paths: string[] = [];
  if (process.env.RIOPOOL_NATIVE_PATH) paths.push(path.resolve(process.env.RIOPOOL_NATIVE_PATH));
  paths.push(path.join(packageRoot, 'build', 'Release', 'riopool.node'));
  paths.push(path.join(packageRoot, 'build', 'Debug', 'riopool.node'));
  paths.push(prebuildPath());
  return paths;
}

function noAddon(message: string, cause?: unknown): Error {
  const e = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: string };
  e.code = NO_ADDON;
  return e;
}

const BUILD_HINT =
  'To build it from source (needs cmake >= 3.15 and a C++17 compiler; on Debian/Ubuntu ' +
  '`apt-get install cmake g++ make`): `npm rebuild @riopool/native`, or with pnpm ' +
  '`pnpm approve-builds` then `pnpm rebuild @riopool/native`; in a clone, `pnpm install`.';

let loaded: { path: string; exports: unknown } | undefined;

/** The path of the addon this process loaded, or undefined before the first load. */
export function loadedBindingPath(): string | undefined {
  return loaded?.path;
}

/** Loads the addon once (see the order above) and returns its exports. */
export function requireBinding(): unknown {
  if (loaded) return loaded.exports;
  const explicit = process.env.RIOPOOL_NATIVE_PATH;
  if (explicit && !fs.existsSync(path.resolve(explicit))) {
    throw noAddon(`riopool: RIOPOOL_NATIVE_PATH is set to ${explicit}, which does not exist.`);
  }
  const tried = bindingPaths();
  const found = tried.find((p) => fs.existsSync(p));
  if (!found) {
    throw noAddon(
      `riopool: no native addon for ${prebuildTarget()} (Node ${process.versions.node}): no ` +
        `prebuilt binary ships for this platform and none was built (looked in ${tried.join(', ')}). ` +
        BUILD_HINT,
    );
  }
  let exports: unknown;
  try {
    // The one require of a .node file in riopool.
    exports = require(found);
  } catch (e) {
    const prebuilt = found === prebuildPath();
    throw noAddon(
      `riopool: the native addon at ${found} does not load on this system ` +
        `(${process.platform}-${process.arch}, Node ${process.versions.node}): ${(e as Error).message}` +
        (prebuilt ? ` ${BUILD_HINT}` : ''),
      e,
    );
  }
  loaded = { path: found, exports };
  return exports;
}
