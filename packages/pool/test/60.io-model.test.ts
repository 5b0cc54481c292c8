/**
 * Model-based test of registered I/O's reference rule (docs/design.md, rule 2) against a fake
 * ring: submit receives and sends on leases, complete them in batches, cancel them, release the
 * caller's references, trim and close the pool, in any order. After every step: the allocator's
 * invariants hold, every lease an operation uses is still leased and its slab still registered
 * (the fake ring checks each operation's buffer at submission and at completion, and the
 * registrar refuses to deregister a buffer the ring or the model says is in use), and the
 * pool's lease count is what the model expects. The seed is printed; FC_SEED replays it.
 */
import fc from 'fast-check';
import type { Lease, MemoryRegistrar } from '@riopool/core';
import { checkInvariants, createMemoryPool } from '@riopool/pool/testing';
import { propertyParams } from '../../../test/support';
import { Reactor } from '../src/io/reactor';
import { allocatorOf, type Pool } from '../src/pool';
import { FakeRing } from './fake-ring';

interface Held {
  lease: Lease;
  bufferId: number;
  userRefs: number;
  ops: Set<number>;
}
interface Model {
  held: Held[];
  closing: boolean;
}
interface Real {
  pool: Pool;
  registrar: MemoryRegistrar;
  ring: FakeRing;
  reactor: Reactor;
}
type Cmd = fc.Command<Model, Real>;

const PAGE = 4096;
const FD = 7;

function live(m: Model): Held[] {
  return m.held.filter((h) => h.userRefs > 0 || h.ops.size > 0);
}

function check(m: Model, r: Real): void {
  checkInvariants(r.pool);
  const held = live(m);
  const leased = r.pool.stats().totals.leased;
  if (leased !== held.length) throw new Error(`pool has ${leased} leased, model ${held.length}`);
  for (const h of held) {
    if (h.lease.released) throw new Error('a lease still held by the caller or an operation reads as released');
    if (h.ops.size > 0 && r.registrar.registeredLength(h.bufferId) === undefined) {
      throw new Error(`buffer ${h.bufferId} deregistered with ${h.ops.size} operation(s) in flight`);
    }
  }
  for (const h of m.held)
    if (h.userRefs === 0 && h.ops.size === 0 && !h.lease.released) throw new Error('a lease nobody holds is not released');
  const ops = m.held.reduce((n, h) => n + h.ops.size, 0);
  if (r.reactor.leasesHeld !== ops) throw new Error(`reactor holds ${r.reactor.leasesHeld} leases, model ${ops}`);
}

class Acquire implements Cmd {
  constructor(readonly length: number) {}
  check = (m: Readonly<Model>) => !m.closing;
  run(m: Model, r: Real): void {
    const lease = r.pool.acquire(this.length);
    m.held.push({ lease, bufferId: lease.rioBuf.bufferId, userRefs: 1, ops: new Set() });
    check(m, r);
  }
  toString = () => `acquire(${this.length})`;
}

class Release implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.held.some((h) => h.userRefs > 0);
  run(m: Model, r: Real): void {
    const mine = m.held.filter((h) => h.userRefs > 0);
    const h = mine[this.pick % mine.length]!;
    h.userRefs--; // the model first: the registrar's outstanding check reads it
    h.lease.release();
    check(m, r);
  }
  toString = () => `release(#${this.pick})`;
}

class Submit implements Cmd {
  constructor(
    readonly pick: number,
    readonly send: boolean,
    readonly length: number,
  ) {}
  check = (m: Readonly<Model>) => m.held.some((h) => h.userRefs > 0);
  run(m: Model, r: Real): void {
    const mine = m.held.filter((h) => h.userRefs > 0);
    const h = mine[this.pick % mine.length]!;
    const { bufferId, offset, length } = h.lease.rioBuf;
    const n = Math.min(this.length, length);
    // The reactor calls this before it drops the operation's reference, so the model lets go
    // of the operation first, as the registrar's outstanding check expects.
    const done = () => {
      h.ops.delete(op);
    };
    const op = this.send
      ? r.reactor.send(FD, h.lease, bufferId, offset, n, done)
      : r.reactor.receive(FD, h.lease, bufferId, offset, n, done);
    h.ops.add(op);
    check(m, r);
  }
  toString = () => `${this.send ? 'send' : 'receive'}(#${this.pick}, ${this.length})`;
}

class Flush implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    r.reactor.flush();
    check(m, r);
  }
  toString = () => 'flush()';
}

class Complete implements Cmd {
  constructor(
    readonly positions: number[],
    readonly bytes: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.ring.completeBatch(this.positions, this.bytes);
    check(m, r);
  }
  toString = () => `complete([${this.positions.join(',')}], ${this.bytes})`;
}

class Cancel implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.held.some((h) => h.ops.size > 0);
  run(m: Model, r: Real): void {
    const ops = m.held.flatMap((h) => [...h.ops]);
    r.reactor.cancel(ops[this.pick % ops.length]!);
    check(m, r);
  }
  toString = () => `cancel(#${this.pick})`;
}

class Trim implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    r.pool.trim();
    check(m, r);
  }
  toString = () => 'trim()';
}

class Close implements Cmd {
  check = (m: Readonly<Model>) => !m.closing;
  run(m: Model, r: Real): void {
    m.closing = true;
    void r.pool.close();
    check(m, r);
  }
  toString = () => 'close()';
}

const length = fc.oneof(fc.constantFrom(512, 4096), fc.integer({ min: 1, max: 3 * PAGE }));
const commands = fc.commands(
  [
    length.map((n) => new Acquire(n)),
    length.map((n) => new Acquire(n)),
    fc.nat().map((i) => new Release(i)),
    fc.tuple(fc.nat(), fc.boolean(), length).map(([i, s, n]) => new Submit(i, s, n)),
    fc.tuple(fc.nat(), fc.boolean(), length).map(([i, s, n]) => new Submit(i, s, n)),
    fc.constant(new Flush()),
    fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.nat({ max: 5000 })).map(([p, b]) => new Complete(p, b)),
    fc.nat().map((i) => new Cancel(i)),
    fc.oneof({ arbitrary: fc.constant(new Trim()), weight: 6 }, { arbitrary: fc.constant(new Close()), weight: 1 }),
  ],
  { maxCommands: 120, size: 'max' },
);

test('operations in flight keep their leases and slabs, whatever the caller and the pool do (1,000 runs)', () => {
  fc.assert(
    fc.property(commands, (cmds) => {
      const model: Model = { held: [], closing: false };
      let ring: FakeRing | undefined;
      const pool = createMemoryPool({
        pageSize: PAGE,
        slabBytes: PAGE,
        emptySlabsKept: 0,
        emptySlabsMax: 0,
        outstanding: (id) => live(model).filter((h) => h.bufferId === id).length + (ring?.opsOn(id) ?? 0),
      });
      const registrar = allocatorOf(pool).registrar as MemoryRegistrar;
      ring = new FakeRing(registrar);
      const real: Real = { pool, registrar, ring, reactor: new Reactor(ring) };
      fc.modelRun(() => ({ model, real }), cmds);
      // Drain: every operation completes, every caller reference goes, the pool closes.
      real.reactor.flush();
      while (ring.inKernel.length > 0) ring.completeBatch([0], 1);
      for (const h of model.held) {
        while (h.userRefs > 0) {
          h.userRefs--;
          h.lease.release();
        }
      }
      void pool.close();
      check(model, real);
      if (registrar.liveRegistrations !== 0 || registrar.liveMappings !== 0) throw new Error('the closed pool left registrations');
    }),
    propertyParams('I/O model (fake ring)', 1000),
  );
});
