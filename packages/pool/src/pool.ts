/**
 * The public pool: core's SlabPool over a native backend, with the safety nets.
 *
 * Leak detection (`leakDetection: true`, and always in checked mode): every lease is
 * registered with a FinalizationRegistry. A
 * lease collected without its last release is reported (`onReport`, by default a process
 * warning) and its slot is reclaimed. The held value is the lease's handle, a number, so
 * nothing keeps the lease alive. In checked mode the report also carries the allocation stack.
 * It is off by default because registering costs more than the allocation it guards (250-360 ns
 * per lease against 25-40 ns for acquire + release; bench/acquire-release.ts).
 *
 * Checked mode (off by default; for tests and debugging): released slots are filled with a
 * poison byte (0xdb); when a poisoned slot is handed out again, or on checkPoison(), a slot
 * whose poison was overwritten is reported as a write after release, with the stack of the
 * release that preceded it.
 *
 * Neither adds a native call to acquire or release.
 */
import {
  SlabPool,
  modelSlabs,
  type Lease,
  type PoolStats,
  type SlabPoolOptions,
  type FootprintFigures,
  RioError,
} from '@riopool/core';
import { loadBinding } from '@riopool/native';
import { openBackend, type BackendKind, type Fallback, type FallbackRecord, type NativeBackendRegistrar } from './backend';

export const POISON = 0xdb;

export interface PoolOptions extends SlabPoolOptions {
  /** uring (Linux), rio (Windows), lock (mlock only) or none; default: the platform's best, or RIOPOOL_BACKEND. */
  backend?: BackendKind;
  /** The weakest backend the pool may fall back to when the chosen one fails; default: none allowed. */
  fallback?: Fallback;
  /** io_uring / RIO registration table entries (1 .. 16,384); default 16,384. */
  entries?: number;
  /** Poison released slots and report writes after release; record allocation stacks. */
  checked?: boolean;
  /** Report and reclaim leases collected without release; default false (true in checked mode). */
  leakDetection?: boolean;
  /** Receives leak and write-after-release reports; default: process.emitWarning. */
  onReport?: (report: PoolReport) => void;
}

export interface PoolReport {
  kind: 'leak' | 'write-after-release';
  message: string;
  bufferId: number;
  offset: number;
  length: number;
  /** Where the lease was acquired (leaks, checked mode only). */
  acquiredAt?: string;
  /** Where the slot was released before it was written (writes after release). */
  releasedAt?: string;
}

export interface PoolStatsWithBackend extends PoolStats {
  pool: {
    requestedBackend: BackendKind;
    fallbacks: number;
    fallbackChain: FallbackRecord[];
    checked: boolean;
    leakDetection: boolean;
    leaksReclaimed: number;
    writesAfterRelease: number;
  };
}

export interface Footprint {
  version: 1;
  backend: string;
  pageSize: number;
  /** What the pool's own bookkeeping and the footprint model say it holds. */
  model: FootprintFigures;
  /** What the kernel says. VmPin / VmLck / RSS are for the whole process; null where unknown. */
  measured: {
    processPinnedBytes: number | null;
    processLockedBytes: number | null;
    processRssBytes: number | null;
    /** Pages of this pool's slabs resident in memory (mincore), in bytes. */
    residentBytes: number | null;
  };
}

function defaultReport(report: PoolReport): void {
  process.emitWarning(report.message, { type: 'RiopoolWarning', code: report.kind === 'leak' ? 'RIOPOOL_LEAK' : 'RIOPOOL_WRITE_AFTER_RELEASE' });
}

function stackHere(): string {
  return (new Error().stack ?? '').split('\n').slice(3).join('\n');
}

type Held = number | { handle: number; stack: string };

export class Pool extends SlabPool {
  readonly checked: boolean;
  readonly leakDetection: boolean;
  /** checked || leakDetection: the one test the hot path pays for the safety nets. */
  private readonly tracking: boolean;
  readonly fallbacks: readonly FallbackRecord[];
  private readonly requestedBackend: BackendKind;
  private readonly report: (r: PoolReport) => void;
  private readonly leaks: FinalizationRegistry<Held> | undefined;
  /** Checked mode: poisoned slots by handle, with the stack of their release. */
  private readonly poisoned = new Map<number, string>();
  private leaksReclaimed = 0;
  private writesAfterRelease = 0;

  constructor(registrar: NativeBackendRegistrar, fallbacks: FallbackRecord[], requested: BackendKind, options: PoolOptions) {
    super(registrar, options);
    this.fallbacks = fallbacks;
    this.requestedBackend = requested;
    this.checked = options.checked === true;
    this.leakDetection = options.leakDetection ?? this.checked;
    this.report = options.onReport ?? defaultReport;
    this.leaks = this.leakDetection ? new FinalizationRegistry<Held>((held) => this.reclaim(held)) : undefined;
    this.tracking = this.checked || this.leakDetection;
  }

  override acquire(length: number): Lease {
    const lease = super.acquire(length);
    if (this.tracking) this.track(lease);
    return lease;
  }

