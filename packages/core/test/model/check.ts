/**
 * checkAll: what the allocator's model-based test (commands.ts) checks after every command.
 *
 *   1. checkInvariants (core's invariants.ts) on the allocator
 *   2. slabs: each slab the registrar unmapped leaves the model (it must have been empty); the
 *      registrar maps exactly the model's slabs; a closing pool keeps no empty slab
 *   3. held things: each lies in a live slab of the model, registered (its buffer id is the
 *      registrar's registration of that very mapping) or an overflow slab as the model says; a
 *      slice inside its parent; no two slots held by different owners overlap (no slot handed
 *      out twice); the slab's holder count is what the model holds
 *   4. stats().totals equal the model's counts: leased, requested and reserved bytes, slabs,
 *      registrations and overflow slabs, mapped, registered, unregistered (overflow), empty and
 *      locked bytes, the registration budget; and the registrar's own book agrees
 *   5. once closed: nothing mapped or registered, every view handed out reads as length 0
 *   6. the real system's own extra check, if any (the native test's VmPin)
 */
import { checkInvariants, isRioError, type Allocator, type AllocatorStats, type Lease, type RioBufOut } from '@riopool/core';
import { sum, type Held, type Model, type ModelSlab } from './model';
import type { ModelRegistrar } from './registrar';

/** The public calls the commands make: Allocator's, and the same on @riopool/pool's facade. */
export interface PoolLike {
  acquire(length: number): Lease;
  acquireInto(length: number, out: RioBufOut): number;
  releaseHandle(handle: number): void;
  view(bufferId: number): Uint8Array;
  trim(): number;
  close(): Promise<void>;
  stats(): { totals: AllocatorStats['totals'] };
}

export interface Real {
  /** What the commands call. */
  pool: PoolLike;
  /** The allocator behind it, for the invariant check and the closed state. */
  alloc: Allocator;
  registrar: ModelRegistrar;
  /** One decay tick, through the pool's clock (the allocator's decay(), or the facade's timer). */
  tick(): void;
  closed: Promise<void> | undefined;
  /** A check of the real system's own (the native test reads VmPin), run last. */
  extraCheck?: (m: Model) => void;
}

export function expectCode(f: () => unknown, ...codes: string[]): void {
  try {
    f();
  } catch (e) {
    if (isRioError(e) && codes.includes(e.code)) return;
    throw new Error(`expected ${codes.join(' or ')}, got ${String(e)}`);
  }
  throw new Error(`expected ${codes.join(' or ')}, nothing was thrown`);
}

function same(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`model: ${what} is ${String(got)}, the model says ${String(want)}`);
}

/** 2: slabs the registrar unmapped leave the model; the rest are exactly the registrar's mappings. */
function reconcileSlabs(m: Model, r: Real): void {
  for (const s of [...m.slabs]) {
    if (r.registrar.mapped.has(s.buffer)) continue;
    if (s.holders !== 0) throw new Error(`model: slab ${s.bufferId} was retired while ${s.holders} slot(s) are held`);
    m.slabs.splice(m.slabs.indexOf(s), 1);
  }
  same('mappings', r.registrar.mapped.size, m.slabs.length);
  if (m.closing) {
    const kept = m.slabs.find((s) => s.holders === 0);
    if (kept !== undefined) throw new Error(`model: the closing pool kept empty slab ${kept.bufferId}`);
  }
}

