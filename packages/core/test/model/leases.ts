/**
 * The model-based test's commands on leases (fc.commands): acquire, retain, release, use of a
 * released lease, bad lengths, and calls with foreign or stale objects. Each runs on the model
 * (model.ts) and the real system, then checkAll (check.ts).
 */
import type fc from 'fast-check';
import { Lease, handleOf, leaseSlot, type RioBufOut } from '@riopool/core';
import { checkAll, expectCode, type Real } from './check';
import { classOf, dropRef, nextFill, place, predict, type Held, type Model } from './model';

type Cmd = fc.Command<Model, Real>;

/** The leases and slices the test holds a reference on (`pick` chooses one of them). */
export function heldLeases(m: Readonly<Model>): Held[] {
  return m.held.filter((h) => h.lease !== undefined && h.userRefs > 0);
}

/** Acquires `count` leases of `length` bytes, one after the other (a burst fills several slabs of a class). */
export class AcquireCommand implements Cmd {
  constructor(
    readonly length: number,
    readonly count = 1,
  ) {}
  check(m: Readonly<Model>): boolean {
    return !m.closing;
  }
  run(m: Model, r: Real): void {
    for (let i = 0; i < this.count; i++) this.acquireOne(m, r);
  }
  private acquireOne(m: Model, r: Real): void {
    const c = classOf(r.alloc, this.length);
    const p = predict(m, c);
    if (p.kind === 'refused') {
      expectCode(() => r.pool.acquire(this.length), p.code);
      checkAll(m, r);
      return;
    }
    const lease = r.pool.acquire(this.length);
    const buf = lease.rioBuf;
    if (buf.length !== this.length || lease.bytes.length !== this.length) throw new Error('wrong lease length');
    // The slot is the size the class table gives (the waste bound and the footprint model rely on it).
    const got = leaseSlot(lease)!.slab.cls.slotSize;
    if (got !== c.slotSize) throw new Error(`slot of ${got} B for ${this.length} B, expected ${c.slotSize}`);
    const slab = place(m, p, c, lease.bytes.buffer as ArrayBuffer, buf.bufferId);
    const fill = nextFill(m);
    lease.bytes.fill(fill);
    m.held.push({
      kind: 'lease',
      lease,
      handle: 0,
      slab,
      bufferId: buf.bufferId,
      offset: buf.offset,
      length: this.length,
      slotOffset: buf.offset,
      slotSize: c.slotSize,
      userRefs: 1,
      slices: 0,
      parent: undefined,
      fill,
    });
    checkAll(m, r);
  }
  toString(): string {
    return this.count === 1 ? `acquire(${this.length})` : `acquire(${this.length}) x${this.count}`;
  }
}

export class RetainCommand implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return heldLeases(m).length > 0;
  }
  run(m: Model, r: Real): void {
    const list = heldLeases(m);
    const h = list[this.pick % list.length]!;
    h.lease!.retain();
    h.userRefs++;
    checkAll(m, r);
  }
  toString(): string {
    return `retain(#${this.pick})`;
  }
}

/** Drops one reference the test holds on a lease or a slice (a slice's last release drops its reference on its parent). */
export class ReleaseCommand implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return heldLeases(m).length > 0;
  }
  run(m: Model, r: Real): void {
    const list = heldLeases(m);
    const h = list[this.pick % list.length]!;
    dropRef(m, h); // the model first: the registrar's checks read it
    h.lease!.release();
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
    expectCode(() => lease.slice(0, 1), 'ERR_RIO_RELEASED');
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
      // -1 is the buffer id of overflow slab 0 (slab-life.ts), when there is one.
      const slab = m.slabs.find((s) => s.bufferId === bad);
      if (slab === undefined) expectCode(() => p.view(bad as number), 'ERR_RIO_INVALID_BUFFER');
      else if (p.view(bad as number).buffer !== slab.buffer) throw new Error(`view(${String(bad)}) is not the slab of that buffer id`);
    }
    // Small integers (what a handle was before handles had generations): never handles.
    for (const bad of [0, 1, 65536]) expectCode(() => p.releaseHandle(bad), 'ERR_RIO_INVALID_BUFFER');
    for (const bad of [null, 5, 'x', undefined]) expectCode(() => p.acquireInto(16, bad as unknown as RioBufOut), 'ERR_RIO_INVALID_BUFFER');
    if (out.bufferId !== -7) throw new Error('a refused call wrote into out');
    // A slot handle (handle.ts: what leak detection keeps for a lease) is no low-level handle,
    // whatever slot it names: refused. Low-level handles are the handle table's (allocator.ts).
    const leases = m.held.filter((h) => h.lease !== undefined);
    if (leases.length > 0) {
      const { slab, slot } = leaseSlot(leases[this.pick % leases.length]!.lease!)!;
      expectCode(() => p.releaseHandle(handleOf(slab.id, slot, slab.gens[slot]!)), 'ERR_RIO_INVALID_BUFFER');
    }
    if (m.released.length > 0) {
      const { lease } = m.released[this.pick % m.released.length]!;
      expectCode(() => lease.rioBuf, 'ERR_RIO_RELEASED');
      expectCode(() => lease.bytes, 'ERR_RIO_RELEASED');
      expectCode(() => lease.retain(), 'ERR_RIO_RELEASED');
      expectCode(() => lease.release(), 'ERR_RIO_RELEASED');
    }
    for (const method of ['release', 'retain', 'slice'] as const) {
      let threw: unknown;
      try {
        (Lease.prototype[method] as (this: Lease) => unknown).call({ refs: 1, slab: {}, slot: 0 } as unknown as Lease);
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
