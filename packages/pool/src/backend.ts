/**
 * Binds core to native: a Registrar over the addon's Backend, and the choice of backend.
 *
 * Choice: `options.backend`, else RIOPOOL_BACKEND, else the platform's best (`uring` on Linux,
 * `rio` on Windows, `lock` elsewhere). The chosen backend is probed at open: it must open and
 * register (then deregister) one page. If that fails, the pool falls back to a weaker backend
 * only when the caller allowed it (`fallback: 'lock' | 'none'`); each step down is recorded,
 * counted in stats and reported as a process warning. Without `fallback`, the failure is thrown.
 */
import { RioError, isRioError, shown, type Pinning, type Registrar, type RioErrorCode } from '@riopool/core';
import {
  NO_ADDON,
  loadBinding as loadNative,
  isNativeError,
  adviceFor,
  type BackendKind,
  type Binding,
  type MemoryStatus,
  type NativeBackend,
  type Ring,
} from '@riopool/native';
import { emitRiopoolWarning } from './warnings';

export type { BackendKind };
export type Fallback = 'lock' | 'none';

/** One step down from the backend asked for. */
export interface FallbackRecord {
  from: BackendKind;
  to: BackendKind;
  reason: string;
}

const STRENGTH: BackendKind[] = ['uring', 'rio', 'lock', 'none'];

/** How each backend holds registered memory (core's Pinning): the one place this is decided. */
export const PINNING: Record<BackendKind, Pinning> = {
  uring: 'per-registration',
  rio: 'per-registration',
  lock: 'per-page',
  none: 'none',
};

export function defaultBackend(platform: NodeJS.Platform = process.platform): BackendKind {
  if (platform === 'linux') return 'uring';
  if (platform === 'win32') return 'rio';
  return 'lock';
}

const NATIVE_TO_RIO: Record<string, RioErrorCode> = {
  EFAULT: 'ERR_RIO_INVALID_BUFFER',
  EINVAL: 'ERR_RIO_INVALID_LENGTH',
  ENOMEM: 'ERR_RIO_MEMLOCK',
  EPERM: 'ERR_RIO_MEMLOCK',
  EAGAIN: 'ERR_RIO_MEMLOCK',
  ENOSPC: 'ERR_RIO_TOO_MANY_REGISTRATIONS',
};

/** What a failed call was doing, for the advice (@riopool/native's adviceFor). */
type Call = Parameters<typeof adviceFor>[1];

/** Turns an addon error into a RioError: its message, the advice for it, its code. */
export function fromNative(e: unknown, what: string, call: Call = 'other', codes: Record<string, RioErrorCode> = NATIVE_TO_RIO): unknown {
  if (isRioError(e) || !isNativeError(e)) return e;
  const code = codes[e.code] ?? 'ERR_RIO_BACKEND';
  const advice = adviceFor(e, call);
  return new RioError(code, `${what}: ${e.message}${advice === undefined ? '' : `: ${advice}`} [${e.code}]`, { cause: e });
}

// A failed map is not a lock limit: ENOMEM there means the address space or memory is short.
const MAP_CODES: Record<string, RioErrorCode> = { EINVAL: 'ERR_RIO_INVALID_LENGTH' };

/**
 * What a pool needs of its registrar beyond core's Registrar: the footprint's process figures
 * and residency, closing, and the ring of registered I/O. NativeRegistrar (below) implements it
 * over the addon; @riopool/pool/testing's in-memory pool over core's MemoryRegistrar.
 */
export interface PoolRegistrar extends Registrar {
  readonly backend: BackendKind | 'memory';
  residentBytes(buffer: ArrayBuffer): number | null;
  memoryStatus(): MemoryStatus;
  /** Closes the backend (and its ring, once `keepOpenWhile`'s operations are done). */
  close(): void;
  /** The backend's ring of registered I/O, or why there is none. */
  ring(): Ring | string;
  /**
   * Keeps the backend open while the ring has operations in flight that hold no lease (an
   * accept, a socket's close), which the pool's close() does not wait for: close() then closes
   * the backend when `io` next becomes idle.
   */
  keepOpenWhile(io: { readonly pending: number; onIdle: (() => void) | undefined }): void;
}

/**
 * Core's Registrar over one native backend (the addon's Backend object), and the pool's one way
 * to the addon's memory calls: the footprint's process figures and residency come through here.
 */
export class NativeRegistrar implements PoolRegistrar {
  readonly pageSize: number;
  readonly backend: BackendKind;
  readonly pinning: Pinning;
  readonly capacity: number;
  readonly maxRegistrationBytes: number;
  /** The ring's operations, once the uring datapath runs on it (see close). */
  #io: { readonly pending: number; onIdle: (() => void) | undefined } | undefined;

  constructor(
    private readonly native: Binding,
    private readonly opened: NativeBackend,
  ) {
    this.pageSize = native.pageSize();
    this.backend = opened.kind as BackendKind;
    this.pinning = PINNING[this.backend];
    this.capacity = opened.capacity;
    this.maxRegistrationBytes = native.info().limits.maxRegistrationBytes;
  }

