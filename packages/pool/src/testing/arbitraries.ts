/**
 * fast-check arbitraries for pool workloads, and a runner that applies one to a pool with the
 * invariants checked after every step. A failing property prints fast-check's seed; replay it
 * with `fc.assert(property, { seed })`. fast-check is loaded when an arbitrary is first made, so
 * the rest of @riopool/pool/testing works without it (it is an optional peer dependency).
 *
 *   fc.assert(fc.property(workloadArbitrary(), (steps) => {
 *     const pool = createMemoryPool();
 *     const run = runWorkload(pool, steps);   // throws on a broken invariant
 *     run.releaseAll();
 *     assertNoOutstanding(pool);
 *   }));
 */
import type * as FastCheck from 'fast-check';
import { RioError, checkInvariants as checkAllocator, type Lease } from '@riopool/core';
import { allocatorOf, type Pool } from '../pool';

let loaded: typeof FastCheck | undefined;

function fastCheck(): typeof FastCheck {
  if (loaded === undefined) {
    try {
      loaded = require('fast-check') as typeof FastCheck;
    } catch (e) {
      throw new RioError('ERR_RIO_INVALID_OPTION', '@riopool/pool/testing: the arbitraries need fast-check (npm i -D fast-check)', {
        cause: e,
      });
    }
  }
  return loaded;
}

/** One step of a workload: acquire a length, or retain / release the live lease at `pick`. */
export type WorkloadStep = { kind: 'acquire'; length: number } | { kind: 'retain'; pick: number } | { kind: 'release'; pick: number };

/**
 * Request lengths weighted like a server's: a few hot sizes, then small, page-sized and (up to
 * `max`) larger-than-a-page requests, so classes fill several slabs and cross their boundaries.
 */
export function lengthArbitrary(options: { max?: number; pageSize?: number } = {}): FastCheck.Arbitrary<number> {
  const fc = fastCheck();
  const page = options.pageSize ?? 4096;
  const max = Math.max(1, options.max ?? 3 * page);
  const upTo = (n: number) => Math.min(n, max);
  return fc.oneof(
    { arbitrary: fc.constantFrom(...[512, page].filter((n) => n <= max)), weight: 6 },
    { arbitrary: fc.integer({ min: 1, max: upTo(128) }), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: upTo(page) }), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max }), weight: 1 },
  );
}

/** Sequences of acquire / retain / release steps (releases outnumber retains). */
export function workloadArbitrary(
  options: { maxSteps?: number; max?: number; pageSize?: number } = {},
): FastCheck.Arbitrary<WorkloadStep[]> {
  const fc = fastCheck();
  const step: FastCheck.Arbitrary<WorkloadStep> = fc.oneof(
    { arbitrary: lengthArbitrary(options).map((length) => ({ kind: 'acquire' as const, length })), weight: 3 },
    { arbitrary: fc.nat().map((pick) => ({ kind: 'retain' as const, pick })), weight: 1 },
    { arbitrary: fc.nat().map((pick) => ({ kind: 'release' as const, pick })), weight: 3 },
  );
  return fc.array(step, { maxLength: options.maxSteps ?? 200 });
}

export interface WorkloadRun {
  /** The leases still held, with the references this run holds on each. */
  readonly live: { lease: Lease; refs: number }[];
  /** Releases every reference this run still holds. */
  releaseAll(): void;
}

/** Applies the steps to the pool, checking its invariants after each. */
export function runWorkload(pool: Pool, steps: readonly WorkloadStep[]): WorkloadRun {
  const alloc = allocatorOf(pool);
  const live: { lease: Lease; refs: number }[] = [];
  for (const step of steps) {
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
  return {
    live,
    releaseAll() {
      for (const held of live.splice(0)) for (let r = 0; r < held.refs; r++) held.lease.release();
      checkAllocator(alloc);
    },
  };
}
