/**
 * The footprint report: one workload of request buffers, registered two ways in the same run,
 * each measured against the kernel and set beside the footprint model.
 *
 *   perBuffer  the buffers lie back to back in one mapping (as an allocator would pack them)
 *              and each is registered on its own: what the RIORegisterBuffer remarks warn of
 *   slab       riopool: a pool on the same backend, one lease per buffer
 *
 * For each: registrations, bytes requested / reserved / mapped, pinned (VmPin delta) and
 * locked (VmLck delta), the model's figure, setup and teardown time, and the error that
 * stopped it (the io_uring table's 16,384 entries, the memlock limit), or null.
 *
 * The JSON is versioned (REPORT_SCHEMA); docs/report.schema.json describes it.
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { modelPerBuffer, modelSlabs, nextPackedOffset, isRioError, leaseSlot, type FootprintFigures, type Lease } from '@riopool/core';
import { loadBinding, isNativeError, type BackendKind, type NativeBackend } from '@riopool/native';
import { allocatorOf, createPool, type Pool } from '../pool';
import { PINNING, chooseBackend, fromNative } from '../backend';

export const REPORT_SCHEMA = 'riopool-report/1';

export interface StrategyResult {
  registrations: number;
  requestedBytes: number;
  reservedBytes: number;
  mappedBytes: number;
  /** VmPin delta (io_uring); null where the OS does not say. */
  pinnedBytes: number | null;
  /** VmLck delta (mlock); null where the OS does not say. */
  lockedBytes: number | null;
  /** What the footprint model predicts this strategy pins or locks. */
  modelBytes: number;
  model: FootprintFigures;
  setupMs: number;
  teardownMs: number;
  /** Buffers that were set up before an error stopped the strategy. */
  completedBuffers: number;
  error: { code: string; message: string } | null;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  machine: { cpu: string; cores: number; memoryBytes: number; os: string; node: string };
  backend: BackendKind;
  pageSize: number;
  workload: { buffers: number; size: string; seed: number; requestedBytes: number };
  strategies: { perBuffer: StrategyResult; slab: StrategyResult };
  /** Reserved bytes of the slab strategy rounded up to whole pages per slab. */
  idealBytes: number;
  ratios: {
    /** perBuffer pinned-or-locked / slab pinned-or-locked (measured). */
    perBufferOverSlab: number | null;
    /** slab pinned-or-locked (measured) / ideal. */
    slabOverIdeal: number | null;
  };
}

/** A small seeded PRNG (mulberry32), so a workload is the same for the same seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A realistic server mix: mostly small protocol messages and headers, some page-sized reads,
 * a few large bodies. (share, min, max)
 */
export const MIXED: [number, number, number][] = [
  [0.5, 64, 512],
  [0.3, 513, 4096],
  [0.15, 4097, 16384],
  [0.05, 16385, 65536],
];

/** The lengths of a workload: `--size` is `512`, `64-4096` or `mixed`. */
export function workloadLengths(buffers: number, size: string, seed: number): number[] {
  const rand = random(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  if (/^\d+$/.test(size)) {
    const n = Number(size);
    if (n < 1 || n > 1 << 30) throw new Error(`--size ${size}: must be 1 .. 1 GiB`);
    return new Array<number>(buffers).fill(n);
  }
  const range = /^(\d+)-(\d+)$/.exec(size);
  if (range) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    if (lo < 1 || hi < lo || hi > 1 << 30) throw new Error(`--size ${size}: a range is LO-HI with 1 <= LO <= HI`);
    return Array.from({ length: buffers }, () => between(lo, hi));
  }
  if (size === 'mixed') {
    return Array.from({ length: buffers }, () => {
      let r = rand();
      for (const [share, lo, hi] of MIXED) {
        if (r < share) return between(lo, hi);
        r -= share;
      }
      return between(64, 512);
    });
  }
  throw new Error(`--size ${size}: a length (512), a range (64-4096) or 'mixed'`);
}

/** The error as a result: native errors get the RioError code the pool would use. */
function errorOf(e: unknown): { code: string; message: string } {
  const err = isNativeError(e) ? fromNative(e, 'register', 'register') : e;
  if (isRioError(err)) return { code: err.code, message: err.message };
  return { code: 'ERR_RIO_BACKEND', message: String(err) };
}

function delta(after: number | null, before: number | null): number | null {
  return after === null || before === null ? null : after - before;
}

/**
 * Runs a strategy's setup, calling `step(i)` for each buffer until one throws, and takes the
 * kernel's figures before and after. A throw is the strategy's result, not a failure.
 */
function timedSetup(count: number, step: (i: number) => void, onProgress: (done: number) => void) {
  const native = loadBinding();
  let error: StrategyResult['error'] = null;
  const before = native.memoryStatus();
  const t0 = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      step(i);
      if ((i & 1023) === 0) onProgress(i);
    }
  } catch (e) {
    error = errorOf(e);
  }
  const setupMs = performance.now() - t0;
  const after = native.memoryStatus();
  return { error, setupMs, pinnedBytes: delta(after.pinned, before.pinned), lockedBytes: delta(after.locked, before.locked) };
}

