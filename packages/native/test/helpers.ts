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

/** Runs a script in a child node process (see test/support/child.ts). */
export { runNode as runChild } from '../../../test/support/child';

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
