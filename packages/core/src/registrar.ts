/**
 * Registrar: how the core reaches memory. The pool package implements it over the native addon;
 * core's tests use MemoryRegistrar, which enforces the same contract in plain JS.
 *
 * The contract (the native core's preconditions; docs/design.md, rules 1 and 2):
 *   map(bytes)          bytes is a positive multiple of pageSize; returns page-aligned memory
 *   register(buffer)    buffer is a live mapping of this registrar; returns its buffer id
 *   deregister(id)      id is registered; never twice; never while the slab has outstanding
 *                       leases (the caller guarantees it; MemoryRegistrar checks it)
 *   unmap(buffer)       only after its registration is gone; detaches the buffer so every view
 *                       over it reads as length 0
 * Failures are thrown as RioError (the pool's registrar translates native codes).
 */
import { RioError } from './errors';
import { is, readOptions, type Rule, type Schema } from './schema';

/**
 * How a backend holds registered memory, which is what the footprint model needs to know:
 *   per-registration  every registration pins the pages it touches, even pages another
 *                     registration already pins (io_uring fixed buffers, Windows RIO)
 *   per-page          each page is locked once, however many registrations share it (mlock)
 *   none              nothing is locked; the memory may be paged out
 */
export type Pinning = 'per-registration' | 'per-page' | 'none';

export interface Registrar {
  readonly pageSize: number;
  /** The backend's name: uring, rio, lock, none, or memory. */
  readonly backend: string;
  readonly pinning: Pinning;
  /** Registrations that may be live at once. */
  readonly capacity: number;
  /** The largest registration (io_uring: 1 GiB); the allocator's largest request. */
  readonly maxRegistrationBytes: number;
  map(bytes: number): ArrayBuffer;
  register(buffer: ArrayBuffer): number;
  deregister(bufferId: number): void;
  unmap(buffer: ArrayBuffer): void;
  /** Releases the backend itself; called once by the pool's close(). Optional. */
  close?(): void;
}

/** Detaches an ArrayBuffer in plain JS: transferring it leaves the original at length 0. */
export function detach(buffer: ArrayBuffer): void {
  structuredClone(buffer, { transfer: [buffer] });
}

export interface MemoryRegistrarOptions {
  pageSize?: number;
  capacity?: number;
  /**
   * Tells the registrar how many leases of a buffer id the caller's own bookkeeping says are
   * outstanding. Tests pass their model's count, so a deregistration the pool should not have
   * made is refused independently of the pool's own accounting.
   */
  outstanding?: (bufferId: number) => number;
  /** Refuse `register` after this many bytes are registered (a memlock limit). */
  lockLimitBytes?: number;
  /** The largest registration; default 1 GiB, as io_uring's. */
  maxRegistrationBytes?: number;
}

/** An in-memory registrar that enforces the native contract; for tests and for `backend: 'memory'`. */
const powerOfTwo: Rule = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 64 && v <= 1 << 20 && (v & (v - 1)) === 0
    ? undefined
    : 'must be a power of two from 64 to 1048576';

/** MemoryRegistrar's options, checked as every public function's are (schema.ts). */
export const MEMORY_REGISTRAR_SCHEMA: Schema = {
  pageSize: powerOfTwo,
  capacity: is.int(1, 1 << 20),
  outstanding: is.fn,
  lockLimitBytes: is.int(0, Number.MAX_SAFE_INTEGER),
  maxRegistrationBytes: is.int(64, 2 ** 40),
};

export class MemoryRegistrar implements Registrar {
  readonly pageSize: number;
  readonly backend = 'memory';
  readonly pinning: Pinning = 'none';
  readonly capacity: number;
  readonly maxRegistrationBytes: number;
  private readonly outstanding: ((bufferId: number) => number) | undefined;
  private readonly lockLimit: number;
  private readonly live = new Set<ArrayBuffer>();
  private readonly registered = new Map<number, ArrayBuffer>();
  private readonly freeIds: number[] = [];
  private nextId = 0;
  private registeredBytes = 0;
  /** Counters tests read. */
  readonly counts = { maps: 0, unmaps: 0, registers: 0, deregisters: 0 };

  constructor(given: MemoryRegistrarOptions = {}) {
    const options = readOptions<MemoryRegistrarOptions>('MemoryRegistrar', given, MEMORY_REGISTRAR_SCHEMA);
    this.pageSize = options.pageSize ?? 4096;
    this.capacity = options.capacity ?? 16384;
    this.maxRegistrationBytes = options.maxRegistrationBytes ?? 2 ** 30;
    this.outstanding = options.outstanding;
    this.lockLimit = options.lockLimitBytes ?? Infinity;
  }

  get liveMappings(): number {
    return this.live.size;
  }
  get liveRegistrations(): number {
    return this.registered.size;
  }

  /** True when this buffer id is registered now. */
  isRegistered(bufferId: number): boolean {
    return this.registered.has(bufferId);
  }

  /** The byte length registered under a buffer id, or undefined. */
  registeredLength(bufferId: number): number | undefined {
    return this.registered.get(bufferId)?.byteLength;
  }

  map(bytes: number): ArrayBuffer {
    if (!(bytes > 0) || bytes % this.pageSize !== 0) {
      throw new RioError('ERR_RIO_INVALID_LENGTH', `map: ${bytes} is not a positive multiple of the page size`);
    }
    const buffer = new ArrayBuffer(bytes);
    this.live.add(buffer);
    this.counts.maps++;
    return buffer;
  }

  register(buffer: ArrayBuffer): number {
    if (!this.live.has(buffer)) {
      throw new RioError('ERR_RIO_INVALID_BUFFER', 'register: not a live mapping of this registrar');
    }
    if (this.registeredBytes + buffer.byteLength > this.lockLimit) {
      throw new RioError('ERR_RIO_MEMLOCK', `register: the lock limit of ${this.lockLimit} bytes is reached`);
    }
    let id = this.freeIds.pop();
    if (id === undefined) {
      if (this.nextId >= this.capacity) {
        throw new RioError('ERR_RIO_TOO_MANY_REGISTRATIONS', `register: all ${this.capacity} registrations are in use`);
      }
      id = this.nextId++;
    }
    this.registered.set(id, buffer);
    this.registeredBytes += buffer.byteLength;
    this.counts.registers++;
    return id;
  }

  deregister(bufferId: number): void {
    const buffer = this.registered.get(bufferId);
    if (buffer === undefined) {
      throw new RioError('ERR_RIO_INVALID_BUFFER', `deregister: buffer id ${bufferId} is not registered (double deregistration?)`);
    }
    const out = this.outstanding?.(bufferId) ?? 0;
    if (out !== 0) {
      throw new RioError('ERR_RIO_INVALID_BUFFER', `deregister: buffer id ${bufferId} still has ${out} outstanding lease(s)`);
    }
    this.registered.delete(bufferId);
    this.registeredBytes -= buffer.byteLength;
    this.freeIds.push(bufferId);
    this.counts.deregisters++;
  }

  unmap(buffer: ArrayBuffer): void {
    if (!this.live.has(buffer)) {
      throw new RioError('ERR_RIO_INVALID_BUFFER', 'unmap: not a live mapping (double unmap?)');
    }
    for (const b of this.registered.values()) {
      if (b === buffer) throw new RioError('ERR_RIO_INVALID_BUFFER', 'unmap: the mapping is still registered');
    }
    detach(buffer);
    this.live.delete(buffer);
    this.counts.unmaps++;
  }
}