/** A strategy that could not start: its backend did not open. */
function notStarted(e: unknown): StrategyResult {
  const model = { registrations: 0, requestedBytes: 0, reservedBytes: 0, mappedBytes: 0, lockedBytes: 0 };
  return {
    ...model,
    pinnedBytes: null,
    lockedBytes: null,
    modelBytes: 0,
    model,
    setupMs: 0,
    teardownMs: 0,
    completedBuffers: 0,
    error: errorOf(e),
  };
}

/** Each buffer registered on its own. */
function measurePerBuffer(lengths: number[], backend: BackendKind, onProgress: (done: number) => void): StrategyResult {
  const native = loadBinding();
  const page = native.pageSize();
  const model = modelPerBuffer(lengths, page, PINNING[backend]);
  let opened: NativeBackend;
  try {
    opened = new native.Backend(backend);
  } catch (e) {
    return notStarted(e);
  }
  const ids: number[] = [];
  let region: ArrayBuffer | undefined;
  let offset = 0;
  const setup = timedSetup(
    lengths.length,
    (i) => {
      region ??= native.map(model.mappedBytes);
      ids.push(opened.register(region, offset, lengths[i]!));
      offset = nextPackedOffset(offset, lengths[i]!);
    },
    onProgress,
  );
  const t1 = performance.now();
  for (const id of ids) opened.deregister(id);
  opened.close();
  if (region !== undefined) native.unmap(region);
  const teardownMs = performance.now() - t1;
  return {
    registrations: ids.length,
    requestedBytes: model.requestedBytes,
    reservedBytes: model.reservedBytes,
    mappedBytes: region === undefined ? 0 : model.mappedBytes,
    ...setup,
    modelBytes: model.lockedBytes,
    model,
    teardownMs,
    completedBuffers: ids.length,
  };
}

/** riopool: one lease per buffer. Returns the result and the ideal footprint. */
function measureSlabs(
  lengths: number[],
  backend: BackendKind,
  onProgress: (done: number) => void,
): { result: StrategyResult; idealBytes: number } {
  let pool: Pool;
  try {
    pool = createPool({ backend });
  } catch (e) {
    return { result: notStarted(e), idealBytes: 0 };
  }
  const model = modelSlabs(lengths, allocatorOf(pool).table, PINNING[backend]);
  const leases: Lease[] = [];
  const setup = timedSetup(lengths.length, (i) => void leases.push(pool.acquire(lengths[i]!)), onProgress);
  const stats = pool.stats();
  // Ideal: each slab's reserved bytes rounded up to whole pages.
  const page = stats.pageSize;
  const reservedPerSlab = new Map<number, number>();
  for (const l of leases) {
    const { slab } = leaseSlot(l)!;
    reservedPerSlab.set(slab.bufferId, (reservedPerSlab.get(slab.bufferId) ?? 0) + slab.cls.slotSize);
  }
  let idealBytes = 0;
  for (const bytes of reservedPerSlab.values()) idealBytes += Math.ceil(bytes / page) * page;
  const t1 = performance.now();
  for (const l of leases) l.release();
  void pool.close(); // nothing is leased: it finishes before it returns
  const teardownMs = performance.now() - t1;
  return {
    result: {
      registrations: stats.totals.registrations,
      requestedBytes: stats.totals.requestedBytes,
      reservedBytes: stats.totals.reservedBytes,
      mappedBytes: stats.totals.mappedBytes,
      ...setup,
      modelBytes: model.lockedBytes,
      model,
      teardownMs,
      completedBuffers: leases.length,
    },
    idealBytes,
  };
}

/**
 * What a strategy cost in locked memory, by how the backend holds it: pinned pages (VmPin) for
 * per-registration pinning, locked pages (VmLck) for per-page locking, null for none.
 */
export function heldBytes(r: StrategyResult, backend: BackendKind): number | null {
  const pinning = PINNING[backend];
  return pinning === 'per-registration' ? r.pinnedBytes : pinning === 'per-page' ? r.lockedBytes : null;
}

export interface ReportOptions {
  buffers: number;
  size: string;
  seed?: number;
  backend?: BackendKind;
  onProgress?: (fraction: number) => void;
}

export function runReport(options: ReportOptions): Report {
  const native = loadBinding();
  const backend = chooseBackend(options.backend);
  const seed = options.seed ?? 1;
  const lengths = workloadLengths(options.buffers, options.size, seed);
  const progress = options.onProgress ?? (() => {});
  const n = Math.max(1, lengths.length);
  const perBuffer = measurePerBuffer(lengths, backend, (i) => progress((i / n) * 0.5));
  const { result: slab, idealBytes } = measureSlabs(lengths, backend, (i) => progress(0.5 + (i / n) * 0.5));
  progress(1);
  const a = heldBytes(perBuffer, backend);
  const b = heldBytes(slab, backend);
  return {
    schema: REPORT_SCHEMA,
    machine: {
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      cores: os.cpus().length,
      memoryBytes: os.totalmem(),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
    },
    backend,
    pageSize: native.pageSize(),
    workload: { buffers: options.buffers, size: options.size, seed, requestedBytes: lengths.reduce((s, x) => s + x, 0) },
    strategies: { perBuffer, slab },
    idealBytes,
    ratios: {
      perBufferOverSlab: a !== null && b !== null && b > 0 ? a / b : null,
      slabOverIdeal: b !== null && idealBytes > 0 ? b / idealBytes : null,
    },
  };
}
