/**
 * The allocator's model-based test (packages/core/test/model) on the real addon: an Allocator
 * over the test's ModelRegistrar over the native io_uring registrar (Linux). After every command,
 * beside the model's checks, the kernel's count of pinned memory (VmPin in /proc/self/status)
 * must have moved from where the run started by exactly the bytes of the slabs the model says
 * are registered: an overflow slab pins nothing, a retired slab's pages are unpinned, a slab a
 * lease, a slice or a handle holds stays pinned. Few runs (each opens a ring and registers real
 * memory); the seed is printed, FC_SEED replays it, FC_RUNS asks for more.
 */
import fc from 'fast-check';
import { Allocator } from '@riopool/core';
import { propertyParams } from '../../../test/support';
import {
  allocatorOptions,
  checkAll,
  commandsArb,
  modelAndRegistrar,
  releaseEverything,
  setupArb,
  ModelRegistrar,
  PAGE,
} from '../../core/test/model/commands';
import { sum, type Model } from '../../core/test/model/model';
import { loadBinding, openBackend } from '../src/backend';
import { isLinux } from './helpers';

const pinned = (): number => loadBinding().memoryStatus().pinned ?? NaN;

const linux = isLinux ? test : test.skip;

linux('on the io_uring registrar, VmPin moves by exactly the bytes of the slabs the model says are registered (100 runs)', () => {
  expect(loadBinding().pageSize()).toBe(PAGE);
  fc.assert(
    fc.property(commandsArb, setupArb, (cmds, o) => {
      const { registrar: native } = openBackend({ backend: 'uring' });
      const { model, registrar } = modelAndRegistrar(o, native, ModelRegistrar);
      const alloc = new Allocator(registrar, allocatorOptions(o));
      const base = pinned();
      const extraCheck = (m: Model): void => {
        const want = sum(m.slabs.filter((s) => s.bufferId >= 0).map((s) => s.bytes));
        const got = pinned() - base;
        if (got !== want) throw new Error(`VmPin moved by ${got} bytes, the model's registered slabs are ${want} bytes`);
      };
      const real = { pool: alloc, alloc, registrar, tick: () => alloc.decay(), closed: undefined, extraCheck };
      try {
        fc.modelRun(() => ({ model, real }), cmds);
        releaseEverything(model, real);
        model.closing = true;
        void alloc.close();
        checkAll(model, real); // nothing registered: VmPin is back where the run started
      } finally {
        if (!alloc.closed) native.close(); // a failed run: let the ring go (its registrations with it)
      }
    }),
    propertyParams('native model (VmPin)', 100),
  );
});
