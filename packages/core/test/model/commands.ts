/**
 * Commands for the model-based test of Allocator (fc.commands).
 *
 * The model is deliberately simple: the list of live leases with their reference counts and
 * the byte each one filled its memory with, the leases already released, and whether close()
 * was called. The real system is a Allocator over a MemoryRegistrar whose `outstanding` check
 * asks the model, so a deregistration the pool should not make is refused independently of the
 * pool's own accounting.
 *
 * Each acquire checks the slot's size against the class table. After every command, checkAll()
 * runs checkInvariants(pool) and checks, against the model:
 * leased counts, that no two live slices overlap, that each lies inside its slab's
 * registration, and (at release) that a lease's bytes still hold what its owner wrote.
 */
import fc from 'fast-check';
import { Allocator, MemoryRegistrar, isRioError, checkInvariants, leaseSlot, handleOf, Lease, type RioBufOut } from '@riopool/core';

export interface LiveLease {
  lease: Lease;
  bufferId: number;
  offset: number;
  length: number;
  refs: number;
  fill: number;
}

export interface Model {
  live: LiveLease[];
  released: { lease: Lease; bytes: Uint8Array }[];
  closing: boolean;
  nextFill: number;
}

/** The public calls the commands make: Allocator's, and the same on @riopool/pool's facade. */
export interface PoolLike {
  acquire(length: number): Lease;
  acquireInto(length: number, out: RioBufOut): number;
  releaseHandle(handle: number): void;
  view(bufferId: number): Uint8Array;
  trim(): number;
  close(): Promise<void>;
}

export interface Real {
  /** What the commands call. */
  pool: PoolLike;
  /** The allocator behind it, for the invariant check and the closed state. */
  alloc: Allocator;
  registrar: MemoryRegistrar;
  closed: Promise<void> | undefined;
}

export const PAGE = 4096;

export interface SetupOptions {
  emptySlabsKept: number;
  emptySlabsMax: number;
}

/** Small slabs keep every invariant check cheap and make slab boundaries frequent. */
export const SLAB_BYTES = PAGE;

/** A fresh model and the real system (a Allocator over a MemoryRegistrar), wired together. */
export function setup(options: SetupOptions): { model: Model; real: Real } {
  const model = newModel();
  const registrar = new MemoryRegistrar({ pageSize: PAGE, outstanding: outstandingIn(model) });
  const pool = new Allocator(registrar, { slabBytes: SLAB_BYTES, ...options });
  return { model, real: { pool, alloc: pool, registrar, closed: undefined } };
}

export function newModel(): Model {
  return { live: [], released: [], closing: false, nextFill: 1 };
}

/** The registrar's outstanding check, answered by the model. */
export function outstandingIn(model: Model): (bufferId: number) => number {
  return (id) => model.live.filter((l) => l.bufferId === id).length;
}

function expectCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    if (isRioError(e) && e.code === code) return;
    throw new Error(`expected ${code}, got ${String(e)}`);
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

function verifyBytes(l: LiveLease): void {
  const bytes = l.lease.bytes;
  if (bytes.length !== l.length) throw new Error(`lease bytes length ${bytes.length} != ${l.length}`);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== l.fill) throw new Error(`lease at ${l.bufferId}+${l.offset}: byte ${i} overwritten`);
  }
}

export function checkAll(model: Model, real: Real): void {
  checkInvariants(real.alloc);
  if (real.alloc.leased !== model.live.length) {
    throw new Error(`pool has ${real.alloc.leased} leased, model ${model.live.length}`);
  }
  // No two live slices overlap; each lies inside its slab's registration.
  const byId = new Map<number, LiveLease[]>();
  for (const l of model.live) {
    const size = real.registrar.registeredLength(l.bufferId);
    if (size === undefined) throw new Error(`lease on unregistered buffer ${l.bufferId}`);
    if (l.offset < 0 || l.offset + l.length > size) throw new Error('slice outside its registration');
    byId.set(l.bufferId, [...(byId.get(l.bufferId) ?? []), l]);
  }
  for (const list of byId.values()) {
    list.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < list.length; i++) {
      if (list[i - 1]!.offset + list[i - 1]!.length > list[i]!.offset) throw new Error('live slices overlap');
    }
  }
  // Once closed: nothing registered or mapped, every view read as length 0.
  if (model.closing && model.live.length === 0) {
    if (!real.alloc.closed) throw new Error('close() did not finish after the last release');
    if (real.registrar.liveRegistrations !== 0 || real.registrar.liveMappings !== 0) {
      throw new Error('a closed pool left registrations or mappings');
    }
    for (const r of model.released) if (r.bytes.length !== 0) throw new Error('a view survived close');
  }
}

