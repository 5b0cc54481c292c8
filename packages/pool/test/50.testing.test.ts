/** @riopool/pool/testing: the tools a user's own tests get, exercised as a user would. */
import fc from 'fast-check';
import {
  assertNoOutstanding,
  checkInvariants,
  createCheckedPool,
  createMemoryPool,
  describeHandle,
  lengthArbitrary,
  runWorkload,
  workloadArbitrary,
} from '@riopool/pool/testing';
import type { PoolReport } from '@riopool/pool';
import { propertyParams } from '../../../test/support';
import { code } from './helpers';

test('a random workload on the in-memory pool keeps every invariant and gives every lease back', () => {
  fc.assert(
    fc.property(workloadArbitrary(fc, { maxSteps: 150 }), (steps) => {
      const pool = createMemoryPool({ slabBytes: 4096 });
      const run = runWorkload(pool, steps);
      expect(pool.stats().totals.leased).toBe(run.live.length);
      run.releaseAll();
      assertNoOutstanding(pool);
      expect(pool.stats().backend).toBe('memory');
    }),
    propertyParams('testing: workloads', 200),
  );
});

test('lengthArbitrary stays within max', () => {
  fc.assert(
    fc.property(lengthArbitrary(fc, { max: 700 }), (n) => Number.isInteger(n) && n >= 1 && n <= 700),
    propertyParams('testing: lengths', 200),
  );
});

test('lengthArbitrary works below the hot sizes (max under 512)', () => {
  const seen = fc.sample(lengthArbitrary(fc, { max: 100 }), { numRuns: 500, seed: 1 });
  expect(seen.every((n) => Number.isInteger(n) && n >= 1 && n <= 100)).toBe(true);
  expect(fc.sample(lengthArbitrary(fc, { max: 1 }), { numRuns: 20, seed: 1 })).toEqual(new Array(20).fill(1));
});

test('the arbitraries are built with the fast-check module they are given, and say so when it is missing', () => {
  // A stand-in module that records the calls and hands them to the real fast-check.
  const calls: string[] = [];
  const spy = Object.fromEntries(
    (['array', 'constantFrom', 'integer', 'nat', 'oneof'] as const).map((name) => [
      name,
      (...args: unknown[]) => {
        calls.push(name);
        return (fc[name] as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as unknown as typeof fc;
  const steps = fc.sample(workloadArbitrary(spy, { maxSteps: 5 }), { numRuns: 10, seed: 2 });
  expect(steps.every((s) => Array.isArray(s) && s.length <= 5)).toBe(true);
  expect(new Set(calls)).toEqual(new Set(['array', 'constantFrom', 'integer', 'nat', 'oneof']));
  for (const call of [
    () => (workloadArbitrary as any)(),
    () => (workloadArbitrary as any)({ maxSteps: 5 }),
    () => (lengthArbitrary as any)(null),
  ]) {
    expect(call).toThrow(code('ERR_RIO_INVALID_OPTION'));
    expect(call).toThrow(/first argument must be your fast-check module/);
  }
});

test('assertNoOutstanding names what is still leased; describeHandle decodes a handle', async () => {
  const pool = createMemoryPool();
  const lease = pool.acquire(100);
  expect(() => assertNoOutstanding(pool)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  expect(() => assertNoOutstanding(pool)).toThrow(/1 lease\(s\) outstanding \(1 of 112 B\)/);
  const out = { bufferId: 0, offset: 0, length: 0 };
  const h = pool.acquireInto(300, out);
  const seen = { bufferId: -1, offset: -1, length: -1 };
  expect(describeHandle(pool, h, seen)).toBe(320);
  expect(seen).toEqual(out);
  pool.releaseHandle(h);
  describeHandle(pool, h, seen);
  expect(seen.length).toBe(0);
  expect(() => describeHandle(pool, -1, seen)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  lease.release();
  assertNoOutstanding(pool);
  checkInvariants(pool);
  await pool.close();
});

test('createCheckedPool is a native pool in checked mode', async () => {
  // The report goes to onReport (by default a process warning, which a passing run must not print).
  const reported: PoolReport[] = [];
  const pool = createCheckedPool({ backend: 'none', onReport: (r) => reported.push(r) });
  expect(pool.stats().pool).toMatchObject({ checked: true, leakDetection: true });
  const lease = pool.acquire(64);
  const bytes = lease.bytes;
  lease.release();
  bytes[0] = 1; // a write after release
  expect(pool.checkPoison().map((r) => r.kind)).toEqual(['write-after-release']);
  expect(reported.map((r) => r.kind)).toEqual(['write-after-release']);
  expect(reported[0]!.message).toMatch(/written after its release/);
  await pool.close();
});
