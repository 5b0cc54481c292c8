/**
 * The allocator's model-based test (packages/core/test/model), run through the public facade:
 * every command calls @riopool/pool's Pool, whose registrar is the test's ModelRegistrar over
 * the in-memory registrar (the pool is made as @riopool/pool/testing's createMemoryPool makes
 * one, through poolOn), including slices, handles, stale and foreign calls; decay ticks come
 * from the pool's own timer, on jest's fake clock. The whole pool is compared with the model
 * after every step. The seed is printed; FC_SEED replays it.
 */
import fc from 'fast-check';
import { MemoryRegistrar } from '@riopool/core';
import { propertyParams } from '../../../test/support';
import {
  ModelRegistrar,
  allocatorOptions,
  checkAll,
  commandsArb,
  modelAndRegistrar,
  releaseEverything,
  setupArb,
  PAGE,
  type Real,
} from '../../core/test/model/commands';
import type { PoolRegistrar } from '../src/backend';
import { DECAY_MS, allocatorOf, poolOn } from '../src/pool';

/** The test's registrar with what a pool needs beside it, as the in-memory pool's (testing/index.ts). */
class PoolModelRegistrar extends ModelRegistrar implements PoolRegistrar {
  override readonly backend = 'memory' as const;
  residentBytes(): null {
    return null;
  }
  memoryStatus() {
    return { pinned: null, locked: null, rss: null, lockLimit: null };
  }
  ring(): string {
    return 'the in-memory registrar has no ring';
  }
  keepOpenWhile(): void {}
}

beforeAll(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] }));
afterAll(() => jest.useRealTimers());

test('the public Pool behaves like the allocator model: slices, handles, decay, overflow, stale and foreign calls (500 runs)', () => {
  fc.assert(
    fc.property(commandsArb, setupArb, (cmds, o) => {
      jest.clearAllTimers(); // a failed run's pool was not closed: its decay timer must not tick this run's clock
      const { model, registrar } = modelAndRegistrar(o, new MemoryRegistrar({ pageSize: PAGE }), PoolModelRegistrar);
      const pool = poolOn(registrar, [], allocatorOptions(o));
      const real: Real = { pool, alloc: allocatorOf(pool), registrar, tick: () => jest.advanceTimersByTime(DECAY_MS), closed: undefined };
      fc.modelRun(() => ({ model, real }), cmds);
      releaseEverything(model, real);
      model.closing = true;
      void pool.close();
      checkAll(model, real);
    }),
    propertyParams('Pool facade model', 500),
  );
});