type Cmd = fc.Command<Model, Real>;

export class AcquireCommand implements Cmd {
  constructor(readonly length: number) {}
  check(m: Readonly<Model>): boolean {
    return !m.closing;
  }
  run(m: Model, r: Real): void {
    const lease = r.pool.acquire(this.length);
    const buf = lease.rioBuf;
    if (buf.length !== this.length || lease.bytes.length !== this.length) throw new Error('wrong lease length');
    // The slot is the size the class table gives (the waste bound and the footprint model rely on it).
    const table = r.alloc.table;
    const expected = this.length <= table.largestClass ? table.classFor(this.length).slotSize : table.dedicatedBytes(this.length);
    const got = leaseSlot(lease)!.slab.cls.slotSize;
    if (got !== expected) throw new Error(`slot of ${got} B for ${this.length} B, expected ${expected}`);
    const fill = m.nextFill;
    m.nextFill = (m.nextFill % 255) + 1;
    lease.bytes.fill(fill);
    m.live.push({ lease, bufferId: buf.bufferId, offset: buf.offset, length: this.length, refs: 1, fill });
    checkAll(m, r);
  }
  toString(): string {
    return `acquire(${this.length})`;
  }
}

export class RetainCommand implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return m.live.length > 0;
  }
  run(m: Model, r: Real): void {
    const l = m.live[this.pick % m.live.length]!;
    l.lease.retain();
    l.refs++;
    checkAll(m, r);
  }
  toString(): string {
    return `retain(#${this.pick})`;
  }
}

export class ReleaseCommand implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return m.live.length > 0;
  }
  run(m: Model, r: Real): void {
    const i = this.pick % m.live.length;
    const l = m.live[i]!;
    if (l.refs === 1) {
      verifyBytes(l);
      const bytes = l.lease.bytes;
      m.live.splice(i, 1); // the model first: the registrar's outstanding check reads it
      l.lease.release();
      m.released.push({ lease: l.lease, bytes });
    } else {
      l.lease.release();
      l.refs--;
    }
    checkAll(m, r);
  }
  toString(): string {
    return `release(#${this.pick})`;
  }
}

export class StaleUseCommand implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return m.released.length > 0;
  }
  run(m: Model, r: Real): void {
    const { lease } = m.released[this.pick % m.released.length]!;
    expectCode(() => lease.release(), 'ERR_RIO_RELEASED');
    expectCode(() => lease.retain(), 'ERR_RIO_RELEASED');
    expectCode(() => lease.bytes, 'ERR_RIO_RELEASED');
    checkAll(m, r);
  }
  toString(): string {
    return `staleUse(#${this.pick})`;
  }
}

export class BadAcquireCommand implements Cmd {
  constructor(readonly bad: unknown) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    expectCode(
      () => r.pool.acquire(this.bad as number),
      m.closing &&
        typeof this.bad === 'number' &&
        Number.isInteger(this.bad) &&
        (this.bad as number) >= 1 &&
        (this.bad as number) <= r.alloc.maxLength
        ? 'ERR_RIO_POOL_CLOSED'
        : 'ERR_RIO_INVALID_LENGTH',
    );
    checkAll(m, r);
  }
  toString(): string {
    return `badAcquire(${typeof this.bad === 'bigint' ? `${this.bad}n` : String(this.bad)})`;
  }
}

export class TrimCommand implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.pool.trim();
    for (const l of m.live) if (!r.registrar.isRegistered(l.bufferId)) throw new Error('trim deregistered a slab in use');
    checkAll(m, r);
  }
  toString(): string {
    return 'trim()';
  }
}

