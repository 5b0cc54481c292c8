/**
 * fast-check arbitraries for pool workloads, and a runner that applies one to a pool with the
 * invariants checked after every step. A failing property prints fast-check's seed; replay it
 * with `fc.assert(property, { seed })`.
 *
 * The arbitraries are built with the fast-check module the caller passes (its own `fc`), never
 * one riopool loads: fast-check ships separate declarations for `import` and `require`, whose
 * Arbitrary types do not mix (TS2345, "separate declarations of a private property"), and one
 * module instance per test keeps fast-check's global settings in one place. The overloads give
 * back the Arbitrary type of whichever declarations the caller's `fc` has. fast-check is an
 * optional peer dependency: the rest of @riopool/pool/testing works without it.
 *
 *   import fc from 'fast-check';
 *   fc.assert(fc.property(workloadArbitrary(fc), (steps) => {
 *     const pool = createMemoryPool();
 *     const run = runWorkload(pool, steps);   // throws on a broken invariant
 *     run.releaseAll();
 *     assertNoOutstanding(pool);
 *   }));
 */
import { RioError, checkInvariants as checkAllocator, invalidOption, is, readOptions, shown, type Lease, type Schema } from '@riopool/core';
import { allocatorOf, checkPool, type Pool } from '../pool';

/** fast-check's declarations for `import` and for `require` (the same API, two declarations). */
type FastCheckEsm = typeof import('fast-check', { with: { 'resolution-mode': 'import' }});
type FastCheckCjs = typeof import('fast-check', { with: { 'resolution-mode': 'require' }});
type ArbitraryEsm<T> = import('fast-check', { with: { 'resolution-mode': 'import' }}).Arbitrary<T>;
type ArbitraryCjs<T> = import('fast-check', { with: { 'resolution-mode': 'require' }}).Arbitrary<T>;

/** The fast-check functions the arbitraries call. */
type Used = 'array' | 'constantFrom' | 'integer' | 'nat' | 'oneof';
/** fast-check as an ES module gives it: `import fc from 'fast-check'` or `import * as fc from 'fast-check'`. */
export type FastCheckModuleEsm = Pick<FastCheckEsm, Used>;
/** fast-check as CommonJS gives it: `require('fast-check')` or `import fc = require('fast-check')`. */
export type FastCheckModuleCjs = Pick<FastCheckCjs, Used>;

type AnyArbitrary<T> = ArbitraryEsm<T> | ArbitraryCjs<T>;

/** The caller's fast-check, checked: a clear error instead of "fc.oneof is not a function". */
function fastCheck(fc: unknown, caller: string): FastCheckModuleCjs {
  const f = fc as Record<Used, unknown> | null | undefined;
  let usable = false;
  try {
    usable =
      (typeof f === 'object' || typeof f === 'function') &&
      f !== null &&
      (['array', 'constantFrom', 'integer', 'nat', 'oneof'] as const).every((k) => typeof f[k] === 'function');
  } catch {
    usable = false; // a revoked proxy, a getter that throws
  }
  if (!usable) {
    throw new RioError(
      'ERR_RIO_INVALID_OPTION',
      `${caller}(fc, options?): the first argument must be your fast-check module (import fc from 'fast-check'; npm i -D fast-check)`,
    );
  }
  return f as FastCheckModuleCjs;
}

/** One step of a workload: acquire a length, or retain / release the live lease at `pick`. */
export type WorkloadStep = { kind: 'acquire'; length: number } | { kind: 'retain'; pick: number } | { kind: 'release'; pick: number };

export interface LengthOptions {
  /** The longest length (default 3 pages). */
  max?: number;
  /** The page size the weights are about (default 4096). */
  pageSize?: number;
}

export interface WorkloadOptions extends LengthOptions {
  /** The most steps in a workload (default 200). */
  maxSteps?: number;
}

/** The options of the arbitraries: bounded, so that no number a caller passes exhausts the heap. */
const LENGTH_SCHEMA: Schema = {
  max: is.int(1, 2 ** 30),
  pageSize: (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 64 && v <= 1 << 20 && (v & (v - 1)) === 0
      ? undefined
      : 'must be a power of two from 64 to 1048576',
};
const WORKLOAD_SCHEMA: Schema = { ...LENGTH_SCHEMA, maxSteps: is.int(0, 100_000) };

function lengths(fc: FastCheckModuleCjs, options: LengthOptions): ArbitraryCjs<number> {
  const page = options.pageSize ?? 4096;
  const max = Math.max(1, options.max ?? 3 * page);
  const upTo = (n: number) => Math.min(n, max);
  // The hot sizes that fit under max (none below 512: fc.constantFrom() needs a value).
  const hot = [512, page].filter((n) => n <= max);
  return fc.oneof(
    ...(hot.length > 0 ? [{ arbitrary: fc.constantFrom(...hot), weight: 6 }] : []),
    { arbitrary: fc.integer({ min: 1, max: upTo(128) }), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: upTo(page) }), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max }), weight: 1 },
  );
}

