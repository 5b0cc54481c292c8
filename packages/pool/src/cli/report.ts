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
import {
  MemoryRegistrar,
  RioError,
  Allocator,
  invalidOption,
  is,
  readOptions,
  type Schema,
  modelPerBuffer,
  modelSlabs,
  nextPackedOffset,
  isRioError,
  leaseSlot,
  type FootprintFigures,
  type Lease,
} from '@riopool/core';
import { isNativeError, limitAdvice, type BackendKind, type NativeError, type NativeBackend } from '@riopool/native';
import { allocatorOf, createPool, type Pool } from '../pool';
import { PINNING, chooseBackend, fromNative, loadBinding } from '../backend';

/** 2: model.lockedBytes became model.heldBytes (lockedBytes alone is the measured VmLck delta). */
export const REPORT_SCHEMA = 'riopool-report/2';

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
  /** Why it stopped short of the workload (null: it set up every buffer). */
  stopped: Stop | null;
}

/**
 * A strategy that stopped before the whole workload: how far it got, the limit that stopped it
 * and that limit's value, and how to raise it. Its figures are then for `afterBuffers` buffers,
 * not the workload's, and do not compare with the other strategy's.
 */
export interface Stop {
  /** Buffers set up before it stopped (= completedBuffers) ... */
  afterBuffers: number;
  /** ... of the workload's. */
  ofBuffers: number;
  /** The error's code (ERR_RIO_MEMLOCK, ERR_RIO_TOO_MANY_REGISTRATIONS, ...). */
  code: string;
  /** The limit that stopped it: 'RLIMIT_MEMLOCK', 'io_uring fixed-buffer table', ...; null when the error names none. */
  limit: string | null;
  /** The limit's value (null: not known, or unlimited) ... */
  limitValue: number | null;
  /** ... in these units. */
  limitUnit: 'bytes' | 'registrations' | null;
  /** How to raise the limit to measure the whole workload, or why it cannot be raised. */
  advice: string;
  /** A buffer count that fits under the limit as it is (the same workload's first buffers); 0: none. */
  fitsBuffers: number;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  machine: { cpu: string; cores: number; memoryBytes: number; os: string; node: string };
  backend: BackendKind;
  pageSize: number;
  workload: { buffers: number; size: string; seed: number; requestedBytes: number };
  strategies: { perBuffer: StrategyResult; slab: StrategyResult };
  /** Both strategies set up every buffer: only then do their figures compare. */
  complete: boolean;
  /** Reserved bytes of the slab strategy rounded up to whole pages per slab. */
  idealBytes: number;
  ratios: {
    /** perBuffer pinned-or-locked / slab pinned-or-locked (measured); null unless `complete`. */
    perBufferOverSlab: number | null;
    /** slab pinned-or-locked (measured) / ideal. */
    slabOverIdeal: number | null;
    /** The footprint model's perBuffer / slab figure for the whole workload (a prediction, not a measurement). */
    modelPerBufferOverSlab: number | null;
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
  // Checked before anything is allocated: a count past the bound would exhaust the heap.
  const buffersBroken = REPORT_OPTIONS_SCHEMA.buffers!(buffers);
  if (buffersBroken !== undefined) throw invalidOption('workloadLengths', 'buffers', buffers, buffersBroken);
  if (typeof size !== 'string') throw invalidOption('workloadLengths', 'size', size, "must be a string ('512', '64-4096' or 'mixed')");
  const seedBroken = REPORT_OPTIONS_SCHEMA.seed!(seed);
  if (seedBroken !== undefined) throw invalidOption('workloadLengths', 'seed', seed, seedBroken);
  const rand = random(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  if (/^\d+$/.test(size)) {
    const n = Number(size);
    if (n < 1 || n > 1 << 30) throw new RioError('ERR_RIO_INVALID_OPTION', `--size ${size}: must be 1 .. 1 GiB`);
    return new Array<number>(buffers).fill(n);
  }
  const range = /^(\d+)-(\d+)$/.exec(size);
  if (range) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    if (lo < 1 || hi < lo || hi > 1 << 30)
      throw new RioError('ERR_RIO_INVALID_OPTION', `--size ${size}: a range is LO-HI with 1 <= LO <= HI`);
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
  throw new RioError('ERR_RIO_INVALID_OPTION', `--size ${size}: a length (512), a range (64-4096) or 'mixed'`);
}

/** The error as a result: native errors get the RioError code the pool would use. */
function errorOf(e: unknown): { code: string; message: string } {
  const err = isNativeError(e) ? fromNative(e, 'register', 'register') : e;
  if (isRioError(err)) return { code: err.code, message: err.message };
  return { code: 'ERR_RIO_BACKEND', message: String(err) };
}

/** The limit an error names: the addon's (RLIMIT_MEMLOCK and its value) on the error or its cause. */
function nativeLimit(e: unknown): Pick<NativeError, 'limit' | 'limitBytes'> | undefined {
  for (let x: unknown = e, depth = 0; x instanceof Object && depth < 3; x = (x as { cause?: unknown }).cause, depth++) {
    if (isNativeError(x) && x.limit !== undefined) return x;
  }
  return undefined;
}

/** What a stop says about its limit; the advice is filled in once both strategies have run. */
type Limit = Pick<Stop, 'limit' | 'limitValue' | 'limitUnit'>;

/** The registration table a strategy registered into: its name and size. */
interface Table {
  name: string;
  capacity: number;
}

/** The registration table's name in a Stop, by backend. */
function tableName(backend: BackendKind): string {
  return backend === 'uring' ? 'io_uring fixed-buffer table' : backend === 'rio' ? 'RIO buffer table' : 'registration table';
}

/** The limit behind a strategy's error, if it names one. */
function limitOf(e: unknown, code: string, table: Table | undefined): Limit {
  const native = nativeLimit(e);
  if (native !== undefined) return { limit: native.limit!, limitValue: native.limitBytes ?? null, limitUnit: 'bytes' };
  if (code === 'ERR_RIO_TOO_MANY_REGISTRATIONS') {
    return { limit: table?.name ?? 'registration table', limitValue: table?.capacity ?? null, limitUnit: 'registrations' };
  }
  return { limit: null, limitValue: null, limitUnit: null };
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
  let thrown: unknown;
  const before = native.memoryStatus();
  const t0 = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      step(i);
      if ((i & 1023) === 0) onProgress(i);
    }
  } catch (e) {
    thrown = e;
    error = errorOf(e);
  }
  const setupMs = performance.now() - t0;
  const after = native.memoryStatus();
  return { error, thrown, setupMs, pinnedBytes: delta(after.pinned, before.pinned), lockedBytes: delta(after.locked, before.locked) };
}

