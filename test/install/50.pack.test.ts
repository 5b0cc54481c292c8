/**
 * What the three publishable packages ship, from `npm pack --dry-run --json`: what runs, the
 * sources a native build from source needs, and nothing else; manifests that agree; and entry
 * points that load from CommonJS and from ES modules. `pnpm test` builds dist/ first (tsc -b).
 * The consumer test (test/install/run.sh) installs the real tarballs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const names = ['core', 'native', 'pool'] as const;
type Name = (typeof names)[number];

interface Manifest {
  name: string;
  version: string;
  main: string;
  types: string;
  engines: { node: string };
  exports: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
  files: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  binary?: { napi_versions: number[] };
}

const dir = (name: Name) => path.join(root, 'packages', name);
const manifest = (name: Name): Manifest => JSON.parse(fs.readFileSync(path.join(dir(name), 'package.json'), 'utf8'));

/** The files `npm pack` would put in the tarball, relative to the package. */
function packed(name: Name): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir(name),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [result] = JSON.parse(out) as [{ files: { path: string }[] }];
  return result.files.map((f) => f.path).sort();
}

const files = Object.fromEntries(names.map((n) => [n, packed(n)])) as Record<Name, string[]>;
const manifests = Object.fromEntries(names.map((n) => [n, manifest(n)])) as Record<Name, Manifest>;

/** Every file an entry point names: main, types, each exports target, each bin. */
function entryPoints(m: Manifest): string[] {
  const targets = [m.main, m.types, ...Object.values(m.bin ?? {})];
  for (const value of Object.values(m.exports)) {
    targets.push(...(typeof value === 'string' ? [value] : Object.values(value)));
  }
  return [...new Set(targets.map((t) => path.posix.normalize(t)))];
}

/**
 * The modules (dist paths without extension) reached from the entry points: `js` through
 * relative require() calls in the compiled JavaScript, starting from main, the exports, the
 * bins and the install script; `types` through relative imports in the declarations.
 */
