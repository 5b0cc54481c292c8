/**
 * Model-based property test of Allocator: acquire / retain / release / stale use / bad input /
 * trim / close against a simple model, invariants checked after every step (model/commands.ts).
 * 2,000 runs; the seed is printed, and FC_SEED=<seed> replays it.
 */
import fc from 'fast-check';
import { propertyParams } from '../../../test/support';
import { setup, checkAll, commandsArb, lengthArb, PAGE } from './model/commands';

test('Allocator behaves like its model (2,000 runs)', () => {
  fc.assert(
    fc.property(
      commandsArb,
      fc.record({ emptySlabsKept: fc.integer({ min: 0, max: 2 }), extra: fc.integer({ min: 0, max: 3 }) }),
      (cmds, o) => {
        const { model, real } = setup({ emptySlabsKept: o.emptySlabsKept, emptySlabsMax: o.emptySlabsKept + o.extra });
        fc.modelRun(() => ({ model, real }), cmds);
        // Release what is left, then close: everything must be deregistered and unmapped.
        for (const l of [...model.live]) {
          while (l.refs > 1) {
            l.lease.release();
            l.refs--;
          }
          model.live.splice(model.live.indexOf(l), 1);
          l.lease.release();
        }
        model.closing = true;
        void real.pool.close();
        checkAll(model, real);
      },
    ),
    propertyParams('Allocator model', 2000),
  );
});

test('live slices never overlap and lie inside their registration (random acquire/release mixes)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(lengthArb, fc.boolean()), { minLength: 1, maxLength: 300 }), (steps) => {
      const { model, real } = setup({ emptySlabsKept: 0, emptySlabsMax: 1 });
      for (const [length, releaseOne] of steps) {
        const lease = real.pool.acquire(length);
        model.live.push({ lease, bufferId: lease.rioBuf.bufferId, offset: lease.rioBuf.offset, length, refs: 1, fill: 1 });
        if (releaseOne && model.live.length > 1) {
          const victim = model.live.splice(length % model.live.length, 1)[0]!;
          victim.lease.release();
        }
      }
      checkAll(model, real);
      // Every registration is a whole number of pages.
      for (const l of model.live) expect(real.registrar.registeredLength(l.bufferId)! % PAGE).toBe(0);
    }),
    propertyParams('no overlap', 300),
  );
});
