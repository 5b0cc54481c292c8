/**
 * The model-based test's commands on slab lifetime: trim, decay (one tick of the pool's clock),
 * the registrar's limit changing, close. Each says which slabs must be gone afterwards; checkAll
 * (check.ts) says that no slab anything holds went.
 */
import type fc from 'fast-check';
import { checkAll, expectCode, type Real } from './check';
import type { Model } from './model';

type Cmd = fc.Command<Model, Real>;

function mustBeGone(m: Model, what: string, gone: (s: Model['slabs'][number]) => boolean): void {
  const kept = m.slabs.find(gone);
  if (kept !== undefined)
    throw new Error(`model: ${what} kept slab ${kept.bufferId} (empty since tick ${kept.emptySince}, now ${m.ticks})`);
}

export class TrimCommand implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.pool.trim();
    checkAll(m, r);
    mustBeGone(m, 'trim()', (s) => s.holders === 0);
  }
  toString(): string {
    return 'trim()';
  }
}

/**
 * One decay tick (allocator.ts, decay): every slab empty since before the previous tick goes,
 * and the empty bytes left are within the pool's bound (emptyBytesMax); a slab anything holds
 * stays (checkAll). The clock is the test's: the allocator's decay() is called, or the facade's
 * timer is advanced (its test's `tick`).
 */
export class DecayCommand implements Cmd {
  check(m: Readonly<Model>): boolean {
    return !m.closing; // the facade's timer stops at close
  }
  run(m: Model, r: Real): void {
    const before = m.ticks++;
    r.tick();
    if (r.alloc.ticks !== m.ticks) throw new Error(`model: the allocator is at tick ${r.alloc.ticks}, the model at ${m.ticks}`);
    checkAll(m, r);
    mustBeGone(m, 'decay', (s) => s.holders === 0 && s.emptySince < before);
    const empty = r.pool.stats().totals.emptyBytes;
    if (empty > m.emptyBytesMax) throw new Error(`model: decay left ${empty} empty bytes, over the bound of ${m.emptyBytesMax}`);
  }
  toString(): string {
    return 'decay()';
  }
}

/**
 * The registrar's byte limit changes (as an OS lock limit raised or lowered). The allocator learns
 * of a lower one only when a registration is refused, and keeps the budget it learned then
 * (slab-life.ts, registerOrOverflow): room comes back as registered slabs are retired.
 */
export class SetLimitCommand implements Cmd {
  constructor(readonly limit: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    m.limit = this.limit;
    r.registrar.limit = this.limit;
    checkAll(m, r);
  }
  toString(): string {
    return `setLimit(${this.limit})`;
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
    expectCode(() => r.pool.acquireInto(16, { bufferId: 0, offset: 0, length: 0 }), 'ERR_RIO_POOL_CLOSED');
    checkAll(m, r); // a closing pool keeps no empty slab
  }
  toString(): string {
    return 'close()';
  }
}
