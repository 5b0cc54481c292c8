/**
 * What is leased, for reports and tests (off the hot path): every leased slot (close()'s report of
 * what it waits for), and what a low-level handle or a slot handle names now.
 */
import { MAX_GENERATION, generationOf, handleOf, lowOf, slabIdOf, slotOf, type RioBufOut } from './handle';
import type { HandleTable } from './handle-table';
import type { Slab } from './slab';

/** What the reports read: the allocator's slab table. */
export interface SlabTable {
  readonly slabs: readonly (Slab | undefined)[];
}

/**
 * Every leased slot (at most `limit` of them): its handle and RioBuf, the length its lease
 * asked for. For close()'s report of what it waits for; walks the slab table (not the hot path).
 */
export function outstandingSlots(a: SlabTable, limit = Infinity): { handle: number; bufferId: number; offset: number; length: number }[] {
  const found: { handle: number; bufferId: number; offset: number; length: number }[] = [];
  for (const slab of a.slabs) {
    if (slab === undefined || slab.leased === 0) continue;
    const { slots, cls } = slab;
    for (let i = 0; i < slots.length && found.length < limit; i++) {
      if (slots[i]! > 0)
        found.push({ handle: handleOf(slab.id, i, slab.gens[i]!), bufferId: slab.bufferId, offset: cls.offsetOf(i), length: slots[i]! });
    }
    if (found.length >= limit) break;
  }
  return found;
}

/**
 * Decodes a low-level handle: writes the RioBuf of the slot it names into `out` (length = its
 * requested length) and returns the slot size; for a handle this pool gave out whose lease is
 * gone, zeroes `out` and returns 0; undefined for a value that is no handle of this pool.
 * For tests; the hot path decodes inline.
 */
export function describeHandle(a: SlabTable, handles: HandleTable, handle: number, out: RioBufOut): number | undefined {
  if (!handles.wasIssued(handle)) return undefined;
  // A released handle whose entry was not used since still names its slot (length 0).
  const { live, location: at } = handles.locationOf(handle);
  const slab = at >= 0 ? a.slabs[slabIdOf(at)] : undefined;
  out.bufferId = slab === undefined ? 0 : slab.bufferId;
  out.offset = slab === undefined ? 0 : slab.cls.offsetOf(slotOf(at));
  out.length = live && slab !== undefined ? slab.slots[slotOf(at)]! : 0;
  return slab === undefined ? 0 : slab.cls.slotSize;
}

/**
 * describeHandle for a slot handle (handle.ts: slab id, slot and the slot's generation), as
 * leak detection keeps them for leases: length 0 once the slot is free or leased again.
 */
export function describeSlotHandle(a: SlabTable, handle: number, out: RioBufOut): number | undefined {
  if (typeof handle !== 'number') return undefined;
  const low = lowOf(handle);
  const slab = a.slabs[slabIdOf(low)];
  const slot = slotOf(low);
  const g = generationOf(handle, low);
  if (slab === undefined || slot >= slab.cls.slotsPerSlab || !Number.isInteger(g) || g < 1 || g > MAX_GENERATION) return undefined;
  const live = slab.gens[slot] === g && slab.slots[slot]! > 0;
  out.bufferId = slab.bufferId;
  out.offset = slab.cls.offsetOf(slot);
  out.length = live ? slab.slots[slot]! : 0;
  return slab.cls.slotSize;
}

/** The slab and slot a slot handle names while that very lease holds it (its generation matches); else undefined. */
export function leasedSlotOf(a: SlabTable, handle: unknown): { slab: Slab; slot: number } | undefined {
  if (typeof handle !== 'number') return undefined;
  const low = lowOf(handle);
  const slab = a.slabs[slabIdOf(low)];
  const slot = slotOf(low);
  if (slab === undefined || slab.gens[slot] !== generationOf(handle, low) || !(slab.slots[slot]! > 0)) return undefined;
  return { slab, slot };
}
