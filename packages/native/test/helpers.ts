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

export { isLinux, isRoot, canDropPrivileges, aTypeError, withCode } from '../../../test/support';

/** Runs a script in a child node process (see test/support). */
export { runNode as runChild } from '../../../test/support';

/** The require() line a child uses to load the same binding this process loaded. */
export const requireNative = `const native = require(${JSON.stringify(
  require.resolve('../src/index.ts').replace(/src[\\/]index\.ts$/, 'dist/index.js'),
)}).loadBinding();`;
