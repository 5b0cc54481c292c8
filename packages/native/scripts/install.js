#!/usr/bin/env node
'use strict';
/**
 * @riopool/native's install script. The package does not need it where a prebuilt binary fits
 * (linux-x64 with glibc, win32-x64): pnpm 10 and npm 11 block dependencies' install scripts by
 * default (npm until the project's allowScripts lists the package), and what they install works.
 * When it does run:
 *
 *   - in an installed package: if the prebuild for this platform loads, there is nothing to do;
 *     otherwise (another platform, musl, or RIOPOOL_BUILD_FROM_SOURCE=1 / npm's
 *     --build-from-source, which npm 11 accepts with a warning) it builds from source with
 *     cmake-js into build/;
 *   - in a clone (the workspace has packages/native/tsconfig.json, which is not shipped): it
 *     always builds from source, so the addon follows the C++ being edited.
 *
 * A source build needs cmake, a C++17 compiler and make (or ninja); without them this script says what to
 * install and exits 1, before cmake-js prints a less helpful error.
 *
 * cmake-js (and its ~40 dependencies) is not a dependency of @riopool/native: where the prebuild is
 * used nothing builds, so nothing of the build's tooling is installed. It is a devDependency,
 * pinned (package.json), so a clone builds with the workspace's own copy, offline. An installed
 * package that must build uses a cmake-js of that major version if one resolves from here, else
 * fetches the pinned one with `npm exec` (npm's cache; the registry the user's npm is set up for).
 * node-addon-api stays a dependency: CMakeLists.txt reads its headers from this package's folder,
 * and it is headers only (about 400 kB, no dependencies).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const log = (line) => process.stderr.write(`@riopool/native: ${line}\n`);

const sourceCheckout = fs.existsSync(path.join(root, 'tsconfig.json'));
const forced = process.env.RIOPOOL_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true';

if (!sourceCheckout && !forced) {
  const { prebuildPath, prebuildTarget } = require('../dist/load.js');
  const prebuilt = prebuildPath();
  if (fs.existsSync(prebuilt)) {
    try {
      require(prebuilt);
      log(`using the prebuilt addon for ${prebuildTarget()}; nothing to build`);
      process.exit(0);
    } catch (e) {
      log(`the prebuilt addon for ${prebuildTarget()} does not load (${e.message}); building from source`);
    }
  } else {
    log(`no prebuilt addon for ${prebuildTarget()}; building from source`);
  }
}

/** The first of the names found on PATH (or the absolute path given), else null. */
function which(names) {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT || '.EXE').split(';') : [''];
  for (const name of names) {
    if (!name) continue;
    if (path.isAbsolute(name)) {
      if (fs.existsSync(name)) return name;
      continue;
    }
    for (const dir of (process.env.PATH || '').split(path.delimiter)) {
      for (const ext of exts) {
        const candidate = path.join(dir, name + ext);
        try {
          fs.accessSync(candidate, fs.constants.X_OK);
          return candidate;
        } catch {
          // not here
        }
      }
    }
  }
  return null;
}

const missing = [];
if (!which(['cmake'])) missing.push('cmake (3.15 or newer)');
// On Windows cmake-js finds Visual Studio itself; elsewhere a compiler must be on PATH.
if (process.platform !== 'win32') {
  const cxx = (process.env.CXX || '').split(' ')[0];
  if (!which([cxx, 'c++', 'g++', 'clang++'])) missing.push('a C++17 compiler (g++ 8+ or clang++ 7+)');
  // cmake-js generates for ninja when it is there, else for make.
  if (!which(['ninja', 'make'])) missing.push('make (or ninja)');
}
if (missing.length > 0) {
  const hints = {
    linux:
      'Debian/Ubuntu: `apt-get install cmake g++ make`; Fedora: `dnf install cmake gcc-c++ make`; ' + 'Alpine: `apk add cmake g++ make`',
    darwin: '`xcode-select --install` and `brew install cmake`',
    win32: 'Visual Studio Build Tools with "Desktop development with C++", and CMake',
  };
  const then = sourceCheckout
    ? '`pnpm install` again.\n  A clone always builds the addon from source; installed packages ship prebuilt binaries.'
    : '`npm rebuild @riopool/native` (pnpm: `pnpm rebuild @riopool/native`).\n' +
      '  Prebuilt binaries ship for linux-x64 (glibc) and win32-x64 only.';
  log(
    `cannot build the native addon from source for ${process.platform}-${process.arch}: ` +
      `missing ${missing.join(' and ')}.\n` +
      `  Install them (${hints[process.platform] || 'cmake and a C++17 compiler'}), then run ${then}`,
  );
  process.exit(1);
}

const pinned = require('../package.json').devDependencies['cmake-js'];
const major = (version) => version.split('.')[0];

/** A cmake-js that resolves from this package (the workspace's devDependency, or the user's own) of the pinned major, else null. */
function localCmakeJs() {
  let manifest;
  try {
    manifest = require.resolve('cmake-js/package.json', { paths: [root] });
  } catch {
    return null;
  }
  const { version } = require(manifest);
  if (major(version) !== major(pinned)) {
    log(`cmake-js ${version} at ${path.dirname(manifest)} is not version ${major(pinned)}; using cmake-js@${pinned}`);
    return null;
  }
  return { bin: path.join(path.dirname(manifest), 'bin', 'cmake-js'), version };
}

/** Runs a command in this package's folder with the output shown; exits with its status. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  process.exit(result.status === null ? 1 : result.status);
}

const compile = ['compile', '--out', 'build'];
const local = localCmakeJs();
if (local !== null) {
  log(`building from source: cmake-js ${local.version} compile --out build`);
  run(process.execPath, [local.bin, ...compile]);
}
if (sourceCheckout) {
  // A clone builds with the workspace's devDependency, never with a download.
  log('cmake-js is not installed: it is a devDependency of @riopool/native; run `pnpm install` in the repository');
  process.exit(1);
}
// npm exec with the location settings of the npm (or pnpm) running this script dropped: under
// `npm install -g`, npm_config_global would make the nested npm look for a global cmake-js.
const env = { ...process.env };
for (const key of Object.keys(env)) {
  if (/^npm_config_(global|location|prefix)$/i.test(key)) delete env[key];
}
log(`building from source: fetching cmake-js@${pinned} with npm (a prebuilt addon needs no build tool, so none is installed)`);
run('npm', ['exec', '--yes', `--package=cmake-js@${pinned}`, '--', 'cmake-js', ...compile], {
  env,
  shell: process.platform === 'win32', // npm is npm.cmd there
});
