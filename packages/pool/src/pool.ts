/**
 * The public pool: a facade over core's allocator on a native backend.
 *
 * The allocator, its registrar and every lease's slab and slot are held in ES private fields,
 * so nothing reachable from `createPool()` or a lease can change them: a stale lease cannot be
 * released into a slot's next owner, and slabs are retired only by the allocator's own policy
 * (docs/design.md, rules 2 and 3). Each method of Pool is documented in docs/api.md; a test
 * walks every property reachable from a pool and a lease and fails on anything undocumented.
 * Tests reach the allocator through `@riopool/pool/testing` (testing/index.ts).
 */
import {
  RioError,
  ALLOCATOR_SCHEMA,
  Allocator,
  is,
  readOptions,
  shown,
  type Schema,
  type AllocatorStats,
  type Lease,
  type OverflowEvent,
  type RioBufOut,
  type AllocatorOptions,
} from '@riopool/core';
import { inspect } from 'node:util';
import { limitAdvice } from '@riopool/native';
import { openBackend, type BackendKind, type Fallback, type FallbackRecord, type PoolRegistrar } from './backend';
import type { Connection } from './io/connection';
import { PoolIo, type Datapath, type Io, type IoStats } from './io/datapath';
import {
  bounded,
  checkCloseOptions,
  describeOutstanding,
  outstandingError,
  outstandingOf,
  warnIfStuck,
  type CloseOptions,
  type PoolOutstanding,
} from './closing';
import { Tracker, type PoolReport } from './tracking';
import { emitRiopoolWarning } from './warnings';