  /** Resident bytes of a mapping (mincore), or null where the OS cannot tell. */
  residentBytes(buffer: ArrayBuffer): number | null {
    const pages = this.native.residency(buffer);
    return pages === null ? null : pages * this.pageSize;
  }

  /** The process's pinned, locked and resident bytes; null where the OS does not say. */
  memoryStatus(): MemoryStatus {
    return this.native.memoryStatus();
  }

  map(bytes: number): ArrayBuffer {
    try {
      return this.native.map(bytes);
    } catch (e) {
      throw fromNative(e, 'map', 'other', MAP_CODES);
    }
  }

  register(buffer: ArrayBuffer): number {
    try {
      return this.opened.register(buffer);
    } catch (e) {
      throw fromNative(e, `register (${this.backend})`, 'register');
    }
  }

  deregister(bufferId: number): void {
    try {
      this.opened.deregister(bufferId);
    } catch (e) {
      throw fromNative(e, `deregister (${this.backend})`, 'deregister');
    }
  }

  unmap(buffer: ArrayBuffer): void {
    try {
      this.native.unmap(buffer);
    } catch (e) {
      throw fromNative(e, 'unmap', 'unmap');
    }
  }

  close(): void {
    const io = this.#io;
    if (io !== undefined && io.pending > 0) io.onIdle = () => this.opened.close();
    else this.opened.close();
  }

  keepOpenWhile(io: { readonly pending: number; onIdle: (() => void) | undefined }): void {
    this.#io = io;
  }

  ring(): Ring | string {
    return this.opened.ring() ?? `the pool's backend is ${this.backend}, which has no ring`;
  }
}

export interface OpenOptions {
  backend?: BackendKind;
  fallback?: Fallback;
  /** io_uring / RIO table entries (1 .. 16,384). */
  entries?: number;
}

function probe(native: Binding, kind: BackendKind, entries: number | undefined): NativeRegistrar {
  let opened: NativeBackend;
  try {
    opened = new native.Backend(kind, entries);
  } catch (e) {
    throw fromNative(e, `open backend '${kind}'`, 'open');
  }
  const page = native.map(native.pageSize());
  try {
    opened.deregister(opened.register(page));
  } catch (e) {
    opened.close();
    throw fromNative(e, `backend '${kind}' could not register one page`, 'register');
  } finally {
    native.unmap(page);
  }
  return new NativeRegistrar(native, opened);
}

/**
 * The addon, as the pool package loads it: a missing or unloadable addon is a RioError
 * ERR_RIO_NO_ADDON (the native package's ERR_RIOPOOL_NO_ADDON, whose message says how to build
 * one, is its cause and lends its message).
 */
export function loadBinding(): Binding {
  try {
    return loadNative();
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === NO_ADDON) throw new RioError('ERR_RIO_NO_ADDON', (e as Error).message, { cause: e });
    throw new RioError('ERR_RIO_BACKEND', `the native addon failed to load: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** The backend asked for: the option, else RIOPOOL_BACKEND, else the platform's best. */
export function chooseBackend(asked?: BackendKind): BackendKind {
  return asked ?? (process.env.RIOPOOL_BACKEND as BackendKind | undefined) ?? defaultBackend();
}

/** Opens the backend asked for, stepping down only as far as `fallback` allows. */
export function openBackend(options: OpenOptions = {}): { registrar: NativeRegistrar; fallbacks: FallbackRecord[] } {
  const native = loadBinding();
  const compiled = native.info().backends;
  const asked = chooseBackend(options.backend);
  if (!STRENGTH.includes(asked) || !compiled.includes(asked)) {
    throw new RioError('ERR_RIO_INVALID_OPTION', `backend ${shown(asked)} is not available here; this build has: ${compiled.join(', ')}`);
  }
  if (options.fallback !== undefined && options.fallback !== 'lock' && options.fallback !== 'none') {
    throw new RioError('ERR_RIO_INVALID_OPTION', `fallback must be 'lock' or 'none', got ${shown(options.fallback)}`);
  }
  const entries = options.entries;
  const { maxRegistrations } = native.info().limits;
  if (entries !== undefined && (typeof entries !== 'number' || !Number.isInteger(entries) || entries < 1 || entries > maxRegistrations)) {
    throw new RioError('ERR_RIO_INVALID_OPTION', `entries must be an integer from 1 to ${maxRegistrations}, got ${shown(entries)}`);
  }
  const floor = options.fallback !== undefined ? STRENGTH.indexOf(options.fallback) : STRENGTH.indexOf(asked);
  const chain = [asked, ...STRENGTH.filter((k, i) => i > STRENGTH.indexOf(asked) && i <= floor && compiled.includes(k))];
  const fallbacks: FallbackRecord[] = [];
  for (let i = 0; ; i++) {
    const kind = chain[i]!;
    try {
      return { registrar: probe(native, kind, options.entries), fallbacks };
    } catch (e) {
      const next = chain[i + 1];
      if (next === undefined) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      fallbacks.push({ from: kind, to: next, reason });
      emitRiopoolWarning('RIOPOOL_FALLBACK', `riopool: backend '${kind}' failed, falling back to '${next}' as asked: ${reason}`);
    }
  }
}
