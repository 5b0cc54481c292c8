/**
 * The model-based test of Allocator (fc.commands): its setup, its arbitraries and the list of
 * commands. The pieces, by concept:
 *
 *   model.ts      the model: what the test holds (leases, slices, handles), which slabs exist,
 *                 the registration budget; its predictions for each acquire
 *   registrar.ts  the test's registrar: its own book of mappings and registrations, a limit it
 *                 refuses past, and deregister / unmap refused while the model holds the slab
 *   check.ts      checkAll, run after every command: invariants, no slot handed out twice,
 *                 nothing retired while held, stats() equal to the model's counts
 *   leases.ts     acquire, retain, release, stale use, bad lengths, foreign calls
 *   slices.ts     slice, bad slice ranges
 *   handles.ts    acquireInto, releaseHandle, stale and forged handles
 *   lifetime.ts   trim, decay (the test's clock), the registrar's limit changing, close
 *
 * The real system is an Allocator over a ModelRegistrar over a MemoryRegistrar (here), the
 * public Pool (packages/pool/test/40.model.test.ts) or the native addon's registrar
 * (packages/pool/test/41.model-native.test.ts).
 */
import fc from 'fast-check';
import { Allocator, MemoryRegistrar, type Registrar } from '@riopool/core';
import { checkAll, type Real } from './check';
import { dropRef, heldIn, newModel, outstandingIn, type Model } from './model';
import { ModelRegistrar, type RegistrarChecks } from './registrar';
import { AcquireCommand, BadAcquireCommand, ForeignCallCommand, ReleaseCommand, RetainCommand, StaleUseCommand } from './leases';
import { BadSliceCommand, SliceCommand, badRangeArb } from './slices';
import { AcquireIntoCommand, BadHandleCommand, ReleaseHandleCommand } from './handles';
import { CloseCommand, DecayCommand, SetLimitCommand, TrimCommand } from './lifetime';

export { checkAll, type Real, type PoolLike } from './check';
export { newModel, outstandingIn, type Model } from './model';
export { ModelRegistrar } from './registrar';

export const PAGE = 4096;

/** Small slabs keep every invariant check cheap and make slab boundaries frequent. */
export const SLAB_BYTES = PAGE;

/** A run's configuration: the allocator's options and the test registrar's limits. */
export interface SetupOptions {
  emptySlabsKept: number;
  emptySlabsMax: number;
  /** undefined: the default (unlimited, and emptyBytesMax 4 MiB). */
  maxRegisteredBytes?: number;
  emptyBytesMax?: number;
  overflow: boolean;
  /** The registrar's limits (ModelRegistrar). */
  limit: number;
  maxRegistrations: number;
}

/**
 * Configurations: half without limits (as before the budget existed), half with a budget, a
 * registrar that refuses past a few slabs, a bound on empty bytes, and sometimes overflow off.
 */
export const setupArb: fc.Arbitrary<SetupOptions> = fc
  .record({
    emptySlabsKept: fc.integer({ min: 0, max: 2 }),
    extra: fc.integer({ min: 0, max: 3 }),
    limited: fc.boolean(),
    budgetPages: fc.option(fc.integer({ min: 0, max: 24 }), { nil: undefined }),
    limitPages: fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined }),
    maxRegistrations: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    emptyPages: fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined }),
    overflow: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
  })
  .map((o) => ({
    emptySlabsKept: o.emptySlabsKept,
    emptySlabsMax: o.emptySlabsKept + o.extra,
    ...(o.limited && o.budgetPages !== undefined ? { maxRegisteredBytes: o.budgetPages * PAGE } : {}),
    ...(o.limited && o.emptyPages !== undefined ? { emptyBytesMax: o.emptyPages * PAGE } : {}),
    overflow: !o.limited || o.overflow,
    limit: o.limited && o.limitPages !== undefined ? o.limitPages * PAGE : Infinity,
    maxRegistrations: o.limited && o.maxRegistrations !== undefined ? o.maxRegistrations : Infinity,
  }));

/** The allocator's options of a configuration. */
export function allocatorOptions(o: SetupOptions) {
  return {
    slabBytes: SLAB_BYTES,
    emptySlabsKept: o.emptySlabsKept,
    emptySlabsMax: o.emptySlabsMax,
    overflow: o.overflow,
    ...(o.maxRegisteredBytes !== undefined ? { maxRegisteredBytes: o.maxRegisteredBytes } : {}),
    ...(o.emptyBytesMax !== undefined ? { emptyBytesMax: o.emptyBytesMax } : {}),
  };
}