/**
 * Request lengths weighted like a server's: a few hot sizes, then small, page-sized and (up to
 * `max`) larger-than-a-page requests, so classes fill several slabs and cross their boundaries.
 */
export function lengthArbitrary(fc: FastCheckModuleEsm, options?: LengthOptions): ArbitraryEsm<number>;
export function lengthArbitrary(fc: FastCheckModuleCjs, options?: LengthOptions): ArbitraryCjs<number>;
export function lengthArbitrary(fc: FastCheckModuleEsm | FastCheckModuleCjs, options: LengthOptions = {}): AnyArbitrary<number> {
  const f = fastCheck(fc, 'lengthArbitrary');
  return lengths(f, readOptions<LengthOptions>('lengthArbitrary', options, LENGTH_SCHEMA));
}

/** Sequences of acquire / retain / release steps (releases outnumber retains). */
export function workloadArbitrary(fc: FastCheckModuleEsm, options?: WorkloadOptions): ArbitraryEsm<WorkloadStep[]>;
export function workloadArbitrary(fc: FastCheckModuleCjs, options?: WorkloadOptions): ArbitraryCjs<WorkloadStep[]>;
export function workloadArbitrary(
  fc: FastCheckModuleEsm | FastCheckModuleCjs,
  options: WorkloadOptions = {},
): AnyArbitrary<WorkloadStep[]> {
  const f = fastCheck(fc, 'workloadArbitrary');
  options = readOptions<WorkloadOptions>('workloadArbitrary', options, WORKLOAD_SCHEMA);
  const step: ArbitraryCjs<WorkloadStep> = f.oneof(
    { arbitrary: lengths(f, options).map((length) => ({ kind: 'acquire' as const, length })), weight: 3 },
    { arbitrary: f.nat().map((pick) => ({ kind: 'retain' as const, pick })), weight: 1 },
    { arbitrary: f.nat().map((pick) => ({ kind: 'release' as const, pick })), weight: 3 },
  );
  return f.array(step, { maxLength: options.maxSteps ?? 200 });
}

export interface WorkloadRun {
  /** The leases still held, with the references this run holds on each. */
  readonly live: { lease: Lease; refs: number }[];
  /** Releases every reference this run still holds. */
  releaseAll(): void;
}

/** A step as workloadArbitrary makes them, read once (a getter runs once); else ERR_RIO_INVALID_OPTION. */
function readStep(steps: readonly unknown[], index: number): WorkloadStep {
  let value: unknown;
  let kind: unknown;
  let n: unknown;
  try {
    value = steps[index];
    kind = (value as { kind?: unknown }).kind; // throws for null, undefined or a revoked proxy
    n = kind === 'acquire' ? (value as { length?: unknown }).length : (value as { pick?: unknown }).pick;
  } catch (cause) {
    throw new RioError('ERR_RIO_INVALID_OPTION', `runWorkload: steps[${index}] could not be read`, { cause });
  }
  const bad = (why: string) => invalidOption('runWorkload', `steps[${index}]`, value, why);
  if (typeof value !== 'object' || value === null) throw bad('must be a step object');
  if (kind === 'acquire') return { kind, length: n as number }; // the length: pool.acquire checks it
  if (kind !== 'retain' && kind !== 'release') throw bad("must have kind 'acquire', 'retain' or 'release'");
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad(`pick: ${shown(n)} must be a non-negative integer`);
  return { kind, pick: n };
}

/**
 * Applies the steps to the pool, checking its invariants after each. A step that throws (a bad
 * step, a length the pool refuses, a broken invariant) releases every reference the run took
 * before the error reaches the caller: a failing run leaks nothing.
 */
export function runWorkload(pool: Pool, steps: readonly WorkloadStep[]): WorkloadRun {
  checkPool('runWorkload', pool, true);
  let count: number;
  try {
    count = Array.isArray(steps) ? steps.length : -1; // a revoked proxy throws
  } catch (cause) {
    throw new RioError('ERR_RIO_INVALID_OPTION', 'runWorkload: steps could not be read', { cause });
  }
  if (count < 0) throw invalidOption('runWorkload', 'steps', steps, 'must be an array of steps (workloadArbitrary)');
  const alloc = allocatorOf(pool);
  const live: { lease: Lease; refs: number }[] = [];
  const releaseAll = () => {
    for (const held of live.splice(0)) for (let r = 0; r < held.refs; r++) held.lease.release();
  };
  try {
    for (let k = 0; k < count; k++) {
      const step = readStep(steps, k);
      if (step.kind === 'acquire') {
        live.push({ lease: pool.acquire(step.length), refs: 1 });
      } else if (live.length > 0) {
        const i = step.pick % live.length;
        const held = live[i]!;
        if (step.kind === 'retain') {
          held.lease.retain();
          held.refs++;
        } else {
          held.lease.release();
          if (--held.refs === 0) live.splice(i, 1);
        }
      }
      checkAllocator(alloc);
    }
  } catch (e) {
    releaseAll();
    throw e;
  }
  return {
    live,
    releaseAll() {
      releaseAll();
      checkAllocator(alloc);
    },
  };
}
