import { spawnSync } from 'node:child_process';
import { loadBinding } from '@riopool/native';

export const native = loadBinding();
export const KiB = 1024;
export const PAGE = native.pageSize();

/** VmPin / VmLck now, in bytes (Linux). */
export function pinned(): number {
  return native.memoryStatus().pinned ?? NaN;
}
export function locked(): number {
  return native.memoryStatus().locked ?? NaN;
}

export const isLinux = process.platform === 'linux';
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a script in a child node process; returns its parsed last stdout line (JSON). */
export function runChild(
  script: string,
  opts: { nodeArgs?: string[]; asNobody?: boolean } = {},
): { json: any; status: number | null; stderr: string } {
  const nodeArgs = [...(opts.nodeArgs ?? []), '-e', script];
  const cmd = opts.asNobody ? 'setpriv' : process.execPath;
  const args = opts.asNobody
    ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...nodeArgs]
    : nodeArgs;
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env } });
  const lines = (r.stdout ?? '').trim().split('\n');
  let json: any = null;
  try {
    json = JSON.parse(lines[lines.length - 1] ?? 'null');
  } catch {
    json = null;
  }
  return { json, status: r.status, stderr: r.stderr ?? '' };
}

/** The require() line a child uses to load the same binding this process loaded. */
export const requireNative = `const native = require(${JSON.stringify(
  require.resolve('../src/index.ts').replace(/src[\\/]index\.ts$/, 'dist/index.js'),
)}).loadBinding();`;

/**
 * Jest runs tests in their own realm, so `toThrow(TypeError)` does not match a TypeError made
 * by the addon (main realm). Match by name instead.
 */
export const aTypeError = expect.objectContaining({ name: 'TypeError' });
/** An error with an errno-style code from the addon. */
export const withCode = (code: string) => expect.objectContaining({ code });