function reached(name: Name): { js: Set<string>; types: Set<string> } {
  const m = manifests[name];
  const base = dir(name);
  const install = /^node (\S+)$/.exec(m.scripts?.install ?? '')?.[1];
  const roots = entryPoints(m).filter((t) => t.endsWith('.js'));
  const walk = (starts: string[], ext: string, pattern: RegExp) => {
    const seen = new Set<string>();
    const queue = [...starts];
    while (queue.length > 0) {
      const file = queue.pop()!;
      const text = fs.readFileSync(path.join(base, file), 'utf8');
      for (const match of text.matchAll(pattern)) {
        let target = path.posix.join(path.posix.dirname(file), match[1]!).replace(/(\.d\.ts|\.js)$/, '');
        if (fs.existsSync(path.join(base, target)) && fs.statSync(path.join(base, target)).isDirectory()) target += '/index';
        if (!target.startsWith('dist/') || seen.has(target)) continue;
        seen.add(target);
        queue.push(target + ext);
      }
    }
    return seen;
  };
  const js = walk([...roots, ...(install ? [install] : [])], '.js', /require\(["'](\.{1,2}\/[^"']+)["']\)/g);
  // The compiled entry points (not a bin's launcher, which has no declarations) are modules too.
  const compiled = roots.filter((r) => r.startsWith('dist/'));
  for (const r of compiled) js.add(r.replace(/\.js$/, ''));
  const types = walk(
    compiled.map((r) => r.replace(/\.js$/, '.d.ts')),
    '.d.ts',
    /(?:from |import\()['"](\.{1,2}\/[^'"]+)['"]/g,
  );
  for (const r of compiled) types.add(r.replace(/\.js$/, ''));
  return { js, types };
}

/** What may ship: compiled JS and declarations; for native the build inputs and prebuilds. */
const allowed: Record<Name, RegExp[]> = {
  core: [/^dist\/.+\.(js|d\.ts)$/],
  native: [
    /^dist\/.+\.(js|d\.ts)$/,
    /^src\/[a-z_]+\.(cc|h)$/,
    /^CMakeLists\.txt$/,
    /^compile-flags\.txt$/,
    /^scripts\/install\.js$/,
    /^prebuilds\/(linux|win32)-x64\/riopool\.node$/,
  ],
  pool: [/^dist\/.+\.(js|d\.ts)$/, /^bin\/riopool\.js$/],
};
const always = /^(package\.json|README\.md|LICENSE)$/;

describe.each(names)('@riopool/%s: npm pack', (name) => {
  test('ships only what runs (and, for native, what a source build needs)', () => {
    const stray = files[name].filter((f) => !always.test(f) && !allowed[name].some((re) => re.test(f)));
    expect(stray).toEqual([]);
    // Never tests, TypeScript sources, source maps or build folders.
    expect(files[name].filter((f) => /(^|\/)test\/|(?<!\.d)\.ts$|\.map$|^build/.test(f))).toEqual([]);
  });

  test('ships every entry point its manifest names', () => {
    for (const target of entryPoints(manifests[name])) {
      if (target === 'package.json') continue;
      expect(files[name]).toContain(target);
    }
  });

  test('ships exactly the compiled modules its entry points reach, each with its declarations', () => {
    const { js, types } = reached(name);
    const modules = new Set([...js, ...types]);
    const shipped = files[name].filter((f) => f.startsWith('dist/'));
    const stray = shipped.filter((f) => !modules.has(f.replace(/(\.d\.ts|\.js)$/, '')));
    expect(stray).toEqual([]);
    for (const m of js) expect(shipped).toEqual(expect.arrayContaining([`${m}.js`, `${m}.d.ts`]));
    for (const m of types) expect(shipped).toContain(`${m}.d.ts`);
  });

  test('exports: types, import and require for "." and each subpath, and package.json', () => {
    const m = manifests[name];
    expect(m.exports['.']).toEqual({ types: m.types, import: m.main, require: m.main });
    for (const [key, value] of Object.entries(m.exports)) {
      if (key === './package.json') {
        expect(value).toBe('./package.json');
        continue;
      }
      const js = (value as Record<string, string>).require!;
      expect(js).toMatch(/^\.\/dist\/.+\.js$/);
      expect(value).toEqual({ types: js.replace(/\.js$/, '.d.ts'), import: js, require: js });
    }
    expect(m.engines.node).toBe('>=20');
  });
});

describe('the three manifests', () => {
  test('one version, and the workspace dependencies between them', () => {
    const version = manifests.core.version;
    expect(manifests.native.version).toBe(version);
    expect(manifests.pool.version).toBe(version);
    // pnpm pack rewrites workspace:* to the version (test/install/run.sh checks the tarball).
    expect(manifests.pool.dependencies).toEqual({ '@riopool/core': 'workspace:*', '@riopool/native': 'workspace:*' });
  });

  test('pool: the riopool command is a committed launcher (there before any build) with a node shebang', () => {
    const bin = path.posix.normalize(manifests.pool.bin!.riopool!);
    expect(bin).toBe('bin/riopool.js');
    // Tracked by git and executable, so a fresh clone's `pnpm install` links it without a warning.
    const staged = execFileSync('git', ['ls-files', '--stage', '--', bin], { cwd: dir('pool'), encoding: 'utf8' });
    expect(staged).toMatch(/^100755 /);
    const text = fs.readFileSync(path.join(dir('pool'), bin), 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(files.pool).toContain('dist/cli/main.js'); // what it loads ships with it
  });

  test('pool: the launcher runs the CLI, and before a build says to build', () => {
    const launcher = path.join(dir('pool'), manifests.pool.bin!.riopool!);
    const version = execFileSync(process.execPath, [launcher, '--version'], { encoding: 'utf8' });
    expect(version).toBe(`${manifests.pool.version}\n`);
    // A copy with no dist/ beside it, as in a clone before `pnpm build`.
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'riopool-bin-'));
    fs.mkdirSync(path.join(bare, 'bin'));
    fs.copyFileSync(launcher, path.join(bare, 'bin', 'riopool.js'));
    let failed: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [path.join(bare, 'bin', 'riopool.js'), '--version'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      failed = e as { status: number; stderr: string };
    }
    expect(failed?.status).toBe(1);
    expect(failed?.stderr).toMatch(/not built yet .* run `pnpm build`/);
  });

  test('native: the sources a build from source needs, the install script, Node-API 8', () => {
    const sources = fs.readdirSync(path.join(dir('native'), 'src')).filter((f) => /\.(cc|h)$/.test(f));
    expect(sources).toContain('addon.cc');
    for (const f of sources) expect(files.native).toContain(`src/${f}`);
    expect(files.native).toContain('CMakeLists.txt');
    expect(files.native).toContain('compile-flags.txt'); // CMakeLists.txt reads its flags from it
    expect(files.native).toContain('scripts/install.js');
    expect(manifests.native.scripts?.install).toBe('node scripts/install.js');
    // cmake-js 8 builds offline (node-api-headers, no header download) only with this.
    expect(manifests.native.binary).toEqual({ napi_versions: [8] });
    // Installed with it: only node-addon-api's headers (CMakeLists.txt reads them from the
    // package's folder). cmake-js, which only a build needs, is a devDependency pinned to one
    // version: the workspace builds with it, and the install script fetches that version when an
    // installed package must build (it reads the pin from here).
    expect(manifests.native.dependencies).toEqual({ 'node-addon-api': expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(manifests.native.devDependencies?.['cmake-js']).toMatch(/^\d+\.\d+\.\d+$/);
    const install = fs.readFileSync(path.join(dir('native'), 'scripts/install.js'), 'utf8');
    expect(install).toContain("require('../package.json').devDependencies['cmake-js']");
  });

  test('native: the prebuilds on disk are exactly the ones packed', () => {
    const prebuilds = path.join(dir('native'), 'prebuilds');
    const onDisk = fs.existsSync(prebuilds)
      ? fs.readdirSync(prebuilds).flatMap((target) => fs.readdirSync(path.join(prebuilds, target)).map((f) => `prebuilds/${target}/${f}`))
      : [];
    expect(files.native.filter((f) => f.startsWith('prebuilds/'))).toEqual(onDisk.sort());
  });
});

/** Every exports entry as [package, subpath, file]. */
const exportEntries = names.flatMap((name) =>
  Object.entries(manifests[name].exports)
    .filter(([key]) => key !== './package.json')
    .map(([key, value]) => [name, key, (value as Record<string, string>).require!] as const),
);

describe('entry points from CommonJS and from ES modules', () => {
  test.each(exportEntries)('@riopool/%s, export %s: import gives the same named exports as require', (name, _key, file) => {
    const entry = path.join(dir(name), file);
    const script = `
      import { createRequire } from 'node:module';
      const esm = await import(${JSON.stringify(entry)});
      const cjs = createRequire(import.meta.url)(${JSON.stringify(entry)});
      const missing = Object.keys(cjs).filter((k) => !(k in esm) || esm[k] !== cjs[k]);
      console.log(JSON.stringify({ names: Object.keys(cjs).length, missing }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const result = JSON.parse(out) as { names: number; missing: string[] };
    expect(result.missing).toEqual([]);
    expect(result.names).toBeGreaterThan(0);
  });
});