/** A stop without its advice yet (see adviseStop); null when nothing stopped the strategy. */
function stopOf(thrown: unknown, error: StrategyResult['error'], completed: number, of: number, table?: Table): Stop | null {
  if (error === null) return null;
  return {
    afterBuffers: completed,
    ofBuffers: of,
    code: error.code,
    ...limitOf(thrown, error.code, table),
    advice: '',
    fitsBuffers: fewer(completed),
  };
}

/**
 * A strategy that could not start: its backend did not open. Nothing was measured; `model` is
 * still what it would have held, so the advice can say how far to raise a limit.
 */
function notStarted(e: unknown, buffers: number, model: FootprintFigures): StrategyResult {
  const error = errorOf(e);
  return {
    registrations: 0,
    requestedBytes: 0,
    reservedBytes: 0,
    mappedBytes: 0,
    pinnedBytes: null,
    lockedBytes: null,
    modelBytes: model.heldBytes,
    model,
    setupMs: 0,
    teardownMs: 0,
    completedBuffers: 0,
    error,
    stopped: stopOf(e, error, 0, buffers),
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
    return notStarted(e, lengths.length, model);
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
  const table = { name: tableName(backend), capacity: opened.capacity };
  opened.close();
  if (region !== undefined) native.unmap(region);
  const teardownMs = performance.now() - t1;
  const { thrown, ...figures } = setup;
  return {
    registrations: ids.length,
    requestedBytes: model.requestedBytes,
    reservedBytes: model.reservedBytes,
    mappedBytes: region === undefined ? 0 : model.mappedBytes,
    ...figures,
    modelBytes: model.heldBytes,
    model,
    teardownMs,
    completedBuffers: ids.length,
    stopped: stopOf(thrown, setup.error, ids.length, lengths.length, table),
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
    // The same size classes as the pool's, from an allocator that needs no backend.
    const table = new Allocator(new MemoryRegistrar({ pageSize: loadBinding().pageSize() })).table;
    return { result: notStarted(e, lengths.length, modelSlabs(lengths, table, PINNING[backend])), idealBytes: 0 };
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
  const table = { name: tableName(backend), capacity: allocatorOf(pool).registrar.capacity };
  const t1 = performance.now();
  for (const l of leases) l.release();
  void pool.close(); // nothing is leased: it finishes before it returns
  const teardownMs = performance.now() - t1;
  const { thrown, ...figures } = setup;
  return {
    result: {
      registrations: stats.totals.registrations,
      requestedBytes: stats.totals.requestedBytes,
      reservedBytes: stats.totals.reservedBytes,
      mappedBytes: stats.totals.mappedBytes,
      ...figures,
      modelBytes: model.heldBytes,
      model,
      teardownMs,
      completedBuffers: leases.length,
      stopped: stopOf(thrown, setup.error, leases.length, lengths.length, table),
    },
    idealBytes,
  };
}

/**
 * What a strategy cost in locked memory, by how the backend holds it: pinned pages (VmPin) for
 * per-registration pinning, locked pages (VmLck) for per-page locking, null for none.
 */
export function heldBytes(r: StrategyResult, backend: BackendKind): number | null {
  if (typeof backend !== 'string' || !Object.hasOwn(PINNING, backend)) {
    throw invalidOption('heldBytes', 'backend', backend, `must be one of ${Object.keys(PINNING).join(', ')}`);
  }
  const figure = (key: 'pinnedBytes' | 'lockedBytes'): number | null => {
    let v: unknown;
    try {
      v = (r as unknown as Record<string, unknown>)[key]; // throws for null, undefined or a revoked proxy
    } catch {
      throw invalidOption('heldBytes', 'result', r, 'must be a StrategyResult (report.strategies.perBuffer or .slab)');
    }
    if (v === null || (typeof v === 'number' && Number.isFinite(v))) return v;
    throw invalidOption('heldBytes', `result.${key}`, v, 'must be a finite number or null');
  };
  const [pinned, locked] = [figure('pinnedBytes'), figure('lockedBytes')];
  const pinning = PINNING[backend];
  return pinning === 'per-registration' ? pinned : pinning === 'per-page' ? locked : null;
}

export interface ReportOptions {
  buffers: number;
  size: string;
  seed?: number;
  backend?: BackendKind;
  onProgress?: (fraction: number) => void;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** Head room above the bytes the buffers pin for the ring's own queues, which io_uring charges to the same limit. */
const RING_HEADROOM = MiB;

/** A buffer count that fits: `n` rounded down to its two leading digits (2,027 -> 2000; 0 when none did). */
function fewer(n: number): number {
  if (n < 10) return n;
  const step = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.floor(n / step) * step;
}

/**
 * How to get past a stop. RLIMIT_MEMLOCK: the value to raise it to for this workload (the larger
 * strategy's model figure and the ring, rounded up to a MiB; they run one after the other) and
 * where to raise it; a registration table: why it cannot be raised. Either way, the run that fits.
 */
function adviseStop(stop: Stop, backend: BackendKind, modelBytes: number): string {
  if (stop.limit === 'RLIMIT_MEMLOCK') {
    const needKiB = Math.ceil((modelBytes + RING_HEADROOM) / MiB) * (MiB / KiB);
    const whose =
      PINNING[backend] === 'per-registration'
        ? "io_uring counts it per user, for all of the user's processes together"
        : 'mlock counts it per process';
    return (
      `To measure all ${count(stop.ofBuffers)}, raise RLIMIT_MEMLOCK to at least ${count(needKiB)} KiB (${whose}): ` +
      `\`ulimit -l ${needKiB}\` (or \`unlimited\`) in the shell that starts node, LimitMEMLOCK=${needKiB * KiB} in a systemd unit, ` +
      `a memlock line in /etc/security/limits.conf, \`docker run --ulimit memlock=${needKiB * KiB}:${needKiB * KiB}\`, ` +
      'or CAP_IPC_LOCK (docs/install.md, "The memory-lock limit").'
    );
  }
  if (stop.code === 'ERR_RIO_TOO_MANY_REGISTRATIONS') {
    const size = stop.limitValue === null ? 'a fixed number of' : count(stop.limitValue);
    return (
      `The ${tableName(backend)} holds ${size} registrations and cannot be raised (io_uring's largest is 16,384, ` +
      'a kernel constant): one registration per buffer cannot go further, which is what slabs are for.'
    );
  }
  const advice = stop.limit === null ? undefined : limitAdvice({ limit: stop.limit, limitBytes: stop.limitValue });
  return advice === undefined ? 'The error says what stopped it.' : `The limit: ${advice}`;
}

/** runReport's options; buffers bounded as the CLI's --buffers. */
const REPORT_OPTIONS_SCHEMA: Schema = {
  buffers: is.int(1, 10_000_000),
  size: is.string,
  seed: is.int(-(2 ** 31), 2 ** 31 - 1),
  backend: is.checkedElsewhere,
  onProgress: is.fn,
};

export function runReport(given: ReportOptions): Report {
  const options = readOptions<ReportOptions>('runReport', given, REPORT_OPTIONS_SCHEMA) as ReportOptions;
  if (options.buffers === undefined) throw invalidOption('runReport', 'buffers', undefined, 'must be an integer from 1 to 10000000');
  if (options.size === undefined) throw invalidOption('runReport', 'size', undefined, "must be a string ('512', '64-4096' or 'mixed')");
  const native = loadBinding();
  const backend = chooseBackend(options.backend);
  const seed = options.seed ?? 1;
  const lengths = workloadLengths(options.buffers, options.size, seed);
  const progress = options.onProgress ?? (() => {});
  const n = Math.max(1, lengths.length);
  const perBuffer = measurePerBuffer(lengths, backend, (i) => progress((i / n) * 0.5));
  const { result: slab, idealBytes } = measureSlabs(lengths, backend, (i) => progress(0.5 + (i / n) * 0.5));
  progress(1);
  const modelNeed = Math.max(perBuffer.modelBytes, slab.modelBytes);
  for (const s of [perBuffer, slab]) if (s.stopped !== null) s.stopped.advice = adviseStop(s.stopped, backend, modelNeed);
  const complete = perBuffer.stopped === null && slab.stopped === null;
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
    complete,
    idealBytes,
    ratios: {
      // Figures for different numbers of buffers are no comparison: no ratio unless both finished.
      perBufferOverSlab: complete && a !== null && b !== null && b > 0 ? a / b : null,
      slabOverIdeal: b !== null && idealBytes > 0 ? b / idealBytes : null,
      modelPerBufferOverSlab: slab.modelBytes > 0 && perBuffer.modelBytes > 0 ? perBuffer.modelBytes / slab.modelBytes : null,
    },
  };
}
