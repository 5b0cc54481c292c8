/**
 * Binds core to native: a Registrar over the addon, and the choice of backend.
 *
 * Choice: `options.backend`, else RIOPOOL_BACKEND, else the platform's best (`uring` on Linux,
 * `rio` on Windows, `lock` elsewhere). The chosen backend is probed at open: it must open and
 * register (then deregister) one page. If that fails, the pool falls back to a weaker backend
 * only when the caller allowed it (`fallback: 'lock' | 'none'`); each step down is recorded,
 * counted in stats and reported as a process warning. Without `fallback`, the failure is thrown.
 */
import { RioError, isRioError, type Pinning, type Registrar, type RioErrorCode } from '@riopool/core';
import {
  loadBinding,
  isNativeError,
  limitAdvice,
  type BackendKind,
  type Binding,
  type MemoryStatus,
  type NativeRegistrar,
} from '@riopool/native';
import type { Ring } from './io/ring';

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

/** Turns an addon error into a RioError: its message, the advice for a limit it names, its code. */
export function fromNative(e: unknown, what: string, codes: Record<string, RioErrorCode> = NATIVE_TO_RIO): unknown {
  if (isRioError(e) || !isNativeError(e)) return e;
  const code = codes[e.code] ?? 'ERR_RIO_BACKEND';
  const advice = limitAdvice(e);
  return new RioError(code, `${what}: ${e.message}${advice === undefined ? '' : `: ${advice}`} [${e.code}]`, { cause: e });
}

// A failed map is not a lock limit: ENOMEM there means the address space or memory is short.
const MAP_CODES: Record<string, RioErrorCode> = { EINVAL: 'ERR_RIO_INVALID_LENGTH' };

/** What a pool needs of its registrar beyond core's: process figures, residency, close. */
export interface BackendRegistrar extends Registrar {
  readonly backend: BackendKind | 'memory';
  residentBytes(buffer: ArrayBuffer): number | null;
  memoryStatus(): MemoryStatus;
  close(): void;
  /** The registered-I/O ring, or why there is none. */
  openRing(): { ring: Ring; sockets: Sockets } | string;
  /** The reactor on that ring, so that close() can wait for its last operation. */
  attachReactor?(reactor: { readonly pending: number; onIdle: (() => void) | undefined }): void;
}

/**
 * The core's Registrar over one native backend instance, and the pool's one way to the addon:
 * the footprint's process figures and residency come through here too.
 */
export class NativeBackendRegistrar implements BackendRegistrar {
  readonly pageSize: number;
  readonly backend: BackendKind;
  readonly pinning: Pinning;
  readonly capacity: number;
  readonly maxRegistrationBytes: number;

  constructor(
    private readonly native: Binding,
    private readonly registrar: NativeRegistrar,
  ) {
    this.pageSize = native.pageSize();
    this.backend = registrar.kind as BackendKind;
    this.pinning = PINNING[this.backend];
    this.capacity = registrar.capacity;
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
      throw fromNative(e, 'map', MAP_CODES);
    }
  }

  register(buffer: ArrayBuffer): number {
    try {
      return this.registrar.register(buffer);
    } catch (e) {
      throw fromNative(e, `register (${this.backend})`);
    }
  }

  deregister(bufferId: number): void {
    try {
      this.registrar.deregister(bufferId);
    } catch (e) {
      throw fromNative(e, `deregister (${this.backend})`);
    }
  }

  unmap(buffer: ArrayBuffer): void {
    try {
      this.native.unmap(buffer);
    } catch (e) {
      throw fromNative(e, 'unmap');
    }
  }

  /**
   * Closes the backend, and with it the ring. With ring operations still in flight (an accept, a
   * socket's close: operations that hold no lease, so the pool's close did not wait for them),
   * the ring closes when the last of them completes.
   */
  close(): void {
    const io = this.io;
    if (io !== undefined && io.pending > 0) io.onIdle = () => this.registrar.close();
    else this.registrar.close();
  }

  /** The reactor of the ring, once the datapath started (see close). */
  private io: { readonly pending: number; onIdle: (() => void) | undefined } | undefined;

  /** Tells close() which reactor runs on the ring. */
  attachReactor(reactor: { readonly pending: number; onIdle: (() => void) | undefined }): void {
    this.io = reactor;
  }

  /**
   * The ring of the `uring` backend as the datapath's Ring (io/ring.ts), started on Node's loop;
   * or why there is none (another backend, an addon built without the notifier).
   */
  openRing(): { ring: Ring; sockets: Sockets } | string {
    if (this.backend !== 'uring') return `the pool's backend is ${this.backend}, not uring`;
    const r = this.registrar;
    let handler: ((ops: Int32Array, results: Int32Array, count: number) => void) | undefined;
    try {
      r.ioStart((ops, results, count) => handler?.(ops, results, count));
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    const ring: Ring = {
      accept: (op, fd) => r.opAccept(op, fd),
      connect: (op, fd, host, port) => r.opConnect(op, fd, host, port),
      receive: (op, fd, id, offset, length) => r.opReceive(op, fd, id, offset, length),
      send: (op, fd, id, offset, length) => r.opSend(op, fd, id, offset, length),
      cancel: (op, target) => r.opCancel(op, target),
      shutdown: (op, fd) => r.opShutdown(op, fd),
      close: (op, fd) => r.opClose(op, fd),
      submit: () => r.submit(),
      onCompletions: (h) => {
        handler = h;
      },
    };
    const n = this.native;
    const sockets: Sockets = {
      listen: (host, port, backlog) => n.tcpListen(host, port, backlog),
      socket: (host) => n.tcpSocket(host),
      close: (fd) => n.closeSocket(fd),
    };
    return { ring, sockets };
  }
}