export interface PoolOptions extends AllocatorOptions {
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

/** pool.stats(): the allocator's figures (core's AllocatorStats), the datapath's and the pool's own. */
export interface PoolStats extends AllocatorStats {
  /** Registered I/O: the datapath in use ('none' before the first server or connection). */
  io: IoStats;
  pool: {
    requestedBackend: BackendKind | 'memory';
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
  /** What the pool's own bookkeeping says it holds. */
  model: {
    registrations: number;
    requestedBytes: number;
    reservedBytes: number;
    mappedBytes: number;
    /** Registered bytes the backend pins (uring, rio) or locks (lock); 0 for `none`. */
    heldBytes: number;
  };
  /** What the kernel says. VmPin / VmLck / RSS are for the whole process; null where unknown. */
  measured: {
    processPinnedBytes: number | null;
    processLockedBytes: number | null;
    processRssBytes: number | null;
    /** Pages of this pool's slabs resident in memory (mincore), in bytes. */
    residentBytes: number | null;
  };
}

/** How often empty slabs decay (Allocator.decay): a slab empty for a whole period goes. */
export const DECAY_MS = 1000;

/**
 * Registered memory the OS charges beside the slabs (the io_uring's queues and its buffer ring)
 * and that a budget drawn from the lock limit leaves for them.
 */
const RING_RESERVE = 256 * 1024;

/**
 * The default registration budget: what the lock limit leaves this pool (the limit, less what
 * the process has pinned or locked already and the ring's own memory), or unlimited where
 * nothing is locked or the process may lock without limit. Other processes of the same user
 * share io_uring's account and cannot be seen from here: when the OS refuses anyway, the
 * allocator lowers the budget to what it took (core's registerOrOverflow).
 */
function defaultBudget(registrar: PoolRegistrar): number {
  if (registrar.pinning === 'none') return Infinity;
  const m = registrar.memoryStatus();
  if (m.lockLimit === null) return Infinity;
  const used = registrar.pinning === 'per-page' ? (m.locked ?? 0) : (m.pinned ?? 0);
  return Math.max(0, m.lockLimit - used - RING_RESERVE);
}

/**
 * What an ERR_RIO_MEMLOCK of `overflow: false` says of the budget: where it came from (the
 * option, or RLIMIT_MEMLOCK less what the process pins) and how to raise the OS's limit.
 */
function budgetAdvice(registrar: PoolRegistrar, given: boolean): string {
  if (registrar.pinning === 'none') return given ? 'The budget is the maxRegisteredBytes option.' : '';
  const limit = registrar.memoryStatus().lockLimit;
  const kib = (n: number) => `${Math.floor(n / 1024)} KiB`;
  const source = given
    ? 'The budget is the maxRegisteredBytes option; a larger one also needs room under RLIMIT_MEMLOCK'
    : `The budget is the default: RLIMIT_MEMLOCK less what this process already pins or locks and ${kib(RING_RESERVE)} for the ring`;
  const os =
    limit === null
      ? ' (RLIMIT_MEMLOCK does not limit this process: it is unlimited, or the process may lock without limit).'
      : `. ${limitAdvice({ limit: 'RLIMIT_MEMLOCK', limitBytes: limit })}`;
  return `${source}${os} Or leave overflow on (the default) to serve past the budget from unregistered slabs.`;
}

let overflowWarned = false;

/** The one warning of a process whose pools ran out of registration budget. */
function warnOverflow(event: OverflowEvent, registrar: PoolRegistrar): void {
  if (overflowWarned) return;
  overflowWarned = true;
  const limit = registrar.memoryStatus().lockLimit;
  const kib = (n: number) => `${Math.floor(n / 1024)} KiB`;
  const why =
    event.cause !== undefined
      ? `the OS refused to register more (${event.cause.message})`
      : `the pool's registration budget is ${kib(event.budget)}`;
  const advice = limit !== null ? `: ${limitAdvice({ limit: 'RLIMIT_MEMLOCK', limitBytes: limit })}` : '';
  emitRiopoolWarning(
    'RIOPOOL_OVERFLOW',
    `riopool: ${kib(event.registeredBytes)} are registered and ${why}; new slabs are not registered (overflow slabs, moved with plain operations) until registered ones are retired${event.cause === undefined ? advice : ''}`,
  );
}

function defaultReport(report: PoolReport): void {
  const code = report.kind === 'leak' ? 'RIOPOOL_LEAK' : 'RIOPOOL_WRITE_AFTER_RELEASE';
  emitRiopoolWarning(code, report.message);
}

/** Proves a constructor call comes from createPool (the class is reachable as pool.constructor). */
const FROM_CREATE_POOL = Symbol('createPool');

/** poolOn's way in to the private constructor. */
let newPool: (registrar: PoolRegistrar, fallbacks: FallbackRecord[], options: PoolOptions) => Pool;

/** For riopool's own modules (testing/, net.ts, io/): the allocator behind a pool. Not re-exported. */
export let allocatorOf: (pool: Pool) => Allocator;

/** For io/server.ts: the pool's datapath, opened on first use (io/datapath.ts). Not re-exported. */
export let ioOf: (pool: Pool, asked: Datapath | 'auto') => Io;

/** True for a Pool of this copy of the module (a proxy of one is not). */
let isPool: (value: unknown) => value is Pool;

/**
 * For every function that takes a pool: refuses anything else with ERR_RIO_INVALID_OPTION (and a
 * closed or closing pool with ERR_RIO_POOL_CLOSED where `open` is asked for) before it is used.
 */
export function checkPool(fn: string, pool: unknown, open = false): asserts pool is Pool {
  if (!isPool(pool))
    throw new RioError('ERR_RIO_INVALID_OPTION', `${fn}: pool: ${shown(pool)} is not a riopool Pool (createPool's result)`);
  if (open && allocatorOf(pool).closing) throw new RioError('ERR_RIO_POOL_CLOSED', `${fn}: the pool is closed or closing`);
}

/** For io/server.ts: a connection of the pool, which close() waits for. Not re-exported. */
export let trackConnection: (pool: Pool, conn: Connection, description: string) => void;

export class Pool {
  readonly #alloc: Allocator;
  readonly #registrar: PoolRegistrar;
  readonly #io: PoolIo;
  readonly #fallbacks: readonly FallbackRecord[];
  readonly #checked: boolean;
  readonly #leakDetection: boolean;

