/**
 * The allocator's model-based test (packages/core/test/model), run through the public facade:
 * every command calls @riopool/pool's Pool (over the in-memory registrar of
 * @riopool/pool/testing), including the calls with stale and foreign objects, and the whole
 * pool is compared with the model after every step. The seed is printed; FC_SEED replays it.
 */
import fc from 'fast-check';
import { createMemoryPool } from '@riopool/pool/testing';
import { propertyParams } from '../../../test/support';
import { checkAll, commandsArb, newModel, outstandingIn, PAGE, SLAB_BYTES, type Real } from '../../core/test/model/commands';
import { allocatorOf } from '../src/pool';

test('the public Pool behaves like the allocator model, stale and foreign calls included (500 runs)', () => {
  fc.assert(
    fc.property(commandsArb, fc.integer({ min: 0, max: 2 }), (cmds, kept) => {
      const model = newModel();
      const pool = createMemoryPool({
        pageSize: PAGE,
        slabBytes: SLAB_BYTES,
        emptySlabsKept: kept,
        emptySlabsMax: kept + 2,
        outstanding: outstandingIn(model),
      });
      const alloc = allocatorOf(pool);
      const real: Real = { pool, alloc, registrar: alloc.registrar as Real['registrar'], closed: undefined };
      fc.modelRun(() => ({ model, real }), cmds);
      for (const l of model.live.splice(0)) for (let r = 0; r < l.refs; r++) l.lease.release();
      model.closing = true;
      void pool.close();
      checkAll(model, real);
    }),
    propertyParams('Pool facade model', 500),
  );
});