/** The plain socket calls the uring datapath makes beside its ring operations. */
export interface Sockets {
  listen(host: string, port: number, backlog: number): [number, number];
  socket(host: string): number;
  close(fd: number): void;
}

export interface OpenOptions {
  backend?: BackendKind;
  fallback?: Fallback;
  /** io_uring / RIO table entries (1 .. 16,384). */
  entries?: number;
}

function probe(native: Binding, kind: BackendKind, entries: number | undefined): NativeBackendRegistrar {
  let registrar: NativeRegistrar;
  try {
    registrar = new native.Registrar(kind, entries);
  } catch (e) {
    throw fromNative(e, `open backend '${kind}'`);
  }
  const page = native.map(native.pageSize());
  try {
    registrar.deregister(registrar.register(page));
  } catch (e) {
    registrar.close();
    throw fromNative(e, `backend '${kind}' could not register one page`);
  } finally {
    native.unmap(page);
  }
  return new NativeBackendRegistrar(native, registrar);
}

/** The backend asked for: the option, else RIOPOOL_BACKEND, else the platform's best. */
export function chooseBackend(asked?: BackendKind): BackendKind {
  return asked ?? (process.env.RIOPOOL_BACKEND as BackendKind | undefined) ?? defaultBackend();
}

/** Opens the backend asked for, stepping down only as far as `fallback` allows. */
export function openBackend(options: OpenOptions = {}): { registrar: NativeBackendRegistrar; fallbacks: FallbackRecord[] } {
  const native = loadBinding();
  const compiled = native.info().backends;
  const asked = chooseBackend(options.backend);
  if (!STRENGTH.includes(asked) || !compiled.includes(asked)) {
    throw new RioError(
      'ERR_RIO_INVALID_OPTION',
      `backend '${String(asked)}' is not available here; this build has: ${compiled.join(', ')}`,
    );
  }
  if (options.fallback !== undefined && options.fallback !== 'lock' && options.fallback !== 'none') {
    throw new RioError('ERR_RIO_INVALID_OPTION', `fallback must be 'lock' or 'none', got ${String(options.fallback)}`);
  }
  const entries = options.entries;
  const { maxRegistrations } = native.info().limits;
  if (entries !== undefined && (typeof entries !== 'number' || !Number.isInteger(entries) || entries < 1 || entries > maxRegistrations)) {
    throw new RioError('ERR_RIO_INVALID_OPTION', `entries must be an integer from 1 to ${maxRegistrations}, got ${String(entries)}`);
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
      process.emitWarning(`riopool: backend '${kind}' failed, falling back to '${next}' as asked: ${reason}`, {
        type: 'RiopoolWarning',
        code: 'RIOPOOL_FALLBACK',
      });
    }
  }
}