/** 3: where each held thing lies, and that no two owners share a slot. */
function checkHeld(m: Model, r: Real): void {
  const roots = new Map<ModelSlab, Held[]>();
  for (const h of m.held) {
    const s = h.slab;
    if (!m.slabs.includes(s)) throw new Error(`model: a ${h.kind} on retired slab ${h.bufferId}`);
    same(`the buffer id of a ${h.kind}`, h.bufferId, s.bufferId);
    if (s.bufferId >= 0) {
      if (r.registrar.registered.get(s.bufferId) !== s.buffer)
        throw new Error(`model: a ${h.kind} on buffer id ${s.bufferId}, not registered`);
    } else if ([...r.registrar.registered.values()].includes(s.buffer)) {
      throw new Error(`model: overflow slab ${s.bufferId} is registered`);
    }
    if (h.lease !== undefined) {
      if (h.lease.released)
        throw new Error(`model: a ${h.kind} the model holds (${h.userRefs} reference(s), ${h.slices} slice(s)) is released`);
      const b = h.lease.rioBuf;
      if (b.bufferId !== h.bufferId || b.offset !== h.offset || b.length !== h.length) {
        throw new Error(`model: ${h.kind} rioBuf ${JSON.stringify(b)}, the model says ${h.bufferId}+${h.offset}:${h.length}`);
      }
      same(`lease.registered of ${h.bufferId}`, h.lease.registered, s.bufferId >= 0);
    }
    if (h.parent !== undefined) {
      const p = h.parent;
      if (h.offset < p.offset || h.offset + h.length > p.offset + p.length) throw new Error('model: a slice outside its parent');
      if (!m.held.includes(p)) throw new Error('model: a slice of a released parent');
    } else {
      if (h.length > h.slotSize || h.slotOffset + h.slotSize > s.bytes || h.slotOffset !== h.offset)
        throw new Error('model: a slot outside its slab');
      roots.set(s, [...(roots.get(s) ?? []), h]);
    }
  }
  for (const s of m.slabs) {
    const list = (roots.get(s) ?? []).sort((a, b) => a.slotOffset - b.slotOffset);
    same(`slots held in slab ${s.bufferId}`, list.length, s.holders);
    for (let i = 1; i < list.length; i++) {
      if (list[i - 1]!.slotOffset + list[i - 1]!.slotSize > list[i]!.slotOffset) {
        throw new Error(`model: two owners hold overlapping slots of slab ${s.bufferId} at ${list[i]!.slotOffset}`);
      }
    }
  }
}

/** 4: stats() against the model, and the registrar's own book. */
function checkStats(m: Model, r: Real): void {
  const t = r.pool.stats().totals;
  const roots = m.held.filter((h) => h.parent === undefined);
  const reg = m.slabs.filter((s) => s.bufferId >= 0);
  const over = m.slabs.filter((s) => s.bufferId < 0);
  const regBytes = sum(reg.map((s) => s.bytes));
  const overBytes = sum(over.map((s) => s.bytes));
  same('allocator.leased', r.alloc.leased, roots.length);
  same('stats leased', t.leased, roots.length);
  same('stats requestedBytes', t.requestedBytes, sum(roots.map((h) => h.length)));
  same('stats reservedBytes', t.reservedBytes, sum(roots.map((h) => h.slotSize)));
  same('stats slabs', t.slabs, m.slabs.length);
  same('stats registrations', t.registrations, reg.length);
  same('stats overflowSlabs', t.overflowSlabs, over.length);
  same('stats registeredBytes', t.registeredBytes, regBytes);
  same('stats unregisteredBytes', t.unregisteredBytes, overBytes);
  same('stats mappedBytes', t.mappedBytes, regBytes + overBytes);
  same('stats emptyBytes', t.emptyBytes, sum(m.slabs.filter((s) => s.holders === 0).map((s) => s.bytes)));
  same('stats lockedBytes', t.lockedBytes, r.registrar.pinning === 'none' ? 0 : regBytes);
  same('stats registeredBudget', t.registeredBudget, Number.isFinite(m.budget) ? m.budget : null);
  same("the registrar's registered bytes", r.registrar.registeredBytes, regBytes);
  same("the registrar's registrations", r.registrar.registered.size, reg.length);
  same("the registrar's mapped bytes", r.registrar.mappedBytes, regBytes + overBytes);
}

/** 5: once closed, nothing is left and every view handed out is detached. */
function checkClosed(m: Model, r: Real): void {
  if (!m.closing || m.held.length !== 0) return;
  if (!r.alloc.closed) throw new Error('close() did not finish after the last release');
  if (r.registrar.registered.size !== 0 || r.registrar.mapped.size !== 0) throw new Error('a closed pool left registrations or mappings');
  for (const x of [...m.released, ...m.staleHandles]) if (x.bytes.length !== 0) throw new Error('a view survived close');
}

export function checkAll(m: Model, r: Real): void {
  checkInvariants(r.alloc);
  reconcileSlabs(m, r);
  checkHeld(m, r);
  checkStats(m, r);
  checkClosed(m, r);
  r.extraCheck?.(m);
}
