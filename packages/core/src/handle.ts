/**
 * Handles: the low-level path's name for one leased slot, a small integer.
 *
 *   handle = (slab id << SLOT_BITS) | slot
 *
 * Slab ids stay below MAX_SLABS (1 << 15), so a handle is a non-negative int32 and V8 keeps it
 * a small integer. Encoding and decoding live here and nowhere else.
 */
/** Bits of a handle that hold the slot index; a slab holds at most 1 << SLOT_BITS slots. */
export const SLOT_BITS = 16;
/** Slots per slab at most: a handle keeps the slot index in 16 bits. */
export const MAX_SLOTS_PER_SLAB = 65536; // 1 << 16
/** At most this many slabs at once: a handle keeps the slab id in 15 bits. */
export const MAX_SLABS = 32768; // 1 << 15

const SLOT_MASK = MAX_SLOTS_PER_SLAB - 1;

export function handleOf(slabId: number, slot: number): number {
  return (slabId << SLOT_BITS) | slot;
}

/**
 * The slab id a value names if it is shaped like a handle (an int32), else -1. A negative int32
 * has bit 31 set, so its id is >= MAX_SLABS and names no slab.
 */
export function slabIdOf(handle: unknown): number {
  return typeof handle === 'number' && (handle | 0) === handle ? handle >>> SLOT_BITS : -1;
}

/** The slot a handle names. Pre: slabIdOf(handle) >= 0. */
export function slotOf(handle: number): number {
  return handle & SLOT_MASK;
}

/** The low-level path writes a slot's RioBuf into an object the caller reuses. */
export interface RioBufOut {
  bufferId: number;
  offset: number;
  length: number;
}
