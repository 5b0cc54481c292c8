// The loader (src/load.ts): which addon file is loaded, in which order, and what a user is told
// when none fits. Each case lays out a package folder (the compiled dist/ plus addon files where
// the case needs them) and loads it in a child node, as an installed package is loaded.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bindingPaths, loadedBindingPath, prebuildPath, prebuildTarget, NO_ADDON } from '@riopool/native';
import { native } from './helpers';

const pkg = path.resolve(__dirname, '..');
/** The addon this test process loaded: a real, loadable riopool.node. */
const addon = loadedBindingPath()!;
const temps: string[] = [];
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A package folder with dist/ and the given addon files (relative path -> source file). */
function layout(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'riopool-load-'));
  temps.push(dir);
  fs.cpSync(path.join(pkg, 'dist'), path.join(dir, 'dist'), { recursive: true });
  for (const [rel, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.copyFileSync(src, path.join(dir, rel));
  }
  return dir;
}

/** Loads the package in `dir` in a child; returns what was loaded or the error thrown. */
function load(dir: string, env: Record<string, string> = {}) {
  const script = `
    const n = require(${JSON.stringify(path.join(dir, 'dist', 'index.js'))});
    try {
      const b = n.loadBinding();
      console.log(JSON.stringify({ loaded: n.loadedBindingPath(), pageSize: b.pageSize() }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, message: e.message }));
    }`;
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('RIOPOOL_NATIVE_PATH' in env)) delete childEnv.RIOPOOL_NATIVE_PATH;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: childEnv });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    loaded?: string;
    pageSize?: number;
    code?: string;
    message?: string;
  };
}

const here = (dir: string, rel: string) => path.join(dir, rel);
const PREBUILD = `prebuilds/${process.platform}-${process.arch}/riopool.node`;

describe('the binding loader', () => {
  test('this process loaded one of the candidates, which are in the documented order', () => {
    const paths = bindingPaths();
    expect(paths).toContain(addon);
    const tail = paths.slice(-3).map((p) => path.relative(pkg, p).split(path.sep).join('/'));
    expect(tail).toEqual(['build/Release/riopool.node', 'build/Debug/riopool.node', `prebuilds/${prebuildTarget()}/riopool.node`]);
    expect(prebuildPath()).toBe(path.join(pkg, 'prebuilds', prebuildTarget(), 'riopool.node'));
    expect(native.pageSize()).toBeGreaterThan(0);
  });

  test('the prebuild folder is <platform>-<arch> (glibc Linux has no suffix)', () => {
    const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
    const suffix = process.platform === 'linux' && glibc === undefined ? '-musl' : '';
    expect(prebuildTarget()).toBe(`${process.platform}-${process.arch}${suffix}`);
  });

  test('a prebuild alone is loaded: no build step needed', () => {
    const dir = layout({ [PREBUILD]: addon });
    expect(load(dir)).toEqual({ loaded: here(dir, PREBUILD), pageSize: native.pageSize() });
  });

  test('a source build wins over the prebuild, Release over Debug', () => {
    const dir = layout({ [PREBUILD]: addon, 'build/Debug/riopool.node': addon, 'build/Release/riopool.node': addon });
    expect(load(dir).loaded).toBe(here(dir, 'build/Release/riopool.node'));
    fs.rmSync(here(dir, 'build/Release'), { recursive: true });
    expect(load(dir).loaded).toBe(here(dir, 'build/Debug/riopool.node'));
  });

  test('RIOPOOL_NATIVE_PATH wins over everything, and must exist', () => {
    const dir = layout({ [PREBUILD]: addon, 'build/Release/riopool.node': addon, 'elsewhere/riopool.node': addon });
    expect(load(dir, { RIOPOOL_NATIVE_PATH: here(dir, 'elsewhere/riopool.node') }).loaded).toBe(here(dir, 'elsewhere/riopool.node'));
    const missing = load(dir, { RIOPOOL_NATIVE_PATH: here(dir, 'nowhere.node') });
    expect(missing.code).toBe(NO_ADDON);
    expect(missing.message).toContain('RIOPOOL_NATIVE_PATH');
  });

  test('nothing to load: ERR_RIOPOOL_NO_ADDON names the platform, where it looked and how to build', () => {
    const dir = layout({});
    const r = load(dir);
    expect(r.code).toBe(NO_ADDON);
    expect(r.message).toContain(prebuildTarget());
    expect(r.message).toContain(here(dir, PREBUILD));
    expect(r.message).toContain('npm rebuild @riopool/native');
    expect(r.message).toContain('cmake');
  });

  test('a prebuild that does not load is an error that says so, not a crash', () => {
    const dir = layout({ [PREBUILD]: path.join(pkg, 'CMakeLists.txt') });
    const r = load(dir);
    expect(r.code).toBe(NO_ADDON);
    expect(r.message).toContain('does not load on this system');
    expect(r.message).toContain('npm rebuild @riopool/native');
  });
});