export class CloseCommand implements Cmd {
  check(m: Readonly<Model>): boolean {
    return !m.closing;
  }
  run(m: Model, r: Real): void {
    m.closing = true;
    r.closed = r.pool.close();
    expectCode(() => r.pool.acquire(16), 'ERR_RIO_POOL_CLOSED');
    checkAll(m, r);
  }
  toString(): string {
    return 'close()';
  }
}

/**
 * Calls each public function with a stale or foreign object: a released lease's members, a
 * handle of a free slot and values that are no handle, buffer ids of no slab, a bad `out`,
 * Lease methods on an object that is not a lease. Each must throw its typed error (a TypeError
 * for a method called on a non-lease: the JS brand check of private fields) and change
 * nothing: checkAll then compares the whole pool with the model.
 */
export class ForeignCallCommand implements Cmd {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const p = r.pool;
    const out = { bufferId: -7, offset: -7, length: -7 };
    for (const bad of [-1, 2 ** 31, 1.5, NaN, '0', null, undefined, {}, 1n, handleOf(0x7fff, 0, 1)]) {
      expectCode(() => p.releaseHandle(bad as number), 'ERR_RIO_INVALID_BUFFER');
      expectCode(() => p.view(bad as number), 'ERR_RIO_INVALID_BUFFER');
    }
    // Small integers (what a handle was before handles had generations): never handles.
    for (const bad of [0, 1, 65536]) expectCode(() => p.releaseHandle(bad), 'ERR_RIO_INVALID_BUFFER');
    for (const bad of [null, 5, 'x', undefined]) expectCode(() => p.acquireInto(16, bad as unknown as RioBufOut), 'ERR_RIO_INVALID_BUFFER');
    if (out.bufferId !== -7) throw new Error('a refused call wrote into out');
    // A slot handle (handle.ts: what leak detection keeps for a lease) is no low-level handle,
    // whatever slot it names: refused. Low-level handles are the handle table's (allocator.ts).
    if (m.live.length > 0) {
      const { slab, slot } = leaseSlot(m.live[this.pick % m.live.length]!.lease)!;
      expectCode(() => p.releaseHandle(handleOf(slab.id, slot, slab.gens[slot]!)), 'ERR_RIO_INVALID_BUFFER');
    }
    if (m.released.length > 0) {
      const { lease } = m.released[this.pick % m.released.length]!;
      expectCode(() => lease.rioBuf, 'ERR_RIO_RELEASED');
      expectCode(() => lease.bytes, 'ERR_RIO_RELEASED');
      expectCode(() => lease.retain(), 'ERR_RIO_RELEASED');
      expectCode(() => lease.release(), 'ERR_RIO_RELEASED');
    }
    for (const method of ['release', 'retain'] as const) {
      let threw: unknown;
      try {
        Lease.prototype[method].call({ refs: 1, slab: {}, slot: 0 } as unknown as Lease);
      } catch (e) {
        threw = e;
      }
      if (!(threw instanceof TypeError)) throw new Error(`Lease.prototype.${method} on a non-lease did not throw a TypeError`);
    }
    checkAll(m, r);
  }
  toString(): string {
    return `foreignCalls(#${this.pick})`;
  }
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

export const commandsArb = fc.commands(
  [
    lengthArb.map((n) => new AcquireCommand(n)),
    lengthArb.map((n) => new AcquireCommand(n)),
    lengthArb.map((n) => new AcquireCommand(n)),
    fc.nat().map((i) => new RetainCommand(i)),
    fc.nat().map((i) => new ReleaseCommand(i)),
    fc.nat().map((i) => new ReleaseCommand(i)),
    fc.nat().map((i) => new StaleUseCommand(i)),
    fc.nat().map((i) => new ForeignCallCommand(i)),
    badLengthArb.map((b) => new BadAcquireCommand(b)),
    // close() ends a run's acquires, so it comes rarely: 1 in 16 of this entry.
    fc.oneof({ arbitrary: fc.constant(new TrimCommand()), weight: 15 }, { arbitrary: fc.constant(new CloseCommand()), weight: 1 }),
  ],
  { maxCommands: 150, size: 'max' },
);
