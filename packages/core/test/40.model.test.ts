/**
 * Model-based property test of Allocator: acquire / retain / release / slice / acquireInto /
 * releaseHandle / stale and forged use / bad input / trim / decay / the registrar's limit / close
 * against a simple model, checked after every step (model/commands.ts lists the pieces).
 * 2,000 runs; the seed is printed, and FC_SEED=<seed> replays it.
 */
import fc from 'fast-check';
import { propertyParams } from '../../../test/support';
import { AcquireCommand, ReleaseCommand } from './model/leases';
import { setup, checkAll, commandsArb, lengthArb, releaseEverything, setupArb, PAGE } from './model/commands';

test('Allocator behaves like its model (2,000 runs)', () => {
  fc.assert(
    fc.property(commandsArb, setupArb, (cmds, o) => {
      const { model, real } = setup(o);
      fc.modelRun(() => ({ model, real }), cmds);
      // Release what is left, then close: everything must be deregistered and unmapped.
      releaseEverything(model, real);
      model.closing = true;
      void real.pool.close();
      checkAll(model, real);
    }),
    propertyParams('Allocator model', 2000),
  );
});

test('live slots never overlap and lie inside their registration (random acquire/release mixes)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(lengthArb, fc.nat()), { minLength: 1, maxLength: 300 }), (steps) => {
      const { model, real } = setup({ emptySlabsKept: 0, emptySlabsMax: 1, overflow: true, limit: Infinity, maxRegistrations: Infinity });
      for (const [length, pick] of steps) {
        new AcquireCommand(length).run(model, real);
        if (pick % 2 === 1 && model.held.length > 1) new ReleaseCommand(pick).run(model, real);
      }
      // Every registration is a whole number of pages.
      for (const s of model.slabs) expect(real.registrar.mapped.get(s.buffer)! % PAGE).toBe(0);
    }),
    propertyParams('no overlap', 300),
  );
});
