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

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'compile', '--out', 'build'];
log(`building from source: cmake-js compile --out build`);
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status === null ? 1 : result.status);