  /** Private: pools come from createPool() (and testing's createMemoryPool), through poolOn. */
  private constructor(token: symbol, registrar: PoolRegistrar, fallbacks: FallbackRecord[], options: PoolOptions) {
    if (token !== FROM_CREATE_POOL) throw new RioError('ERR_RIO_INVALID_OPTION', 'Pool: make pools with createPool()');
    this.#registrar = registrar;
    this.#fallbacks = fallbacks;
    this.#checked = options.checked === true;
    this.#leakDetection = options.leakDetection ?? this.#checked;
    const tracker =
      this.#checked || this.#leakDetection
        ? new Tracker({ checked: this.#checked, leakDetection: this.#leakDetection, onReport: options.onReport ?? defaultReport })
        : undefined;
    const maxRegisteredBytes = options.maxRegisteredBytes ?? defaultBudget(registrar);
    this.#alloc = new Allocator(registrar, { ...options, maxRegisteredBytes }, tracker);
    this.#alloc.budgetAdvice = budgetAdvice(registrar, options.maxRegisteredBytes !== undefined);
    if (tracker !== undefined) tracker.pool = this.#alloc;
    this.#alloc.onOverflow = (event) => warnOverflow(event, registrar);
    this.#io = new PoolIo(registrar, this.#alloc);
    // Decay: the timer holds the pool weakly and never keeps the process alive.
    const self = new WeakRef(this);
    const timer = setInterval(() => {
      const pool = self.deref();
      if (pool === undefined) clearInterval(timer);
      else pool.#tick();
    }, DECAY_MS);
    timer.unref();
    this.#decay = timer;
  }

  /** The decay timer (cleared by close). */
  readonly #decay: ReturnType<typeof setInterval>;

  /** One decay tick: empty slabs that stayed empty a whole tick go; the datapath shrinks too. */
  #tick(): void {
    this.#alloc.decay();
    this.#io.decay();
  }

  static {
    // A pool with leak detection or checked mode is of a subclass whose acquire() makes tracked
    // leases: the two kinds of pool run different functions from acquire() on, so a program's
    // untracked leases never carry the tracker's code in V8's type feedback (docs/performance.md,
    // 1c). Nested here to reach #alloc; it shows as a Pool (name, instanceof, inspect).
    class TrackedPool extends Pool {
      override acquire(length: number): Lease {
        return this.#alloc.acquireTracked(length);
      }
    }
    Object.defineProperty(TrackedPool, 'name', { value: 'Pool' });
    newPool = (registrar, fallbacks, options) =>
      options.checked === true || options.leakDetection === true
        ? new TrackedPool(FROM_CREATE_POOL, registrar, fallbacks, options)
        : new Pool(FROM_CREATE_POOL, registrar, fallbacks, options);
    allocatorOf = (pool) => {
      if (!isPool(pool)) throw new RioError('ERR_RIO_INVALID_OPTION', `${shown(pool)} is not a riopool Pool (createPool's result)`);
      return pool.#alloc;
    };
    ioOf = (pool, asked) => {
      if (!isPool(pool)) throw new RioError('ERR_RIO_INVALID_OPTION', `${shown(pool)} is not a riopool Pool (createPool's result)`);
      return pool.#io.get(asked);
    };
    trackConnection = (pool, conn, description) => pool.#io.track(conn, description);
    isPool = (value) => typeof value === 'object' && value !== null && #alloc in value;
  }

  /** Leases a slot of at least `length` bytes (docs/api.md). */
  acquire(length: number): Lease {
    return this.#alloc.acquireUntracked(length);
  }

  /** The low-level path: writes the RioBuf into `out`, returns the slot's handle. */
  acquireInto(length: number, out: RioBufOut): number {
    return this.#alloc.acquireInto(length, out);
  }

  releaseHandle(handle: number): void {
    this.#alloc.releaseHandle(handle);
  }

  /** The whole slab behind a buffer id, for the low-level path (a Buffer over the slab: no copy). */
  view(bufferId: number): Buffer {
    return this.#alloc.view(bufferId);
  }

  /** Retires every empty slab now; returns how many. */
  trim(): number {
    return this.#alloc.trim();
  }

  /** The close itself, once started (every close() call waits on it, bounded or not). */
  #closed: Promise<void> | undefined;

  /**
   * Refuses new acquires; resolves once every connection has closed, every lease is released and
   * every slab is gone. `timeout` / `signal` bound the wait (ERR_RIO_OUTSTANDING names what is
   * still out); `force` stops waiting for leases, memory-safely (closing.ts).
   */
  close(options?: CloseOptions): Promise<void> {
    let o: CloseOptions;
    try {
      o = checkCloseOptions(options);
    } catch (e) {
      return Promise.reject(e);
    }
    const closed = this.#startClose();
    const report = (why: string, cause?: unknown) => outstandingError(why, this.#outstanding(), this.#checked, cause);
    if (o.force !== true) return bounded(closed, o, report);
    // Force: no connection outlives the call, and the leases are not waited for. Their slabs
    // stay until their last release (the allocator retires nothing with a lease); the wait for
    // the connections' cancelled operations is bounded like any other.
    for (const conn of this.#io.connections.keys()) conn.destroy();
    const forced = this.#io.connectionsClosed().then(() => {
      this.#alloc.abandonOutstanding();
      return closed;
    });
    return bounded(forced, o, report);
  }

  /** `await using pool = createPool()`: close() at the end of the scope (it waits, as close() does). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * console.log(pool): `Pool { backend: 'uring', datapath: 'uring', leased: 2, slabs: 1, mappedBytes: 65536, closing: false }`
   * (what stats() says in one line; stats() has the rest).
   */
  [inspect.custom](_depth: number, options: object, show: typeof inspect): string {
    const s = this.#alloc.stats();
    const shown = {
      backend: s.backend,
      datapath: this.#io.stats().datapath,
      leased: s.totals.leased,
      slabs: s.totals.slabs,
      mappedBytes: s.totals.mappedBytes,
      closing: this.#closed !== undefined,
    };
    return `Pool ${show(shown, options)}`;
  }

  #startClose(): Promise<void> {
    if (this.#closed === undefined) {
      clearInterval(this.#decay);
      const connections = this.#io.close();
      this.#closed = Promise.all([connections, this.#alloc.close()]).then(() => undefined);
      warnIfStuck(this.#closed, () => describeOutstanding(this.#outstanding(), this.#checked));
    }
    return this.#closed;
  }

  #outstanding(): PoolOutstanding {
    return outstandingOf(this.#alloc, this.#alloc.tracker as Tracker | undefined, this.#io.connections.values());
  }

  stats(): PoolStats {
    const alloc = this.#alloc;
    const tracked = alloc.tracker as Tracker | undefined;
    const fallbacks = this.#fallbacks;
    return {
      ...alloc.stats(),
      io: this.#io.stats(),
      pool: {
        requestedBackend: fallbacks.length > 0 ? fallbacks[0]!.from : this.#registrar.backend,
        fallbacks: fallbacks.length,
        fallbackChain: [...fallbacks],
        checked: this.#checked,
        leakDetection: this.#leakDetection,
        leaksReclaimed: tracked?.leaksReclaimed ?? 0,
        writesAfterRelease: tracked?.writesAfterRelease ?? 0,
      },
    };
  }

  footprint(): Footprint {
    const s = this.#alloc.stats();
    let resident: number | null = 0;
    for (const slab of this.#alloc.slabs) {
      // A slab whose memory was transferred away (detached): no longer the pool's to measure.
      if (slab === undefined || slab.buffer.byteLength === 0) continue;
      const bytes = this.#registrar.residentBytes(slab.buffer);
      if (bytes === null) {
        resident = null;
        break;
      }
      resident += bytes;
    }
    const m = this.#registrar.memoryStatus();
    const t = s.totals;
    return {
      version: 1,
      backend: s.backend,
      pageSize: s.pageSize,
      model: {
        registrations: t.registrations,
        requestedBytes: t.requestedBytes,
        reservedBytes: t.reservedBytes,
        mappedBytes: t.mappedBytes,
        heldBytes: t.lockedBytes,
      },
      measured: { processPinnedBytes: m.pinned, processLockedBytes: m.locked, processRssBytes: m.rss, residentBytes: resident },
    };
  }

  /** Checked mode: verifies every released slot still holds its poison (empty otherwise). */
  checkPoison(): PoolReport[] {
    const tracker = this.#alloc.tracker as Tracker | undefined;
    return tracker !== undefined && this.#checked ? tracker.checkPoison() : [];
  }
}

/** createPool's options: the allocator's rules (ALLOCATOR_SCHEMA, checked again by core's resolveOptions) and the backend's. */
export const POOL_SCHEMA: Schema = {
  ...ALLOCATOR_SCHEMA,
  backend: is.checkedElsewhere,
  fallback: is.checkedElsewhere,
  entries: is.checkedElsewhere,
  checked: is.bool,
  leakDetection: is.bool,
  onReport: is.fn,
};

/** Creates a pool on the best backend here (see PoolOptions). */
export function createPool(given: PoolOptions = {}): Pool {
  const options = readOptions<PoolOptions>('createPool', given, POOL_SCHEMA);
  const { registrar, fallbacks } = openBackend(options);
  return poolOn(registrar, fallbacks, options);
}

/** A pool over a registrar that is already open (createPool, and testing's in-memory pool). */
export function poolOn(registrar: PoolRegistrar, fallbacks: FallbackRecord[], options: PoolOptions): Pool {
  try {
    return newPool(registrar, fallbacks, options);
  } catch (e) {
    registrar.close();
    throw e;
  }
}