/** A fresh model and the test's registrar over `inner` (of class `Make`, a ModelRegistrar), wired together. */
export function modelAndRegistrar<R extends ModelRegistrar>(
  o: SetupOptions,
  inner: Registrar,
  Make: new (inner: Registrar, checks: RegistrarChecks) => R,
): { model: Model; registrar: R } {
  const model = newModel(o);
  const registrar = new Make(inner, { outstanding: outstandingIn(model), held: heldIn(model) });
  registrar.limit = o.limit;
  registrar.maxRegistrations = o.maxRegistrations;
  return { model, registrar };
}

/** A fresh model and the real system (an Allocator over a ModelRegistrar over a MemoryRegistrar). */
export function setup(o: SetupOptions): { model: Model; real: Real } {
  const { model, registrar } = modelAndRegistrar(o, new MemoryRegistrar({ pageSize: PAGE }), ModelRegistrar);
  const alloc = new Allocator(registrar, allocatorOptions(o));
  return { model, real: { pool: alloc, alloc, registrar, tick: () => alloc.decay(), closed: undefined } };
}

/** Releases every reference the test still holds (model first, as the commands do), checking after each. */
export function releaseEverything(m: Model, r: Real): void {
  for (let h = m.held.find((x) => x.userRefs > 0); h !== undefined; h = m.held.find((x) => x.userRefs > 0)) {
    dropRef(m, h);
    if (h.lease !== undefined) h.lease.release();
    else r.pool.releaseHandle(h.handle);
    checkAll(m, r);
  }
  if (m.held.length !== 0) throw new Error('model: something is held that no reference of the test holds');
}

/**
 * Lengths that cover the small classes, the page classes and dedicated slabs, weighted toward a
 * few hot sizes so that classes fill several slabs (slab boundaries, retirement among slabs
 * that still hold leases).
 */
export const lengthArb = fc.oneof(
  { arbitrary: fc.constantFrom(500, 4096), weight: 6 },
  { arbitrary: fc.constantFrom(3000, 9000), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 128 }), weight: 1 },
  { arbitrary: fc.integer({ min: 129, max: PAGE }), weight: 1 },
  { arbitrary: fc.integer({ min: PAGE + 1, max: 3 * PAGE }), weight: 1 },
);

export const badLengthArb = fc.oneof(
  fc.constantFrom(0, -1, NaN, Infinity, -Infinity, 1.5, 2 ** 31, 2 ** 53),
  fc.integer({ max: 0 }),
  fc.double({ noInteger: true }),
  fc.string(),
  fc.constant(undefined),
  fc.constant(null),
  fc.bigInt({ min: 1n, max: 100n }),
);

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

export const commandsArb = fc.commands(
  [
    lengthArb.map((n) => new AcquireCommand(n)),
    fc.tuple(lengthArb, fc.integer({ min: 2, max: 12 })).map(([n, k]) => new AcquireCommand(n, k)),
    lengthArb.map((n) => new AcquireIntoCommand(n)),
    fc.nat().map((i) => new RetainCommand(i)),
    fc.nat().map((i) => new ReleaseCommand(i)),
    fc.nat().map((i) => new ReleaseCommand(i)),
    fc.nat().map((i) => new ReleaseHandleCommand(i)),
    fc.tuple(fc.nat(), fraction, fraction).map(([i, a, b]) => new SliceCommand(i, a, b)),
    fc.nat().map((i) => new StaleUseCommand(i)),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 2047 })).map(([i, f]) => new BadHandleCommand(i, f)),
    fc.oneof(
      fc.nat().map((i) => new ForeignCallCommand(i)),
      badLengthArb.map((b) => new BadAcquireCommand(b)),
      fc.tuple(fc.nat(), badRangeArb).map(([i, b]) => new BadSliceCommand(i, b.range, b.shown)),
    ),
    fc.constant(new DecayCommand()),
    fc.constant(new DecayCommand()),
    fc
      .oneof(
        fc.constant(Infinity),
        fc.integer({ min: 0, max: 16 }).map((p) => p * PAGE),
      )
      .map((l) => new SetLimitCommand(l)),
    // close() ends a run's acquires, so it comes rarely: 1 in 16 of this entry.
    fc.oneof({ arbitrary: fc.constant(new TrimCommand()), weight: 15 }, { arbitrary: fc.constant(new CloseCommand()), weight: 1 }),
  ],
  { maxCommands: 150, size: 'max' },
);