  override releaseLease(lease: Lease): void {
    if (this.tracking) this.untrack(lease);
    super.releaseLease(lease);
  }

  /** Leak registration and poison check at acquire (kept out of acquire so it stays inlinable). */
  private track(lease: Lease): void {
    const handle = lease.handle;
    if (this.checked) {
      this.verifyPoison(handle, lease.slab.view, lease.slot * lease.slab.cls.slotSize, lease.slab.cls.slotSize, lease.slab.bufferId);
      this.leaks?.register(lease, { handle, stack: stackHere() }, lease);
    } else {
      this.leaks?.register(lease, handle, lease);
    }
  }

  private untrack(lease: Lease): void {
    this.leaks?.unregister(lease);
    if (this.checked) {
      const size = lease.slab.cls.slotSize;
      const offset = lease.slot * size;
      lease.slab.view.fill(POISON, offset, offset + size);
      this.poisoned.set(lease.handle, stackHere());
    }
  }

  /** Checked mode: verifies every released slot still holds its poison; returns the reports. */
  checkPoison(): PoolReport[] {
    const found: PoolReport[] = [];
    const out = { bufferId: 0, offset: 0, length: 0 };
    for (const handle of [...this.poisoned.keys()]) {
      let size: number;
      try {
        size = this.describeHandle(handle, out);
      } catch {
        this.poisoned.delete(handle); // its slab was retired
        continue;
      }
      const r = this.verifyPoison(handle, this.view(out.bufferId), out.offset, size, out.bufferId, false);
      if (r !== undefined) found.push(r);
    }
    return found;
  }

  private verifyPoison(handle: number, view: Uint8Array, offset: number, size: number, bufferId: number, consume = true): PoolReport | undefined {
    const releasedAt = this.poisoned.get(handle);
    if (releasedAt === undefined) return undefined;
    if (consume) this.poisoned.delete(handle);
    if (view.length === 0) return undefined; // the slab is gone; nothing to read
    for (let i = offset; i < offset + size; i++) {
      if (view[i] !== POISON) {
        this.poisoned.delete(handle); // report each write once
        this.writesAfterRelease++;
        const report: PoolReport = {
          kind: 'write-after-release',
          message: `riopool: a released slot was written after its release (buffer ${bufferId}, offset ${offset}, byte ${i - offset})`,
          bufferId,
          offset,
          length: size,
          releasedAt,
        };
        this.report(report);
        return report;
      }
    }
    return undefined;
  }

  private reclaim(held: Held): void {
    const handle = typeof held === 'number' ? held : held.handle;
    let bufferId = -1;
    let offset = -1;
    let length = -1;
    try {
      const out = { bufferId: 0, offset: 0, length: 0 };
      this.describeHandle(handle, out);
      ({ bufferId, offset, length } = out);
      this.releaseHandle(handle);
      this.leaksReclaimed++;
    } catch {
      return; // already reclaimed, or the pool is gone
    }
    this.report({
      kind: 'leak',
      message: `riopool: a lease was collected without release (buffer ${bufferId}, offset ${offset}, length ${length}); its slot was reclaimed`,
      bufferId,
      offset,
      length,
      ...(typeof held === 'number' ? {} : { acquiredAt: held.stack }),
    });
  }

  override stats(): PoolStatsWithBackend {
    return {
      ...super.stats(),
      pool: {
        requestedBackend: this.requestedBackend,
        fallbacks: this.fallbacks.length,
        fallbackChain: [...this.fallbacks],
        checked: this.checked,
        leakDetection: this.leakDetection,
        leaksReclaimed: this.leaksReclaimed,
        writesAfterRelease: this.writesAfterRelease,
      },
    };
  }

  footprint(): Footprint {
    const native = loadBinding();
    const s = super.stats();
    let resident: number | null = 0;
    for (const buffer of this.slabBuffers()) {
      const pages = native.residency(buffer);
      if (pages === null) {
        resident = null;
        break;
      }
      resident += pages * s.pageSize;
    }
    const m = native.memoryStatus();
    return {
      version: 1,
      backend: s.backend,
      pageSize: s.pageSize,
      model: {
        registrations: s.totals.registrations,
        requestedBytes: s.totals.requestedBytes,
        reservedBytes: s.totals.reservedBytes,
        mappedBytes: s.totals.mappedBytes,
        lockedBytes: s.totals.lockedBytes,
      },
      measured: { processPinnedBytes: m.pinned, processLockedBytes: m.locked, processRssBytes: m.rss, residentBytes: resident },
    };
  }
}

/** Creates a pool on the best backend here (see PoolOptions). */
export function createPool(options: PoolOptions = {}): Pool {
  if (options === null || typeof options !== 'object') {
    throw new RioError('ERR_RIO_INVALID_OPTION', 'createPool: options must be an object');
  }
  const { registrar, fallbacks } = openBackend(options);
  const requested = fallbacks.length > 0 ? fallbacks[0]!.from : registrar.backend;
  try {
    return new Pool(registrar, fallbacks, requested, options);
  } catch (e) {
    registrar.close();
    throw e;
  }
}

export { modelSlabs };
