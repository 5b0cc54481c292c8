/**
 * @riopool/native: loads the addon and gives the types of what it exports.
 *
 * Nothing else in riopool requires the `.node` file: src/load.ts finds it, in order, at
 * RIOPOOL_NATIVE_PATH, in a source build (build/Release, build/Debug), then in the prebuilt
 * binary for this platform (prebuilds/<platform>-<arch>/riopool.node).
 *
 * Every primitive is a thin call into the OS with no policy; see src/prim.h and src/backend.h
 * for the preconditions. Failures throw an Error with an errno-style `code` (EFAULT, EINVAL,
 * ENOMEM, EPERM, ENOSPC, EBUSY, EBADF, ENOSYS, EIO); wrong argument types throw a TypeError.
 */
import { requireBinding } from './load';

export { bindingPaths, prebuildPath, prebuildTarget, loadedBindingPath, NO_ADDON } from './load';

/** How registration is done: io_uring fixed buffers, Windows RIO, mlock only, or nothing. */
export type BackendKind = 'uring' | 'rio' | 'lock' | 'none';

/** Process memory in bytes; null where the OS does not say (VmPin and VmLck are Linux's). */
export interface MemoryStatus {
  pinned: number | null;
  locked: number | null;
  rss: number | null;
}

export interface NativeInfo {
  pageSize: number;
  /** The backends' limits, from their one home in the addon (backend.h). */
  limits: { maxRegistrations: number; maxRegistrationBytes: number };
  /** The backends compiled into this build. */
  backends: BackendKind[];
  liveMappings: number;
  mappedBytes: number;
  maps: number;
  explicitUnmaps: number;
  finalizerUnmaps: number;
  finalizerSkips: number;
}

/** One backend instance; for `uring`, one io_uring with a sparse fixed-buffer table. */
export interface NativeRegistrar {
  /** Registers [offset, offset + length) of a mapping; returns its buffer id. */
  register(arrayBuffer: ArrayBuffer, offset?: number, length?: number): number;
  deregister(bufferId: number): void;
  /** Deregisters everything and releases the backend. Idempotent. */
  close(): void;
  readonly kind: BackendKind | 'closed';
  /** True when registration locks or pins memory. */
  readonly locks: boolean;
  /** Registrations that may be live at once (16,384 for io_uring). */
  readonly capacity: number;
  /** Registrations live now. */
  readonly size: number;

  // The registered-I/O datapath (uring only; ENOSYS elsewhere). docs/native.md, "Datapath".
  /** Completions reach `callback` in batches on Node's loop; the arrays are reused per batch. */
  ioStart(callback: (ops: Int32Array, results: Int32Array, count: number) => void): void;
  opAccept(op: number, listenFd: number): void;
  opConnect(op: number, fd: number, host: string, port: number): void;
  /** READ_FIXED into [offset, offset + length) of registration `bufferId`. */
  opReceive(op: number, fd: number, bufferId: number, offset: number, length: number): void;
  /** WRITE_FIXED from [offset, offset + length) of registration `bufferId`. */
  opSend(op: number, fd: number, bufferId: number, offset: number, length: number): void;
  opCancel(op: number, target: number): void;
  opShutdown(op: number, fd: number): void;
  opClose(op: number, fd: number): void;
  /** One io_uring_enter for everything queued; returns how many operations the kernel took. */
  submit(): number;
  /** Operations queued or in flight. */
  readonly inFlight: number;
}

export interface Binding {
  pageSize(): number;
  /** Whole pages of zeroed memory, page aligned; bytes must be a multiple of the page size (EINVAL). */
  map(bytes: number): ArrayBuffer;
  /** Detaches the ArrayBuffer (every view reads as length 0), then unmaps. False if done before. */
  unmap(arrayBuffer: ArrayBuffer): boolean;
  /** Resident pages of a mapping (mincore), or null where unknown. */
  residency(arrayBuffer: ArrayBuffer): number | null;
  memoryStatus(): MemoryStatus;
  info(): NativeInfo;
  Registrar: new (kind: BackendKind, entries?: number) => NativeRegistrar;
  /** A listening TCP socket on a numeric host: [fd, port]. */
  tcpListen(host: string, port: number, backlog: number): [number, number];
  /** An unconnected TCP socket of the host's family. */
  tcpSocket(host: string): number;
  /** Closes a socket no operation uses. */
  closeSocket(fd: number): void;
}

/** An error thrown by the addon: `code` is errno-style, `errno` the OS number (0 if none). */
export interface NativeError extends Error {
  code: string;
  errno: number;
  /** A refused lock or pin: the limit's name (RLIMIT_MEMLOCK on POSIX) ... */
  limit?: string;
  /** ... and its value in bytes (null: unlimited). limitAdvice() says how to raise it. */
  limitBytes?: number | null;
}

export { limitAdvice } from './limits';

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
