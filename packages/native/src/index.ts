/**
 * @riopool/native: loads the addon and gives the types of what it exports.
 *
 * Nothing else in riopool requires the `.node` file: src/load.ts finds it, in order, at
 * RIOPOOL_NATIVE_PATH, in a source build (build/Release, build/Debug), then in the prebuilt
 * binary for this platform (prebuilds/<platform>-<arch>/riopool.node).
 *
 * Every primitive is a thin call into the OS with no policy; see src/prim.h and src/backend.h
 * for the preconditions, src/types.ts for the types. Failures throw an Error with an errno-style `code` (EFAULT, EINVAL,
 * ENOMEM, EPERM, ENOSPC, EBUSY, EBADF, ENOSYS, EIO); wrong argument types throw a TypeError.
 */
import { requireBinding } from './load';
import type { Binding, NativeError } from './types';

export { bindingPaths, prebuildPath, prebuildTarget, loadedBindingPath, NO_ADDON } from './load';

export type { BackendKind, MemoryStatus, NativeInfo, NativeBackend, Ring, CompletionHandler, Binding, NativeError } from './types';
export { limitAdvice, adviceFor } from './advice';

/** By shape, not instanceof: errors from another realm (a vm context, a test runner) count too. */
export function isNativeError(e: unknown): e is NativeError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as Partial<NativeError>).code === 'string' &&
    typeof (e as Partial<NativeError>).message === 'string'
  );
}

/**
 * The addon, loaded once. Throws an Error with code ERR_RIOPOOL_NO_ADDON (NO_ADDON) when no
 * binary fits this platform or the one found does not load; its message says how to build one.
 */
export function loadBinding(): Binding {
  return requireBinding() as Binding;
}
